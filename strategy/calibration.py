"""Interval calibration from the team's own held-out outcomes (split-conformal scaling).

The posterior's 80% prediction interval is only as honest as its noise model. Measured on real training runs
(the decision benchmark) it covered 78% of held-out runs, but on a catalog whose outcomes are smoother than
real runs (the demo's illustrative tasks) it covered 91%: the surfaces' noise prior, set wide enough for real
pilot noise, stayed too wide there. No fixed noise prior fits both, so the catalog's own backtest sets the
width: every held-out outcome gives the ratio of its miss to the interval's half-width, and the interval is
scaled by the ratio that 80% of held-out outcomes stay within (a conformal quantile, with its finite-sample
correction). A ratio of 1 means the intervals were right.

The scale is only trusted with enough held-out outcomes from enough tasks; otherwise it is 1 and the
intervals stay as the posterior gives them. The coverage the model card reports for a calibrated catalog is
cross-fitted: each task's outcomes are judged against the scale learned from the other tasks, so no task
grades its own calibration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

LEVEL = 0.8
MIN_HELD_OUT = 30        # held-out outcomes before the scale is trusted
MIN_TASKS = 3            # ... from at least this many tasks
SCALE_BOUNDS = (0.5, 2.0)  # a backtest asking for more than this says the model is wrong, not its width


def miss_ratio(truth: float, centre: float, low: float, high: float) -> float:
    """How far a held-out outcome lies from the prediction, in half-widths of its interval (≤ 1: covered)."""
    half = (high - low) / 2.0
    if not math.isfinite(half) or half <= 0:
        return math.inf if truth != centre else 0.0
    return abs(truth - centre) / half


@dataclass
class IntervalCalibration:
    """The factor by which prediction intervals are widened (> 1) or narrowed (< 1) so that ``level`` of the
    held-out outcomes fall inside. Settings in the constructor; ``fit`` on miss ratios and their tasks."""

    level: float = LEVEL
    min_held_out: int = MIN_HELD_OUT
    min_tasks: int = MIN_TASKS
    bounds: tuple[float, float] = SCALE_BOUNDS
    scale_: float = field(default=1.0, init=False)
    held_out_: int = field(default=0, init=False)
    tasks_: int = field(default=0, init=False)
    trusted_: bool = field(default=False, init=False)

    def _quantile(self, ratios: np.ndarray) -> float:
        # Conformal quantile: the ceil((n + 1)·level)-th smallest ratio, so a new outcome is covered with
        # probability at least ``level`` when outcomes are exchangeable.
        n = len(ratios)
        rank = min(math.ceil((n + 1) * self.level), n)
        return float(np.sort(ratios)[rank - 1])

    def _scale(self, ratios: np.ndarray, tasks: int) -> tuple[float, bool]:
        if len(ratios) < self.min_held_out or tasks < self.min_tasks:
            return 1.0, False
        return float(np.clip(self._quantile(ratios), *self.bounds)), True

    def fit(self, ratios, tasks) -> IntervalCalibration:
        ratios = np.asarray(ratios, dtype=float)
        tasks = np.asarray(tasks)
        if len(ratios) != len(tasks):
            raise ValueError("every miss ratio needs its task")
        self.held_out_ = int(len(ratios))
        self.tasks_ = int(len(set(tasks.tolist())))
        self.scale_, self.trusted_ = self._scale(ratios, self.tasks_)
        return self

    def cross_fitted_coverage(self, ratios, tasks) -> dict:
        """Per task, the share of its held-out outcomes inside intervals scaled by what the *other* tasks'
        outcomes ask for (1 where those are too few to trust)."""
        ratios = np.asarray(ratios, dtype=float)
        tasks = np.asarray(tasks)
        names = list(dict.fromkeys(tasks.tolist()))
        coverage = {}
        for name in names:
            mine = tasks == name
            scale, _ = self._scale(ratios[~mine], len(names) - 1)
            coverage[name] = float(np.mean(ratios[mine] <= scale))
        return coverage

    def to_dict(self) -> dict:
        return {"level": self.level, "scale": round(self.scale_, 4), "held_out": self.held_out_,
                "tasks": self.tasks_, "trusted": self.trusted_}

    @classmethod
    def from_dict(cls, data: dict | None) -> IntervalCalibration:
        calibration = cls()
        if data:
            calibration.level = float(data.get("level", LEVEL))
            calibration.scale_ = float(data.get("scale", 1.0))
            calibration.held_out_ = int(data.get("held_out", 0))
            calibration.tasks_ = int(data.get("tasks", 0))
            calibration.trusted_ = bool(data.get("trusted", False))
        return calibration
