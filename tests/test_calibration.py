"""Interval calibration from held-out outcomes: the conformal quantile, when it is trusted, and cross-fitting."""

from __future__ import annotations

import math

import numpy as np
import pytest

from strategy.calibration import IntervalCalibration, miss_ratio


def test_the_scale_is_the_conformal_quantile_of_the_misses():
    ratios = np.arange(1, 101) / 100  # 0.01 … 1.00
    calibration = IntervalCalibration().fit(ratios, ["a", "b", "c", "d"] * 25)
    # the ceil(101 × 0.8) = 81st smallest miss, not the plain 80th percentile (0.802)
    assert calibration.scale_ == pytest.approx(0.81)
    assert calibration.trusted_ and calibration.held_out_ == 100 and calibration.tasks_ == 4
    # widening: misses twice the half-width ask for intervals about twice as wide
    wide = IntervalCalibration().fit(2 * ratios, ["a", "b", "c", "d"] * 25)
    assert wide.scale_ == pytest.approx(1.62)


@pytest.mark.parametrize(("count", "tasks"), [(29, 4), (60, 2)])
def test_too_little_evidence_leaves_the_intervals_as_fitted(count, tasks):
    names = [f"t{i % tasks}" for i in range(count)]
    calibration = IntervalCalibration().fit(np.full(count, 0.3), names)
    assert calibration.scale_ == 1.0 and not calibration.trusted_


def test_the_scale_is_bounded_and_counts_degenerate_intervals_as_misses():
    ratios = [math.inf] * 10 + [5.0] * 30
    calibration = IntervalCalibration().fit(ratios, ["a", "b", "c", "d"] * 10)
    assert calibration.scale_ == 2.0 and calibration.trusted_
    tight = IntervalCalibration().fit([0.01] * 40, ["a", "b", "c", "d"] * 10)
    assert tight.scale_ == 0.5


def test_miss_ratio_is_one_at_the_interval_edge():
    assert miss_ratio(1.2, 1.0, 0.8, 1.2) == pytest.approx(1.0)
    assert miss_ratio(0.9, 1.0, 0.8, 1.2) == pytest.approx(0.5)
    assert miss_ratio(1.0, 1.0, 1.0, 1.0) == 0.0
    assert miss_ratio(1.1, 1.0, 1.0, 1.0) == math.inf


def test_each_task_is_judged_by_the_other_tasks_scale():
    # Task "a" misses by 0.9 half-widths, the others by 0.5. Judged by its own misses as well, "a" would be
    # covered; judged by the others' scale (0.5) it is not, and they are covered by a scale that includes a.
    ratios = np.concatenate([np.full(20, 0.9), np.full(60, 0.5)])
    tasks = ["a"] * 20 + ["b"] * 20 + ["c"] * 20 + ["d"] * 20
    coverage = IntervalCalibration().cross_fitted_coverage(ratios, tasks)
    assert coverage == {"a": 0.0, "b": 1.0, "c": 1.0, "d": 1.0}
    # with only two other tasks, their scale is not trusted and the fitted width (1) judges
    three = IntervalCalibration().cross_fitted_coverage(ratios[:60], tasks[:60])
    assert three == {"a": 1.0, "b": 1.0, "c": 1.0}


def test_round_trip_and_mismatched_inputs():
    calibration = IntervalCalibration().fit(np.linspace(0.1, 1.5, 40), ["a", "b", "c", "d"] * 10)
    again = IntervalCalibration.from_dict(calibration.to_dict())
    assert (again.scale_, again.trusted_, again.held_out_, again.tasks_) == (
        round(calibration.scale_, 4), True, 40, 4)
    assert IntervalCalibration.from_dict(None).scale_ == 1.0
    with pytest.raises(ValueError, match="every miss ratio needs its task"):
        IntervalCalibration().fit([0.5, 0.6], ["a"])
