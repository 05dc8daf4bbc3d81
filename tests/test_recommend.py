"""Recommendations on the demo catalog: refit, store, read back, recompute one task, backtest."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import strategy.learning
from strategy import backtest as backtesting
from strategy import recommend, scenarios
from strategy.catalog import Catalog
from strategy.demo import initialise
from strategy.errors import UnknownTask
from strategy.models import Recommendation, Task, new_id, utc_now
from strategy.recommend import Scenario
from tests import seed_counts

TOP_LEVEL_KEYS = {"task_id", "sourcing", "human_share_spend", "human_share_samples", "n_human", "n_synthetic",
                  "spend_human", "spend_synthetic", "budget", "expected_metric", "confidence", "basis", "regime",
                  "eval_set", "rules", "next_experiment"}
VOLATILE = {"id", "created_at"}


@pytest.fixture(scope="module")
def refitted(demo_template, tmp_path_factory):
    """A demo catalog copy refitted once (workers=1), for read-only checks; yields (catalog, result)."""
    path = tmp_path_factory.mktemp("refitted") / "catalog.duckdb"
    shutil.copy(demo_template, path)
    with Catalog.open(path) as catalog:
        yield catalog, recommend.refit_portfolio(catalog, workers=1, actor="tester")


@pytest.fixture(scope="module")
def backtest_table(demo_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("backtest") / "catalog.duckdb"
    shutil.copy(demo_template, path)
    with Catalog.open(path) as catalog:
        evidence = recommend.gather(catalog)
        return backtesting.backtest(catalog, evidence=evidence)


def stored_payloads(catalog: Catalog) -> list[dict]:
    with catalog.cursor() as cur:
        return [json.loads(row[0]) for row in cur.execute("SELECT payload_json FROM recommendations").fetchall()]


def comparable(recommendation: Recommendation) -> dict:
    return {k: v for k, v in json.loads(recommendation.model_dump_json()).items() if k not in VOLATILE}


# --------------------------------------------------------------------------- refit and portfolio
def test_refit_stores_one_recommendation_per_task(tmp_path):
    catalog, loaded = initialise(str(tmp_path / "fresh.duckdb"), demo=True)
    with catalog:
        assert loaded["tasks"] == seed_counts.TASKS
        assert catalog.counts()["recommendations"] == 0
        result = recommend.refit_portfolio(catalog, workers=1, actor="tester")
        assert result.problems == []
        assert len(result) == seed_counts.TASKS
        assert catalog.counts()["recommendations"] == seed_counts.TASKS
        assert catalog.latest_model_state(recommend.POOLED_KIND) is not None
        assert {r.task_id for r in result.recommendations} == set(catalog.tasks()["id"])
        assert len(recommend.portfolio(catalog)) == seed_counts.TASKS


def test_refit_again_adds_one_recommendation_per_task(demo_catalog):
    before = demo_catalog.counts()["recommendations"]
    result = recommend.refit_portfolio(demo_catalog, workers=1, actor="tester")
    assert len(result) == seed_counts.TASKS
    assert demo_catalog.counts()["recommendations"] == before + seed_counts.TASKS
    latest = recommend.portfolio(demo_catalog)
    assert len(latest) == seed_counts.TASKS and latest["task_id"].is_unique
    # Which of two same-second rows is "latest" is not well defined (see the xfail below), so only the
    # count and uniqueness are checked here.


def test_refit_in_worker_processes_decides_as_refit_here(refitted, demo_catalog, monkeypatch):
    """Two workers give the same plans as one process (the threshold lowered: the demo has fewer tasks)."""
    monkeypatch.setattr(recommend, "PARALLEL_REFIT_TASKS", 2)
    _, here = refitted
    there = recommend.refit_portfolio(demo_catalog, workers=2, actor="tester")
    assert there.problems == here.problems == []
    assert [comparable(r) for r in there.recommendations] == [comparable(r) for r in here.recommendations]


def test_latest_recommendation_is_the_last_one_stored(demo_catalog):
    first = recommend.recommend_task(demo_catalog, "Card fraud detection", Scenario(budget=1_000.0), store=False)
    second = recommend.recommend_task(demo_catalog, "Card fraud detection", Scenario(budget=1_001.0), store=False)
    stale = 0
    for _ in range(20):
        # Stored as recommend_task stores them: a fresh id and the current time, one right after the other.
        for recommendation in (first, second):
            fresh = recommendation.model_copy(update={"id": new_id(), "created_at": utc_now()})
            demo_catalog.save_recommendations([fresh], [None], actor="tester")
        latest, _ = demo_catalog.latest_recommendation(first.task_id)
        row = recommend.portfolio(demo_catalog).set_index("task_id").loc[first.task_id]
        stale += latest.budget != 1_001.0 or row["budget"] != 1_001.0
    assert stale == 0, f"an older recommendation came back as the latest in {stale} of 20 tries"


def test_portfolio_reads_without_fitting(refitted, monkeypatch):
    catalog, _ = refitted

    def refuse(*args, **kwargs):
        raise AssertionError("portfolio() must not fit a learning curve")

    monkeypatch.setattr(strategy.learning.LearningCurve, "fit", refuse)
    monkeypatch.setattr(strategy.learning, "least_squares", refuse)
    table = recommend.portfolio(catalog)
    assert len(table) == seed_counts.TASKS
    assert table["task_id"].is_unique
    assert set(table["basis"]) == {"rules+model"}
    assert {"sourcing", "human_share_spend", "expected_value", "expected_low", "expected_high"} <= set(table.columns)


def test_recommendation_json_has_the_documented_keys(refitted):
    catalog, result = refitted
    payloads = stored_payloads(catalog)
    assert len(payloads) >= seed_counts.TASKS
    assert {r.id for r in result.recommendations} <= {p["id"] for p in payloads}
    for payload in payloads:
        assert set(payload) >= TOP_LEVEL_KEYS, TOP_LEVEL_KEYS - set(payload)
        assert payload["contract"] == "strategy.recommendation/2"
        assert {"synthetic_over_human_only", "human_over_synthetic_led"} <= set(payload["adds"])
        assert {"human_only", "synthetic_led"} <= set(payload["corners"])
        assert {"target_probability", "class_margin", "extrapolation"} <= set(payload)
        assert {"expected_gain", "cost_cap"} <= set(payload["next_experiment"])
        assert {"value", "low", "high"} <= set(payload["expected_metric"])
        assert {"size", "tier", "cost"} <= set(payload["eval_set"])
        assert payload["rules"], "the collapse guard at least is always listed"
        for rule in payload["rules"]:
            assert {"id", "effect", "rationale"} <= set(rule)
            assert rule["id"] and rule["effect"] and rule["rationale"]
        assert {"n_human", "n_synthetic", "cost", "reason"} <= set(payload["next_experiment"])
        again = Recommendation.model_validate(payload)
        assert json.loads(again.model_dump_json()) == payload
    by_id = {r.id: comparable(r) for r in result.recommendations}
    for payload in payloads:
        if payload["id"] in by_id:
            assert {k: v for k, v in payload.items() if k not in VOLATILE} == by_id[payload["id"]]


def test_every_demo_recommendation_is_consistent(refitted):
    _, result = refitted
    for r in result.recommendations:
        spent = r.spend_human + r.spend_synthetic + r.eval_set.cost
        assert spent <= r.budget + 1e-6, r.task_name
        assert r.basis == "rules+model", r.task_name
        # Illustrative tasks have 11 outcomes each, measured tasks 14.
        runs = (seed_counts.MEASURED_RUNS_PER_TASK if r.task_name in seed_counts.MEASURED_TASKS
                else seed_counts.ILLUSTRATIVE_RUNS_PER_TASK)
        assert r.evidence_count == runs == seed_counts.OUTCOMES_PER_TASK[r.task_name], r.task_name
        metric = r.expected_metric
        assert metric.value is not None and metric.low is not None and metric.high is not None
        assert metric.low <= metric.value <= metric.high, r.task_name
        assert 0 <= r.confidence <= 1
        assert r.low_confidence == (r.confidence < recommend.LOW_CONFIDENCE_BELOW)
        assert r.human_share_spend >= r.human_floor - 1e-9, r.task_name
        assert r.n_human + r.n_synthetic > 0
        assert r.spend_human == pytest.approx(r.n_human * r.cost_per_sample["human"], abs=0.01)
        assert r.spend_synthetic == pytest.approx(r.n_synthetic * r.cost_per_sample["synthetic"], abs=0.01)
        assert r.collapse_guard == "kept"
        assert r.model_version.startswith(recommend.ENGINE_VERSION)
        # The class follows what each source adds: the chosen plan is the named corner, or a mix that beats
        # both corners by more than the stated margin.
        sign = 1.0 if metric.higher_is_better else -1.0
        better = {name: sign * plan.assured for name, plan in r.corners.items()}  # what the class compares
        if r.sourcing == "human":
            assert (r.n_human, r.n_synthetic) == (r.corners["human_only"].n_human, r.corners["human_only"].n_synthetic)
            assert better["human_only"] >= better["synthetic_led"]
        elif r.sourcing == "synthetic":
            assert r.n_synthetic == r.corners["synthetic_led"].n_synthetic
        else:
            assert better["best_mix"] - max(better["human_only"], better["synthetic_led"]) > r.class_margin
        assert r.next_experiment.cost <= r.next_experiment.cost_cap + 1e-9
        assert r.next_experiment.cost_cap == pytest.approx(0.1 * (r.budget - r.eval_set.cost), abs=0.01)


def test_the_demo_shows_more_than_one_class(refitted):
    _, result = refitted
    classes = {r.sourcing for r in result.recommendations}
    assert len(classes) >= 2, classes
    for r in result.recommendations:
        assert r.adds.synthetic_over_human_only is not None and r.adds.human_over_synthetic_led is not None


def test_a_stored_first_contract_recommendation_still_reads(refitted):
    catalog, result = refitted
    payload = json.loads(result.recommendations[0].model_dump_json())
    old = {k: v for k, v in payload.items() if k not in {"adds", "corners", "target_probability", "class_margin",
                                                          "extrapolation"}}
    old["contract"] = "strategy.recommendation/1"
    del old["next_experiment"]["expected_gain"], old["next_experiment"]["cost_cap"]
    read = Recommendation.model_validate(old)
    assert read.contract == "strategy.recommendation/1" and read.adds.synthetic_over_human_only is None


def test_logging_the_suggested_run_moves_the_next_experiment_on(demo_catalog):
    from strategy.outcomes import log_outcome

    first = recommend.recommend_task(demo_catalog, "Card fraud detection", actor="tester")
    probe = first.next_experiment
    log_outcome("Card fraud detection", probe.n_human, probe.n_synthetic, "AUPRC",
                float(first.expected_metric.value), catalog=demo_catalog, run_id="probe-1")
    after = recommend.recommend_task(demo_catalog, "Card fraud detection", actor="tester")
    assert (after.next_experiment.n_human, after.next_experiment.n_synthetic) != (probe.n_human, probe.n_synthetic)
    assert after.evidence_count == first.evidence_count + 1


# --------------------------------------------------------------------------- one task
def test_recommend_task_by_name_and_by_id_is_deterministic(demo_catalog):
    assert demo_catalog.latest_model_state(recommend.POOLED_KIND) is not None
    task = demo_catalog.task("Sarcasm detection in speech")
    before = demo_catalog.counts()["recommendations"]
    by_name = recommend.recommend_task(demo_catalog, "sarcasm detection in speech", Scenario(budget=5_000.0),
                                       actor="tester")
    assert demo_catalog.counts()["recommendations"] == before + 1
    by_id = recommend.recommend_task(demo_catalog, task.id, Scenario(budget=5_000.0), actor="tester")
    assert demo_catalog.counts()["recommendations"] == before + 2
    assert by_name.task_id == by_id.task_id == task.id
    assert by_name.id != by_id.id
    assert comparable(by_name) == comparable(by_id)
    history = demo_catalog.recommendation_history(task.id)
    assert {by_name.id, by_id.id} <= set(history["id"])
    stored = {row["id"]: row for row in history.to_dict(orient="records")}
    assert json.loads(stored[by_name.id]["payload_json"]) == json.loads(by_name.model_dump_json())
    assert by_name.budget == 5_000.0


def test_recommend_task_without_storing_leaves_the_catalog_alone(demo_catalog):
    before = demo_catalog.counts()["recommendations"]
    recommendation = recommend.recommend_task(demo_catalog, "Card fraud detection", store=False, actor="tester")
    assert recommendation.basis == "rules+model"
    assert demo_catalog.counts()["recommendations"] == before


def test_task_without_outcomes_gets_a_rules_only_answer(demo_catalog):
    task = Task(name="Brand-new task", domain="Retail", modality="text", metric="accuracy", interaction=4)
    demo_catalog.save_tasks([task], actor="tester")
    recommendation = recommend.recommend_task(demo_catalog, "Brand-new task", actor="tester")
    assert recommendation.basis == "rules"
    assert recommendation.evidence_count == 0
    assert recommendation.low_confidence is True
    assert recommendation.confidence <= 0.5
    assert recommendation.expected_metric.value is None
    assert recommendation.budget == recommend.DEFAULT_BUDGET
    stored, fit = demo_catalog.latest_recommendation(task.id)
    assert stored.id == recommendation.id and fit is None


def test_unknown_task_is_refused(demo_catalog):
    before = demo_catalog.counts()["recommendations"]
    with pytest.raises(UnknownTask, match="no such task"):
        recommend.recommend_task(demo_catalog, "no such task")
    with pytest.raises(UnknownTask):
        recommend.recommend_task(demo_catalog, "00000000-0000-0000-0000-000000000000")
    assert demo_catalog.counts()["recommendations"] == before


def test_scenario_target_reports_the_budget_needed(demo_catalog):
    task = demo_catalog.task("Product review sentiment")
    modest = recommend.recommend_task(demo_catalog, task.id, Scenario(budget=300.0, target=0.5), store=False)
    assert modest.target_reachable is True
    assert modest.budget_for_target is not None and modest.budget_for_target >= modest.eval_set.cost
    impossible = recommend.recommend_task(demo_catalog, task.id, Scenario(budget=300.0, target=1e6), store=False)
    assert impossible.target_reachable is False and impossible.budget_for_target is None


# --------------------------------------------------------------------------- backtest
def test_a_what_if_price_tier_prices_the_evaluation_set_too(refitted):
    """Issue 18 #8: picking a human price tier in a what-if left the evaluation set at the task's own price."""
    catalog, _ = refitted
    task = catalog.tasks().iloc[0]
    base = scenarios.whatif(catalog, task["id"], Scenario(budget=1e7))[0]
    tiered = scenarios.whatif(catalog, task["id"], Scenario(budget=1e7, eval_price=150.0))[0]
    assert tiered.eval_set.size == base.eval_set.size > 0
    assert tiered.eval_set.cost == pytest.approx(150.0 * base.eval_set.size)
    assert tiered.eval_set.cost != base.eval_set.cost


def test_a_saved_scenario_is_compared_and_adopted_in_one_audited_write(demo_catalog):
    task = demo_catalog.task("Product review sentiment")
    current, _ = demo_catalog.latest_recommendation(task.id)
    answer, fit = scenarios.whatif(demo_catalog, task.id, Scenario(budget=3 * current.budget))
    scenarios.save_scenario(demo_catalog, answer, fit, "triple")
    assert scenarios.saved_scenarios(demo_catalog.recommendation_history(task.id)) == ["triple"]
    table = scenarios.compare_plans(current, answer, labels=("current plan", "triple"))
    assert list(table.columns) == ["figure", "current plan", "triple"]
    budget_row = table.set_index("figure").loc["Budget"]
    assert budget_row["current plan"] == f"${current.budget:,.0f}" and budget_row["triple"] == f"${answer.budget:,.0f}"

    adopted = scenarios.adopt_scenario(demo_catalog, task.id, "triple", actor="lead@example.com")
    assert demo_catalog.task(task.id).budget == pytest.approx(answer.budget)
    now, _ = demo_catalog.latest_recommendation(task.id)
    assert now.id == adopted.id and now.scenario == "" and (now.n_human, now.n_synthetic) == (answer.n_human,
                                                                                              answer.n_synthetic)
    audit = demo_catalog.audit_log(actions=["adopt scenario"])
    assert len(audit) == 1 and audit.iloc[0]["entity_id"] == adopted.id and "triple" in audit.iloc[0]["details"]
    with pytest.raises(recommend.StrategyError, match="no saved scenario called 'missing'"):
        scenarios.adopt_scenario(demo_catalog, task.id, "missing")


def test_backtest_model_beats_both_baselines(backtest_table):
    assert len(backtest_table) == seed_counts.TASKS
    assert np.isfinite(backtest_table[["mae_model", "mae_rules", "mae_mean"]].to_numpy()).all()
    summary = backtesting.backtest_summary(backtest_table)
    assert summary["tasks"] == seed_counts.TASKS and summary["outcomes"] == seed_counts.OUTCOMES
    errors = summary["relative_error"]
    assert errors["model"] < errors["rules"]
    assert errors["model"] < errors["mean"]
    assert summary["model_beats_mean"] >= 15
    assert summary["model_beats_rules"] >= 10


def test_backtest_calibrates_the_intervals_it_measured(backtest_table):
    """The demo's outcomes are smoother than real runs, so the fitted intervals over-cover; the backtest's
    calibration narrows them, and coverage judged task by task (each by the other tasks' width) moves to 80%."""
    summary = backtesting.backtest_summary(backtest_table)
    calibration = summary["interval_calibration"]
    assert calibration["trusted"] and calibration["held_out"] == summary["outcomes"]
    assert calibration["scale"] < 1 and summary["coverage_80"] > 0.85
    assert abs(summary["coverage_80_calibrated"] - 0.8) < abs(summary["coverage_80"] - 0.8)
    ratios = [r for row in backtest_table["miss_ratios"] for r in row]
    assert summary["coverage_80"] == pytest.approx(np.mean(np.array(ratios) <= 1), abs=1e-4)


def width(recommendation: Recommendation) -> float:
    return recommendation.expected_metric.high - recommendation.expected_metric.low


def test_every_path_draws_intervals_at_the_calibrated_width(demo_catalog):
    tasks = demo_catalog.tasks().set_index("name")["id"]
    one, other = tasks["Product review sentiment"], tasks["Legal contract clause review"]
    before = recommend.recommend_task(demo_catalog, one)
    stored_other = demo_catalog.latest_recommendation(other).recommendation
    whatif_before = scenarios.whatif(demo_catalog, one, Scenario(budget=2 * before.budget))[0]
    assert recommend.interval_scale(demo_catalog) == 1.0

    demo_catalog.save_model_state(recommend.CALIBRATION_KIND, "surface",
                                  {"level": 0.8, "scale": 0.5, "held_out": 120, "tasks": 12, "trusted": True})
    assert recommend.interval_scale(demo_catalog) == 0.5
    after = recommend.recommend_task(demo_catalog, one)
    assert width(after) == pytest.approx(0.5 * width(before), rel=1e-6)
    assert after.expected_metric.value == pytest.approx(before.expected_metric.value)
    assert demo_catalog.latest_recommendation(one).fit["interval_scale"] == 0.5
    whatif_after = scenarios.whatif(demo_catalog, one, Scenario(budget=2 * before.budget))[0]
    assert width(whatif_after) == pytest.approx(0.5 * width(whatif_before), rel=1e-6)
    recommend.replan_portfolio(demo_catalog)
    replanned = demo_catalog.latest_recommendation(other)
    assert width(replanned.recommendation) == pytest.approx(0.5 * width(stored_other), rel=1e-6)
    assert replanned.fit["interval_scale"] == 0.5

    # an untrusted calibration (too few held-out outcomes) leaves the intervals as fitted
    demo_catalog.save_model_state(recommend.CALIBRATION_KIND, "surface",
                                  {"level": 0.8, "scale": 0.5, "held_out": 12, "tasks": 2, "trusted": False})
    assert width(recommend.recommend_task(demo_catalog, one)) == pytest.approx(width(before), rel=1e-6)


def test_backtest_summary_of_nothing():
    import pandas as pd
    assert backtesting.backtest_summary(pd.DataFrame()) == {"tasks": 0}


def test_outcomes_all_at_one_mix_say_so_and_what_to_log_next():
    task = Task(name="One mix only", domain="Retail", modality="text", metric="accuracy")
    many = np.full(10_001, 1.0)
    evidence = recommend.TaskEvidence(task=task, n_human=many * 200, n_synthetic=many * 0,
                                      values=np.full(10_001, 0.8))
    recommendation, fit = recommend.decide(evidence)
    assert fit is None and recommendation.basis == "rules"
    reason = recommendation.next_experiment.reason
    assert "All 10,001 usable outcomes are at one mix (200 human, 0 synthetic)" in reason
    assert "log runs at other mixes next" in reason and "Only 10001" not in reason
