"""The charts as plain series (strategy/plots.py): the numbers the PDF draws, and the axes' round ticks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategy import plots


def test_nice_scale_widens_to_round_ends_with_round_steps():
    assert plots.nice_scale(0.612, 0.847) == (0.6, 0.85, [0.6, 0.65, 0.7, 0.75, 0.8, 0.85])
    low, high, ticks = plots.nice_scale(3.0, 97.0)
    assert (low, high) == (0.0, 100.0) and ticks == [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
    # a flat series still gets an axis around its value
    low, high, ticks = plots.nice_scale(0.5, 0.5)
    assert low < 0.5 < high and len(ticks) >= 2
    assert plots.nice_scale(float("nan"), 1.0)[:2] == (0.0, 1.0)


def test_log_ticks_use_one_two_five_and_thin_out_over_many_decades():
    assert plots.log_ticks(300, 2_500) == [500.0, 1_000.0, 2_000.0]
    assert plots.log_ticks(1, 1e9) == [10.0 ** p for p in range(10)]
    assert plots.log_ticks(0, 10) == []


def test_tick_labels():
    assert plots.tick_label(0.4, "percent") == "40%"
    assert plots.tick_label(2000, "dollars") == "$2,000"
    assert plots.tick_label(0.65, "number", 0.05) == "0.65"
    assert plots.tick_label(20.0, "number", 20.0) == "20"


def test_the_mix_and_frontier_plots_carry_the_charts_numbers():
    frame = pd.DataFrame({"human_share_spend": [0.0, 0.5, 1.0], "expected": [0.7, 0.8, 0.75],
                          "low": [0.6, 0.7, 0.7], "high": [0.8, 0.9, 0.8]})
    mix = plots.mix_plot(frame, "accuracy", 0.5, 0.05)
    assert mix.y_range() == (0.6, 0.9)
    assert [m.label for m in mix.markers] == ["recommended", "rules' floor"] and mix.markers[0].x == 0.5
    np.testing.assert_array_equal(mix.band.high, [0.8, 0.9, 0.8])
    frontier = pd.DataFrame({"budget": [100.0, 200.0, 100.0, 200.0], "expected": [0.7, 0.8, 0.6, 0.65],
                             "strategy": ["human only", "human only", "synthetic-led", "synthetic-led"]})
    drawn = plots.frontier_plot(frontier, "accuracy")
    assert [s.label for s in drawn.series] == ["human only", "synthetic-led"]  # no best-mix rows, no line
    assert drawn.x_log and drawn.x_range() == (100.0, 200.0)


def test_split_bars_are_shares_of_each_tasks_own_budget():
    view = pd.DataFrame({"task_name": ["A", "B", "C"], "budget": [1_000.0, 50.0, 10.0],
                         "spend_human": [600.0, 0.0, 0.0], "spend_synthetic": [200.0, 0.0, 0.0],
                         "computed": [True, True, False]})
    bars = plots.split_bars(view)
    assert bars.labels == ["A · $1,000", "B · $50"]  # C has no stored answer
    np.testing.assert_allclose(bars.shares, [[0.6, 0.2, 0.2], [0.0, 0.0, 1.0]])
    assert bars.parts == ["human training data", "synthetic training data", "human evaluation set"]
    assert pytest.approx(bars.shares.sum(axis=1)) == [1.0, 1.0]
