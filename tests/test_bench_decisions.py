"""The real-data decision benchmark: its measured grid reproduces, and its regret means what it says."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import decisions

PROJECT = Path(__file__).resolve().parent.parent
SCRIPT = PROJECT / "scripts" / "measure_decision_grid.py"


def _script():
    spec = importlib.util.spec_from_file_location("measure_decision_grid", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def all_cases():
    return decisions.cases()


def _scenarios(all_cases, step: int = 7):
    for case in all_cases[::step]:
        for prices in decisions.PRICES.values():
            for budget in decisions.budgets_for(case, prices):
                yield case, budget, prices


def test_grid_covers_the_benchmark(all_cases):
    grid = decisions.load_grid()
    assert set(grid.columns) == {"table", "generator", "learner", "n_human", "n_synthetic", "repeat", "metric",
                                 "value"}
    assert grid["table"].nunique() >= 6 and grid["generator"].nunique() >= 4 and grid["learner"].nunique() >= 2
    assert grid["repeat"].nunique() >= 3
    assert grid["value"].between(0, 1).all()
    assert decisions.GRID_PATH.stat().st_size < 3_000_000
    for case in all_cases:
        assert case.human_levels[0] == 0 and case.synthetic_levels[0] == 0
        # Every pilot design is made of measured cells, and larger pilots extend smaller ones.
        for size, design in decisions.PILOTS.items():
            assert len(design) == size == len(set(design))
            for n_h, n_s in design:
                assert n_h in case.human_levels and n_s in case.synthetic_levels
    assert set(decisions.PILOT_6) < set(decisions.PILOT_10) < set(decisions.PILOT_14)


def test_interpolation_returns_the_measured_means_at_grid_cells(all_cases):
    for case in all_cases[::5]:
        h, s = np.meshgrid(case.human_levels, case.synthetic_levels, indexing="ij")
        assert np.allclose(case.value(h, s), case.mean, atol=1e-12)
        for repeat in range(case.repeats):
            assert np.allclose(case.value(h, s, surface=case.runs[repeat]), case.runs[repeat], atol=1e-12)


def test_interpolation_lies_between_neighbouring_cells_and_clamps_outside(all_cases):
    case = all_cases[0]
    low, high = case.mean[1, 2], case.mean[2, 2]
    middle = float(case.value((case.human_levels[1] + case.human_levels[2]) / 2, case.synthetic_levels[2]))
    assert min(low, high) - 1e-12 <= middle <= max(low, high) + 1e-12
    top = case.human_levels[-1], case.synthetic_levels[-1]
    assert float(case.value(top[0] * 10, top[1] * 10)) == pytest.approx(case.mean[-1, -1])


def test_the_best_plan_has_regret_zero(all_cases):
    for case, budget, prices in _scenarios(all_cases):
        n_h, n_s, value = decisions.best_plan(case, budget, prices)
        assert n_h * prices.human + n_s * prices.synthetic <= budget + 1e-6
        assert decisions.regret(case, budget, prices, (n_h, n_s)) == 0.0
        assert value == pytest.approx(float(case.value(n_h, n_s)))


def test_regret_is_never_negative_for_an_affordable_plan(all_cases):
    rng = np.random.default_rng(0)
    for case, budget, prices in _scenarios(all_cases):
        for _ in range(40):
            n_h = int(rng.integers(0, int(budget / prices.human) + 1))
            most = int((budget - n_h * prices.human) / prices.synthetic + 1e-9)
            n_s = int(rng.integers(0, most + 1))
            assert decisions.regret(case, budget, prices, (n_h, n_s)) >= 0.0
        for policy in decisions.FIXED_POLICIES.values():
            assert decisions.regret(case, budget, prices, policy(None, budget, prices)) >= 0.0


def test_an_unaffordable_plan_is_refused(all_cases):
    case = all_cases[0]
    with pytest.raises(ValueError, match="costs more"):
        decisions.regret(case, 30.0, decisions.PRICES["10:1"], (30, 1))


def test_fixed_policies_spend_the_budget_as_named():
    prices = decisions.PRICES["100:1"]
    assert decisions.human_only(None, 60.0, prices) == (60, 0)
    n_h, n_s = decisions.synthetic_floor(None, 60.0, prices)
    assert (n_h, n_s) == (3, 5700)
    assert decisions.fifty_fifty(None, 60.0, prices) == (30, 3000)


def test_scoring_covers_every_policy_and_the_engine_callable(all_cases):
    chosen = all_cases[:2]
    calls = []

    def engine(pilot, budget, prices):
        calls.append((len(pilot), budget))
        assert list(pilot.columns) == ["n_human", "n_synthetic", "value"]
        return decisions.best_plan(chosen[0], budget, prices)[:2]  # the first case's oracle plan

    results = decisions.score(chosen, engine, pilot_repeats=1)
    assert set(results["policy"]) == {*decisions.FIXED_POLICIES, "engine"}
    assert (results["regret"] >= 0).all()
    first = results[(results["policy"] == "engine") & (results["table"] == chosen[0].table)
                    & (results["generator"] == chosen[0].generator) & (results["learner"] == chosen[0].learner)]
    assert (first["regret"] == 0).all()
    assert {n for n, _ in calls} == set(decisions.PILOTS)
    summary = decisions.summarise(results)
    assert summary["families"][-1]["family"] == "overall"
    assert {row["pilot"] for row in summary["engine_beats_or_ties"]} == set(decisions.PILOTS)


def test_pilot_rows_are_one_repeats_measured_values(all_cases):
    case = all_cases[0]
    pilot = decisions.pilot_rows(case, 6, 1)
    for row in pilot.itertuples():
        i = list(case.human_levels).index(row.n_human)
        j = list(case.synthetic_levels).index(row.n_synthetic)
        assert row.value == case.runs[1, i, j]
    assert decisions.pilot_cost(14, decisions.PRICES["100:1"]) == pytest.approx(44.0)


def test_catalog_and_in_process_engines_choose_the_same_plans(all_cases, tmp_path):
    direct, catalog = decisions.DirectEngine(), decisions.CatalogEngine(tmp_path)
    try:
        for case, size in itertools.product(all_cases[::40], (6, 14)):
            pilot = decisions.pilot_rows(case, size, 0)
            for prices in decisions.PRICES.values():
                for budget in decisions.budgets_for(case, prices)[::2]:
                    plan = direct(pilot, budget, prices)
                    assert catalog(pilot, budget, prices) == plan
                    assert plan[0] * prices.human + plan[1] * prices.synthetic <= budget + 1e-6
    finally:
        catalog.close()


def test_one_slice_of_the_grid_reproduces_byte_for_byte():
    script = _script()
    measured = script.to_csv(script.measure(["wine"], ["smote"], ["knn"], progress=lambda line: None))
    tracked = pd.read_csv(script.OUTPUT, dtype=str)
    keep = (tracked["table"] == "wine") & (tracked["generator"] == "smote") & (tracked["learner"] == "knn")
    assert keep.sum() > 0
    assert script.to_text(tracked[keep]) == measured


def test_coverage_scores_held_out_runs_outside_the_pilot(all_cases):
    case = next(c for c in all_cases if c.name == "wine/smote/logistic")
    table = decisions.coverage([case], pilot_sizes=(6,), pilot_repeats=1)
    assert len(table) == 1
    row = table.iloc[0]
    cells_with_humans = int((case.human_levels > 0).sum()) * len(case.synthetic_levels)
    pilot_cells_with_humans = sum(1 for h, _ in decisions.PILOTS[6] if h > 0)
    assert row["held_out"] == (cells_with_humans - pilot_cells_with_humans) * (case.repeats - 1)
    assert 0.0 < row["covered"] <= 1.0
    # the misses say the same thing as the coverage, and the pilot's own runs are each predicted without them
    assert len(row["misses"]) == row["held_out"]
    assert np.mean(row["misses"] <= 1) == pytest.approx(row["covered"])
    assert len(row["pilot_misses"]) == len(decisions.PILOTS[6]) and np.isfinite(row["pilot_misses"]).all()


def test_calibrated_coverage_scores_each_table_with_the_other_tables_scale():
    def row(table, misses, pilot_misses):
        return {"table": table, "generator": "g", "learner": "l", "pilot": 6, "repeat": 0,
                "misses": np.array(misses, float), "pilot_misses": np.array(pilot_misses, float)}

    # Tables a, b, c, d: a's pilot runs miss by 2 half-widths in leave-one-out, the others' by 0.5.
    frame = pd.DataFrame([row("a", [0.9, 1.5], [2.0] * 12),
                          row("b", [0.4, 0.6], [0.5] * 12),
                          row("c", [0.4, 0.6], [0.5] * 12),
                          row("d", [0.4, 0.6], [0.5] * 12)])
    result = decisions.calibrated_coverage(frame)
    # a is judged by the scale of b, c and d (0.5): neither of its held-out runs is covered. b is judged by
    # a, c and d, whose 80% conformal miss is a's 2.0: both covered; likewise c and d. Judged by its own
    # pilots, a would have been covered (2.0 ≥ 1.5).
    assert result["overall"] == pytest.approx(6 / 8)
    assert result["scale_min"] == pytest.approx(0.5) and result["scale_max"] == pytest.approx(2.0)
