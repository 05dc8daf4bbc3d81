"""Splitting a budget between human and synthetic samples to get the most out of a fitted curve.

Every unit of budget not spent on synthetic data goes to human data (more human
data never lowers the curve), so a plan is fixed by its synthetic sample count.
Candidates come from one fixed grid of synthetic counts, independent of the
budget: a larger budget can afford every plan a smaller one could, with more
human samples, so more budget never lowers the best expected metric.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from strategy.errors import StrategyError
from strategy.models import MAX_SAMPLES

# Synthetic sample counts tried: every count up to 2,000, then about 1% apart up to 10^10.
SYNTHETIC_GRID = np.unique(np.concatenate([np.arange(0.0, 2001.0), np.round(np.geomspace(2000, 1e10, 1600))]))
# The frontier chart's best mix is searched over every 10th of those counts: a chart needs the curve's shape,
# not the last sample, and it is drawn for every task of an export. Its corners are the full grid's (rounding
# can drop the exact synthetic-led corner, and a coarse grid's next point lies further from it), and the plan
# recommended at a budget is added where it fits, so the chart agrees with the recommendation there.
FRONTIER_GRID = SYNTHETIC_GRID[::10]
HUMAN_CLASS_AT = 0.8
SYNTHETIC_CLASS_AT = 0.2

# predict(n_human, n_synthetic) -> array (k, m): k curves (refits) evaluated at m plans, higher is better.
Predictor = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Costs:
    """Per-sample prices (USD) of the human and synthetic data for one task."""

    human: float
    synthetic: float

    def __post_init__(self):
        for name, value in (("human", self.human), ("synthetic", self.synthetic)):
            if not np.isfinite(value) or value <= 0:
                raise StrategyError(f"The {name} cost per sample must be a positive number, not {value}.")


@dataclass(frozen=True)
class Plan:
    """Samples to buy and what they cost."""

    n_human: int
    n_synthetic: int
    spend_human: float
    spend_synthetic: float

    @property
    def spend(self) -> float:
        return self.spend_human + self.spend_synthetic

    @property
    def human_share_spend(self) -> float:
        return self.spend_human / self.spend if self.spend > 0 else 1.0

    @property
    def human_share_samples(self) -> float:
        total = self.n_human + self.n_synthetic
        return self.n_human / total if total else 1.0


def sourcing_class(human_share_spend: float) -> str:
    """human (≥ 80% of spend on human data), synthetic (≤ 20%), mixed otherwise."""
    if human_share_spend >= HUMAN_CLASS_AT:
        return "human"
    if human_share_spend <= SYNTHETIC_CLASS_AT:
        return "synthetic"
    return "mixed"


MAX_BUDGET = 1e12  # USD: past this no plan is meaningful and sample counts outgrow what a dataset holds


def check_budget(budget: float) -> float:
    if budget is None or not np.isfinite(budget) or budget < 0:
        raise StrategyError(f"The budget must be a number of dollars, 0 or more, not {budget}.")
    if budget > MAX_BUDGET:
        raise StrategyError(f"The budget must be at most ${MAX_BUDGET:,.0f}, not ${budget:,.0f}.")
    return float(budget)


def candidate_plans(budget: float, costs: Costs, floor: float, *, grid: np.ndarray = SYNTHETIC_GRID) -> list[Plan]:
    """Plans that spend the budget, from the grid plus the all-synthetic corner the floor allows.

    Whole samples only; a plan whose rounding leaves the human share of spend under the floor is dropped.
    With a floor and less than one human sample's price, the only plan left buys nothing.
    """
    human, synthetic, spend_h, spend_s = _candidates(budget, costs, floor, grid)
    return [Plan(int(h), int(s), float(a), float(b))
            for h, s, a, b in zip(human, synthetic, spend_h, spend_s, strict=True)]


def _candidates(budget: float, costs: Costs, floor: float, grid: np.ndarray) -> tuple[np.ndarray, ...]:
    """The candidate plans as arrays (human, synthetic, spend on each), in order of synthetic count."""
    budget = check_budget(budget)
    # No plan buys more samples of a source than any dataset holds (the contract's ceiling, MAX_SAMPLES).
    corner = min(np.floor((1.0 - floor) * budget / costs.synthetic + 1e-9), MAX_SAMPLES)
    synthetic = np.unique(np.append(grid[corner >= grid], corner))
    human = np.minimum(np.floor((budget - synthetic * costs.synthetic) / costs.human + 1e-9), MAX_SAMPLES)
    spend_h, spend_s = human * costs.human, synthetic * costs.synthetic
    keep = spend_h >= floor * (spend_h + spend_s) - 1e-9
    return human[keep], synthetic[keep], spend_h[keep], spend_s[keep]


def synthetic_led_plan(budget: float, costs: Costs, floor: float, *, grid: np.ndarray = SYNTHETIC_GRID
                       ) -> Plan | None:
    """The last of :func:`candidate_plans` (the most synthetic data the floor allows) without building the
    others: the chart's frontier asks for it at every budget, from the full grid of thousands of counts."""
    human, synthetic, spend_h, spend_s = _candidates(budget, costs, floor, grid)
    if not len(human):
        return None
    return Plan(int(human[-1]), int(synthetic[-1]), float(spend_h[-1]), float(spend_s[-1]))


def _arrays(plans: list[Plan], owned: tuple[int, int]):
    n_h = np.array([p.n_human for p in plans], dtype=float) + owned[0]
    n_s = np.array([p.n_synthetic for p in plans], dtype=float) + owned[1]
    return n_h, n_s


def best_plan(predict: Predictor, budget: float, costs: Costs, *, floor: float = 0.0,
              owned: tuple[int, int] = (0, 0)) -> tuple[Plan, np.ndarray, list[Plan]]:
    """The plan whose expected metric (mean over curves) is highest, each curve's own best plan index,
    and the candidate plans those indices point into."""
    plans = candidate_plans(budget, costs, floor)
    if not plans:
        raise StrategyError("No plan fits: the budget is too small for the rules' minimum human share.")
    values = np.atleast_2d(predict(*_arrays(plans, owned)))
    choice = int(np.argmax(values.mean(axis=0)))
    return plans[choice], np.argmax(values, axis=1), plans


SYNTHETIC_LED = "synthetic-led"


def frontier(predict: Predictor, budgets: np.ndarray, costs: Costs, *, floor: float = 0.0,
             owned: tuple[int, int] = (0, 0), grid: np.ndarray = SYNTHETIC_GRID, also: Sequence[Plan] = ()
             ) -> list[dict]:
    """Expected metric against budget for human only, synthetic-led and the best mix (mean over curves).

    All three come from the same candidate plans, so they obey the same floor: "synthetic-led" buys the
    most synthetic data the floor allows (no human data when the floor is 0). The best mix is the best of
    every candidate, corners included, so it is never below either corner. ``also`` adds plans (the one
    recommended, say) at the budgets they spend: within one human sample's price of the budget, not over it.
    """
    rows = []
    for budget in budgets:
        plans = candidate_plans(budget, costs, floor, grid=grid)
        if not plans:
            raise StrategyError("No plan fits: the budget is too small for the rules' minimum human share.")
        if grid is not SYNTHETIC_GRID:  # a subset of it: the full grid's synthetic-led corner buys at least as much
            led = synthetic_led_plan(budget, costs, floor)
            if led is not None and led != plans[-1]:
                plans = [*plans, led]
        extra = [p for p in also if budget - costs.human - 1e-9 <= p.spend <= budget + 1e-9 and p not in plans]
        if extra and len(plans) > 1:
            plans = [*plans[:-1], *extra, plans[-1]]  # the corners stay first and last
        expected = np.atleast_2d(predict(*_arrays(plans, owned))).mean(axis=0)
        best = int(np.argmax(expected))
        for label, index in (("human only", 0), (SYNTHETIC_LED, len(plans) - 1), ("best mix", best)):
            plan = plans[index]
            rows.append({"budget": float(budget), "strategy": label, "n_human": plan.n_human,
                         "n_synthetic": plan.n_synthetic, "expected": float(expected[index])})
    return rows


def least_budget_for(predict: Predictor, target: float, costs: Costs, *, floor: float = 0.0,
                     owned: tuple[int, int] = (0, 0), ceiling: float = 1e9) -> float | None:
    """The smallest budget whose best plan reaches the target (higher-is-better units), or None.

    Bisection is valid because the best expected metric never falls as the budget grows.
    """
    def reaches(budget: float) -> bool:
        plan, _, _ = best_plan(predict, budget, costs, floor=floor, owned=owned)
        n_h, n_s = _arrays([plan], owned)
        return float(np.atleast_2d(predict(n_h, n_s)).mean()) >= target

    if reaches(0.0):
        return 0.0
    if not reaches(ceiling):
        return None
    low, high = 0.0, ceiling
    while high - low > max(1.0, high * 1e-4):
        middle = (low + high) / 2
        low, high = (low, middle) if reaches(middle) else (middle, high)
    return math.ceil(high * 100) / 100  # up to the cent: rounding down could fall short of the target
