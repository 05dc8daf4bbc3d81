"""What the pages and the exports show of the stored decisions: the portfolio as a table (filtered, sorted,
with totals and the task holding most of the budget), a task's mix curve, budget frontier and evidence.
Reads only; nothing here fits or stores anything."""

from __future__ import annotations

import numpy as np
import pandas as pd

from strategy import budget as budgeting
from strategy.budget import Costs
from strategy.catalog import Catalog
from strategy.models import Recommendation
from strategy.recommend import TaskEvidence, TaskFit

SORTS = {
    "lowest confidence first": (["confidence", "task_name"], [True, True]),
    "task name": (["task_name"], [True]),
    "largest budget first": (["budget", "task_name"], [False, True]),
    "most human first": (["human_share_spend", "task_name"], [False, True]),
    "fewest outcomes first": (["evidence_count", "task_name"], [True, True]),
    "latest change first": (["created_at", "task_name"], [False, True]),
}


def portfolio_view(catalog: Catalog) -> pd.DataFrame:
    """Every active task with its stored recommendation (NaN columns where none is stored yet)."""
    tasks = catalog.tasks()[["id", "name", "domain", "modality", "metric", "higher_is_better", "outcomes"]]
    stored = catalog.latest_recommendations().drop(columns=["task_name", "domain", "modality", "metric"])
    view = tasks.rename(columns={"id": "task_id", "name": "task_name"}).merge(
        stored.rename(columns={"id": "recommendation_id"}), on="task_id", how="left")
    view["computed"] = view["recommendation_id"].notna()
    view["evidence_count"] = view["outcomes"]
    return view


def filter_portfolio(view: pd.DataFrame, *, domains=(), modalities=(), classes=(), low_confidence_only=False,
                     sort_by: str = "lowest confidence first") -> pd.DataFrame:
    """The rows a product lead asked for, in the order asked for (unknown sorts fall back to the first)."""
    keep = pd.Series(True, index=view.index)
    if domains:
        keep &= view["domain"].isin(domains)
    if modalities:
        keep &= view["modality"].isin(modalities)
    if classes:
        keep &= view["sourcing"].isin(classes)
    if low_confidence_only:
        keep &= view["low_confidence"].fillna(True).astype(bool)
    columns, ascending = SORTS.get(sort_by, next(iter(SORTS.values())))
    return view[keep].sort_values(columns, ascending=ascending, na_position="first", ignore_index=True)


DOMINANT_SHARE = 0.5  # a task holding this share of the budget shown is flagged on the portfolio


def _gain(value) -> str:
    if value is None or value != value:
        return "—"
    return "0.000" if round(value, 3) == 0 else f"{value:+.3f}"  # never "-0.000"


def portfolio_table(view: pd.DataFrame) -> pd.DataFrame:
    """The portfolio's rows as the page shows them: texts for the split, the interval, what each source adds
    and the budget; the task's id stays beside them (not shown) for opening its page."""
    computed = view["computed"].astype(bool)
    return view.assign(
        split=[f"${h:,.0f} human · ${s:,.0f} synthetic" if c else "not computed yet"
               for h, s, c in zip(view["spend_human"], view["spend_synthetic"], computed, strict=True)],
        expected=[f"{v:.3f} ({lo:.3f}–{hi:.3f})" if v == v else "no evidence yet"
                  for v, lo, hi in zip(view["expected_value"], view["expected_low"], view["expected_high"],
                                       strict=True)],
        synthetic_adds=[_gain(v) for v in view.get("synthetic_adds", pd.Series(np.nan, index=view.index))],
        human_adds=[_gain(v) for v in view.get("human_adds", pd.Series(np.nan, index=view.index))],
        budget_text=[f"${b:,.0f}" if b == b else "—" for b in view["budget"]],
        # A task with no stored answer yet shows words, never an empty value the grid would print as "None".
        sourcing=view["sourcing"].where(computed, "not computed"),
        basis=view["basis"].where(computed & view["basis"].notna(), "—"),
    )


def dominant_task(view: pd.DataFrame, share: float = DOMINANT_SHARE) -> dict | None:
    """The task holding at least ``share`` of the budget shown (with two or more tasks shown), or None."""
    budgets = view["budget"].fillna(0.0)
    total = float(budgets.sum())
    if len(view) < 2 or total <= 0:
        return None
    top = int(budgets.to_numpy().argmax())
    held = float(budgets.iloc[top]) / total
    if held < share:
        return None
    return {"task_name": view["task_name"].iloc[top], "budget": float(budgets.iloc[top]), "share": held}


def portfolio_totals(view: pd.DataFrame) -> dict[str, float]:
    """Budget and spend by source over a set of tasks (tasks without a recommendation count as zero)."""
    spend_human = float(view["spend_human"].fillna(0).sum())
    spend_synthetic = float(view["spend_synthetic"].fillna(0).sum())
    budget = float(view["budget"].fillna(0).sum())
    return {"tasks": int(len(view)), "budget": budget, "spend_human": spend_human,
            "spend_synthetic": spend_synthetic, "evaluation": max(budget - spend_human - spend_synthetic, 0.0),
            "human_share_spend": spend_human / (spend_human + spend_synthetic) if spend_human + spend_synthetic else 0.0}


def mix_curve(fit: TaskFit, recommendation: Recommendation, points: int = 101) -> pd.DataFrame:
    """Expected metric (with band) against the human share of the training spend, at this budget."""
    training = recommendation.budget - recommendation.eval_set.cost
    costs = recommendation.cost_per_sample
    share = np.linspace(0.0, 1.0, points)
    n_h = np.floor(share * training / costs["human"]) + recommendation.owned["human"]
    n_s = np.floor((1 - share) * training / costs["synthetic"]) + recommendation.owned["synthetic"]
    expected, low, high = fit.predict_with_band(n_h, n_s)
    return pd.DataFrame({"human_share_spend": share, "n_human": n_h, "n_synthetic": n_s,
                         "expected": expected, "low": low, "high": high,
                         "allowed": share >= recommendation.human_floor - 1e-9})


def budget_frontier(fit: TaskFit, recommendation: Recommendation, factors=(0.125, 0.25, 0.5, 1, 2, 4, 8),
                    ) -> pd.DataFrame:
    """Expected metric against total budget for human only, synthetic-led (at the floor) and the best allowed mix."""
    costs = Costs(**recommendation.cost_per_sample)
    budgets = [recommendation.budget * f - recommendation.eval_set.cost for f in factors]
    budgets = np.array([b for b in budgets if b > 0])

    chosen = budgeting.Plan(recommendation.n_human, recommendation.n_synthetic, recommendation.spend_human,
                            recommendation.spend_synthetic)
    rows = budgeting.frontier(fit.values, budgets, costs, floor=recommendation.human_floor,
                              owned=(recommendation.owned["human"], recommendation.owned["synthetic"]),
                              grid=budgeting.FRONTIER_GRID, also=[chosen])
    frame = pd.DataFrame(rows)
    frame["expected"] *= fit.sign
    frame["budget"] += recommendation.eval_set.cost
    return frame


def evidence_view(evidence: TaskEvidence, fit: TaskFit | None) -> pd.DataFrame:
    """Each usable outcome beside what the fitted curve expects at its mix (with the 80% band)."""
    total = evidence.n_human + evidence.n_synthetic
    frame = pd.DataFrame({"n_human": evidence.n_human, "n_synthetic": evidence.n_synthetic,
                          "total": total, "human_share": np.divide(evidence.n_human, total),
                          "observed": evidence.values})
    if fit is not None and len(frame):
        frame["fitted"] = fit.predict(evidence.n_human, evidence.n_synthetic)
        frame["low"], frame["high"] = fit.band(evidence.n_human, evidence.n_synthetic)
    return frame
