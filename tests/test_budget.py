"""Properties of the budget optimiser on fixed learning curves, and the errors it gives for bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from strategy.budget import (
    FRONTIER_GRID,
    HUMAN_CLASS_AT,
    SYNTHETIC_CLASS_AT,
    SYNTHETIC_GRID,
    Costs,
    Plan,
    best_plan,
    candidate_plans,
    check_budget,
    frontier,
    least_budget_for,
    sourcing_class,
)
from strategy.errors import StrategyError
from strategy.learning import curve
from strategy.models import MAX_SAMPLES, Outcome, Task
from strategy.recommend import Scenario, TaskEvidence, decide


def vector(*, c=0.9, a=0.5, alpha=0.8, w=0.4, s=3000.0, lam=0.05, n0=500.0) -> np.ndarray:
    return np.array([c, math.log(a), alpha, w, math.log(s), lam, math.log(n0)])


# The simulated ground truth of test_learning, plus curves of the other forms and shapes.
TRUE = ("penalised", vector())
CURVES = {
    "true": TRUE,
    "saturating": ("saturating", vector(w=0.9, s=20_000.0, alpha=0.5, lam=0.0)),
    "linear": ("linear", vector(w=0.2, alpha=1.2, n0=100.0, lam=0.0)),
    "worthless_synthetic": ("saturating", vector(w=0.0, lam=0.0)),
}


def predictor(name: str):
    form, x = CURVES[name]
    return lambda n_h, n_s: curve(x, n_h, n_s, form)


def expected(predict, plan) -> float:
    return float(np.atleast_2d(predict(np.array([plan.n_human], float), np.array([plan.n_synthetic], float))).mean())


FAST = settings(max_examples=150, deadline=None, derandomize=True)
budgets = st.floats(min_value=0.0, max_value=1e6, allow_nan=False)
human_costs = st.floats(min_value=0.02, max_value=300.0)
synthetic_costs = st.floats(min_value=0.001, max_value=2.0)
floors = st.sampled_from([0.0, 0.05, 0.3, 0.4, 0.9])
curve_names = st.sampled_from(sorted(CURVES))


# --------------------------------------------------------------------------- spend, floors, monotonicity
@FAST
@given(name=curve_names, budget=budgets, human=human_costs, synthetic=synthetic_costs, floor=floors)
def test_spend_never_exceeds_budget(name, budget, human, synthetic, floor):
    plan, per_curve, plans = best_plan(predictor(name), budget, Costs(human, synthetic), floor=floor)
    assert plan in plans
    assert per_curve.shape == (1,)
    assert plan.n_human >= 0 and plan.n_synthetic >= 0
    assert plan.spend_human == pytest.approx(plan.n_human * human)
    assert plan.spend_synthetic == pytest.approx(plan.n_synthetic * synthetic)
    assert plan.spend <= budget * (1 + 1e-12) + 1e-9
    # Whatever is left over cannot buy one more human sample.
    assert budget - plan.spend < human + 1e-6


@settings(max_examples=300, deadline=None, derandomize=True)
@given(name=curve_names, budget=budgets, extra=st.floats(min_value=0.0, max_value=1e6),
       human=human_costs, synthetic=synthetic_costs, floor=floors)
def test_more_budget_never_lowers_the_expected_metric(name, budget, extra, human, synthetic, floor):
    predict, costs = predictor(name), Costs(human, synthetic)
    smaller, _, _ = best_plan(predict, budget, costs, floor=floor)
    larger, _, _ = best_plan(predict, budget + extra, costs, floor=floor)
    assert expected(predict, larger) >= expected(predict, smaller) - 1e-12


def test_more_budget_never_lowers_the_metric_when_synthetic_data_can_hurt():
    x = vector(lam=0.3)

    def predict(n_h, n_s):
        return curve(x, n_h, n_s, "penalised")

    costs = Costs(1.0, 0.01)
    values = []
    for budget in range(900, 1300, 10):
        plan, _, _ = best_plan(predict, float(budget), costs)
        values.append(expected(predict, plan))
    assert np.all(np.diff(values) >= -1e-12)


@FAST
@given(name=curve_names, budget=budgets, human=human_costs, synthetic=synthetic_costs, floor=floors)
@example(name="true", budget=100.0, human=3.0, synthetic=0.01, floor=0.05)
def test_floor_always_holds(name, budget, human, synthetic, floor):
    plan, _, _ = best_plan(predictor(name), budget, Costs(human, synthetic), floor=floor)
    if plan.spend > 0:
        assert plan.human_share_spend >= floor - 1e-9


@FAST
@given(name=curve_names, budget=budgets, human=human_costs, synthetic=synthetic_costs, floor=floors)
def test_floor_holds_up_to_one_human_sample(name, budget, human, synthetic, floor):
    """What does hold (see the xfail above): the shortfall is less than one human sample's price."""
    plan, _, plans = best_plan(predictor(name), budget, Costs(human, synthetic), floor=floor)
    for candidate in (plan, *plans):
        assert candidate.spend_synthetic <= (1 - floor) * budget + 1e-6
        if candidate.spend > 0:
            assert candidate.human_share_spend >= floor - human / budget - 1e-9


@pytest.mark.xfail(strict=True, reason=(
    "Whole samples: when the optimum buys a single human sample, a dearer human sample leaves less for "
    "synthetic data, so the human share of samples creeps up (budget 22, synthetic 0.001: human 2.00 -> "
    "1 human + 19,867 synthetic; human 2.25 -> 1 human + 19,676). Away from that corner the direction holds "
    "(see the test below)."))
@settings(max_examples=150, deadline=None, derandomize=True)
@given(name=curve_names, budget=budgets, human=human_costs, factor=st.floats(min_value=1.0, max_value=1.2),
       synthetic=synthetic_costs)
@example(name="true", budget=22.0, human=2.0, factor=1.125, synthetic=0.001)
def test_raising_the_human_cost_never_raises_the_human_share_of_samples(name, budget, human, factor, synthetic):
    predict = predictor(name)
    cheaper, _, _ = best_plan(predict, budget, Costs(human, synthetic))
    dearer, _, _ = best_plan(predict, budget, Costs(human * factor, synthetic))
    assert dearer.human_share_samples <= cheaper.human_share_samples + 1e-12


@FAST
@given(name=curve_names, budget=st.floats(min_value=10.0, max_value=1e6), human=human_costs,
       factor=st.floats(min_value=2.0, max_value=50.0), synthetic=synthetic_costs)
def test_doubling_the_human_cost_never_raises_the_human_share_of_samples(name, budget, human, factor, synthetic):
    """Beyond the grid's resolution (xfail above) the direction is right: a much dearer human sample never
    buys a larger human share."""
    predict = predictor(name)
    cheaper, _, _ = best_plan(predict, budget, Costs(human, synthetic))
    dearer, _, _ = best_plan(predict, budget, Costs(human * factor, synthetic))
    assert dearer.human_share_samples <= cheaper.human_share_samples + 1e-12


def test_worthless_synthetic_data_is_never_bought():
    predict = predictor("worthless_synthetic")
    for budget in (10.0, 1_000.0, 100_000.0):
        plan, _, _ = best_plan(predict, budget, Costs(1.0, 0.01))
        assert plan.n_synthetic == 0
        assert sourcing_class(plan.human_share_spend) == "human"


def test_several_curves_are_averaged_and_each_reports_its_own_best():
    form, x = TRUE
    stack = np.vstack([x, vector(w=0.0), vector(w=1.4, s=1e6, lam=0.0)])

    def predict(n_h, n_s):
        return curve(stack, n_h, n_s, form)

    plan, per_curve, plans = best_plan(predict, 5_000.0, Costs(1.0, 0.01))
    assert per_curve.shape == (3,)
    assert plans[per_curve[1]].n_synthetic == 0
    values = predict(np.array([p.n_human for p in plans], float), np.array([p.n_synthetic for p in plans], float))
    assert plans.index(plan) == int(np.argmax(values.mean(axis=0)))


# --------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("budget", [-1.0, -1e-9, float("nan"), float("inf"), None])
def test_bad_budget_is_refused(budget):
    with pytest.raises(StrategyError, match="budget must be a number of dollars"):
        best_plan(predictor("true"), budget, Costs(1.0, 0.01))
    with pytest.raises(StrategyError, match="budget"):
        check_budget(budget)


@pytest.mark.parametrize("human, synthetic, which", [
    (0.0, 0.01, "human"), (-1.0, 0.01, "human"), (float("nan"), 0.01, "human"), (float("inf"), 0.01, "human"),
    (1.0, 0.0, "synthetic"), (1.0, -0.5, "synthetic"), (1.0, float("nan"), "synthetic"),
])
def test_zero_negative_or_missing_costs_are_refused(human, synthetic, which):
    with pytest.raises(StrategyError, match=f"The {which} cost per sample must be a positive number"):
        Costs(human, synthetic)


def test_zero_budget_buys_nothing():
    plan, _, plans = best_plan(predictor("true"), 0.0, Costs(1.0, 0.01))
    assert (plan.n_human, plan.n_synthetic, plan.spend) == (0, 0, 0.0)
    assert len(plans) == 1


def test_sourcing_class_thresholds():
    assert sourcing_class(1.0) == sourcing_class(HUMAN_CLASS_AT) == "human"
    assert sourcing_class(0.0) == sourcing_class(SYNTHETIC_CLASS_AT) == "synthetic"
    assert sourcing_class(0.5) == sourcing_class(HUMAN_CLASS_AT - 1e-9) == "mixed"


def test_candidate_plans_cover_the_human_only_corner():
    plans = candidate_plans(1_000.0, Costs(1.0, 0.01), 0.0)
    assert plans[0].n_synthetic == 0 and plans[0].n_human == 1_000
    assert all(p.spend <= 1_000.0 + 1e-9 for p in plans)


# --------------------------------------------------------------------------- least budget and frontier
def _reaches(predict, budget, target, costs, floor):
    plan, _, _ = best_plan(predict, budget, costs, floor=floor)
    return expected(predict, plan) >= target


@settings(max_examples=40, deadline=None, derandomize=True)
@given(name=st.sampled_from(["true", "saturating", "linear"]), target=st.floats(min_value=0.45, max_value=0.85),
       human=st.sampled_from([0.08, 1.0, 1.2, 150.0]), synthetic=st.sampled_from([0.01, 0.02, 0.05]),
       floor=floors)
def test_least_budget_for_reaches_the_target_and_is_nearly_least(name, target, human, synthetic, floor):
    predict, costs = predictor(name), Costs(human, synthetic)
    needed = least_budget_for(predict, target, costs, floor=floor)
    if needed is None:
        assert not _reaches(predict, 1e9, target, costs, floor)
        return
    assert _reaches(predict, needed, target, costs, floor)
    tolerance = max(1.0, needed * 1e-4)
    if needed > 2 * tolerance:
        assert not _reaches(predict, needed - 2 * tolerance, target, costs, floor)


def test_least_budget_for_never_rounds_below_the_threshold():
    predict = predictor("true")
    costs = Costs(34.82467091633247, 0.03183334565792405)
    target = 0.6898314605271618
    needed = least_budget_for(predict, target, costs, floor=0.4)
    assert needed is not None
    assert _reaches(predict, needed, target, costs, 0.4)


def test_least_budget_for_unreachable_and_free_targets():
    predict, costs = predictor("true"), Costs(1.0, 0.01)
    assert least_budget_for(predict, 0.95, costs) is None  # above the ceiling c = 0.9
    assert least_budget_for(predict, 0.3, costs) == 0.0  # no data already gives c - A = 0.4


def _frontier_by_budget(predict, budgets_, costs):
    rows = frontier(predict, np.array(budgets_), costs)
    assert len(rows) == 3 * len(budgets_)
    by_budget = {}
    for budget in budgets_:
        at = {row["strategy"]: row for row in rows if row["budget"] == float(budget)}
        assert set(at) == {"human only", "synthetic-led", "best mix"}
        assert at["human only"]["n_synthetic"] == 0
        # Without a floor, synthetic-led buys all the synthetic data it can (leftover cents go to human data).
        assert at["synthetic-led"]["n_synthetic"] == min(np.floor(budget / costs.synthetic + 1e-9), MAX_SAMPLES)
        by_budget[budget] = at
    return by_budget


frontier_budgets = st.lists(st.floats(min_value=0.0, max_value=1e5), min_size=1, max_size=4)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(name=curve_names, human=human_costs, synthetic=synthetic_costs, budgets_=frontier_budgets)
def test_frontier_best_mix_is_at_least_human_only(name, human, synthetic, budgets_):
    for at in _frontier_by_budget(predictor(name), budgets_, Costs(human, synthetic)).values():
        assert at["best mix"]["expected"] >= at["human only"]["expected"] - 1e-12
        assert at["best mix"]["expected"] >= min(at["human only"]["expected"], at["synthetic-led"]["expected"])


@settings(max_examples=30, deadline=None, derandomize=True)
@given(name=curve_names, human=human_costs, synthetic=synthetic_costs, budgets_=frontier_budgets)
@example(name="linear", human=1.0, synthetic=0.015625, budgets_=[1.0])
def test_frontier_best_mix_is_at_least_synthetic_led(name, human, synthetic, budgets_):
    for at in _frontier_by_budget(predictor(name), budgets_, Costs(human, synthetic)).values():
        assert at["best mix"]["expected"] >= at["synthetic-led"]["expected"] - 1e-12


@settings(max_examples=40, deadline=None, derandomize=True)
@given(name=curve_names, human=human_costs, synthetic=synthetic_costs, budgets_=frontier_budgets,
       floor=st.sampled_from([0.05, 0.3, 0.9]))
def test_frontier_corners_obey_the_floor_and_the_best_mix_beats_both(name, human, synthetic, budgets_, floor):
    """Issue 18 #9: with a floor, "synthetic only" ignored it and could beat the best allowed mix."""
    costs = Costs(human, synthetic)
    rows = frontier(predictor(name), np.array([b for b in budgets_ if b >= human]) if any(b >= human for b in budgets_)
                    else np.array([human * 10]), costs, floor=floor)
    for budget in {row["budget"] for row in rows}:
        at = {row["strategy"]: row for row in rows if row["budget"] == budget}
        led = at["synthetic-led"]
        spend_h, spend_s = led["n_human"] * human, led["n_synthetic"] * synthetic
        assert spend_h >= floor * (spend_h + spend_s) - 1e-9
        assert at["best mix"]["expected"] >= max(at["human only"]["expected"], led["expected"]) - 1e-12


def test_frontier_best_mix_beats_both_corners_for_the_true_curve():
    predict = predictor("true")
    by_budget = _frontier_by_budget(predict, [500.0, 1_000.0, 2_000.0, 20_000.0], Costs(1.0, 0.01))
    for budget, at in by_budget.items():
        best = at["best mix"]["expected"]
        assert best >= at["human only"]["expected"] - 1e-12, budget
        assert best >= at["synthetic-led"]["expected"] - 1e-12, budget
    # At $1,000 the mix is strictly better than either corner.
    at = by_budget[1_000.0]
    assert at["best mix"]["expected"] > max(at["human only"]["expected"], at["synthetic-led"]["expected"]) + 0.01


# --------------------------------------------------------------------------- through decide()
def test_nan_metric_value_cannot_become_an_outcome():
    with pytest.raises(ValidationError, match="value"):
        Outcome(task_id="t", n_human=100, n_synthetic=0, metric="accuracy", value=float("nan"))
    with pytest.raises(ValidationError):
        Outcome(task_id="t", n_human=100, n_synthetic=0, metric="accuracy", value=float("inf"))


def test_budget_that_does_not_cover_the_evaluation_set_is_refused():
    task = Task(name="Radiology report", domain="Health", modality="text", metric="F1", domain_expertise=4)
    empty = np.array([], dtype=float)
    evidence = TaskEvidence(task=task, n_human=empty, n_synthetic=empty, values=empty)
    # H-EXPERT requires 300 expert samples at $150 each: $45,000.
    with pytest.raises(StrategyError, match="evaluation set") as raised:
        decide(evidence, Scenario(budget=10_000.0))
    assert "Radiology report" in str(raised.value) and "45,000" in str(raised.value)
    recommendation, _ = decide(evidence, Scenario(budget=45_000.0))
    assert recommendation.n_human == recommendation.n_synthetic == 0
    with pytest.raises(StrategyError, match="budget must be a number"):
        decide(evidence, Scenario(budget=float("nan")))


def test_the_frontier_charts_coarse_grid_tracks_the_full_one_and_keeps_a_given_plan():
    """The frontier chart uses a tenth of the candidate counts; its best mix stays within 0.1% of the metric's
    range of the full grid's, and a plan passed in (the one recommended) is a candidate at the budget it spends."""
    predict, costs = predictor("true"), Costs(1.0, 0.01)
    budgets_ = np.array([50.0, 500.0, 1_000.0, 20_000.0, 3e6])
    full = {(r["budget"], r["strategy"]): r for r in frontier(predict, budgets_, costs)}
    coarse = {(r["budget"], r["strategy"]): r for r in frontier(predict, budgets_, costs, grid=FRONTIER_GRID)}
    assert full.keys() == coarse.keys()
    for key, row in full.items():
        assert coarse[key]["expected"] <= row["expected"] + 1e-12  # a subset of the candidates, corners kept
        assert coarse[key]["expected"] == pytest.approx(row["expected"], abs=1e-3), key
    best = full[(1_000.0, "best mix")]
    given_plan = Plan(best["n_human"], best["n_synthetic"], best["n_human"] * costs.human,
                      best["n_synthetic"] * costs.synthetic)
    kept = {(r["budget"], r["strategy"]): r for r in frontier(predict, budgets_, costs, grid=FRONTIER_GRID,
                                                             also=[given_plan])}
    assert coarse[(1_000.0, "best mix")]["expected"] < best["expected"]  # the coarse grid misses it...
    assert kept[(1_000.0, "best mix")]["expected"] == best["expected"]  # ...and finds it once it is offered
    assert kept[(20_000.0, "best mix")] == coarse[(20_000.0, "best mix")]  # not offered where it does not spend
    assert len(FRONTIER_GRID) * 8 < len(SYNTHETIC_GRID)
    # With a floor, rounding drops the exact synthetic-led corner; the chart's corner is still the full grid's.
    for floor in (0.05, 0.3):
        full = frontier(predict, budgets_, costs, floor=floor)
        coarse = frontier(predict, budgets_, costs, floor=floor, grid=FRONTIER_GRID)
        assert [r for r in coarse if r["strategy"] != "best mix"] == [r for r in full if r["strategy"] != "best mix"]
