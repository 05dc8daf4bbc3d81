"""What-if answers: a task re-planned from its stored fit under another budget, price or target, saved as a
named scenario beside the current plan, compared with it, and adopted as the plan."""

from __future__ import annotations

import pandas as pd

from strategy.catalog import Catalog
from strategy.errors import StrategyError
from strategy.models import Recommendation, new_id, utc_now
from strategy.recommend import Scenario, TaskFit, decision_context, fit_task, gather, plan


def whatif(catalog: Catalog, reference: str, scenario: Scenario, *, actor: str | None = None,
           ) -> tuple[Recommendation, TaskFit | None]:
    """Re-plan a task for another budget, price, ownership or target from its stored fit: no fitting.

    Falls back to fitting only when the task has never been fitted. Nothing is stored
    (see :func:`save_scenario`).
    """
    with catalog.reading() as view:
        task = view.task(reference)
        evidence = gather(view, [task.id])[0]
        stored = view.latest_recommendation(task.id)
        context = decision_context(view)
    fit = TaskFit.from_dict(stored.fit) if stored is not None and stored.fit else None
    fit = fit.calibrated(context.interval_scale) if fit is not None else None
    if fit is None and evidence.enough_for_model():  # never fitted, or fitted by an earlier engine
        fit = fit_task(evidence, pooled=context.pooled, pooled_version=context.pooled_version,
                       interval_scale=context.interval_scale)
    planned = plan(evidence, fit, scenario, actor=actor or catalog.actor, rulebook=context.rulebook)
    return planned.model_copy(update={"snapshot": view.pinned_snapshot}), fit


def save_scenario(catalog: Catalog, recommendation: Recommendation, fit: TaskFit | None, name: str, *,
                  actor: str | None = None) -> Recommendation:
    """Store a what-if answer as a named scenario recommendation of its task."""
    saved = recommendation.model_copy(update={"scenario": name.strip() or "what-if",
                                              "created_by": actor or catalog.actor})
    catalog.save_recommendations([saved], [fit.to_dict() if fit else None], actor=actor)
    return saved


def saved_scenarios(history: pd.DataFrame) -> list[str]:
    """Names of the saved scenarios in a task's recommendation history, newest first."""
    named = history[history["scenario"] != ""].sort_values("created_at", ascending=False)
    return list(dict.fromkeys(named["scenario"]))


def compare_plans(current: Recommendation, other: Recommendation, *, labels=("current", "scenario")) -> pd.DataFrame:
    """Two recommendations side by side, one row per figure a product lead compares."""
    def figures(r: Recommendation) -> dict[str, str]:
        metric = r.expected_metric
        expected = ("—" if metric.value is None else
                    f"{metric.value:.3f}" + (f" ({metric.low:.3f}–{metric.high:.3f})" if metric.low is not None else ""))
        return {"Recommended": r.sourcing, "Budget": f"${r.budget:,.0f}",
                "Human samples": f"{r.n_human:,} (${r.spend_human:,.0f})",
                "Synthetic samples": f"{r.n_synthetic:,} (${r.spend_synthetic:,.0f})",
                "Human share of spend": f"{r.human_share_spend:.0%}",
                "Human share of samples": f"{r.human_share_samples:.0%}",
                f"Expected {metric.name} (80% interval)": expected, "Confidence": f"{r.confidence:.0%}",
                "Evaluation set": f"{r.eval_set.size:,} {r.eval_set.tier} (${r.eval_set.cost:,.0f})",
                "Computed": f"{r.created_at:%Y-%m-%d %H:%M} UTC"}
    left, right = figures(current), figures(other)
    return pd.DataFrame({"figure": list(left), labels[0]: list(left.values()), labels[1]: list(right.values())})


def adopt_scenario(catalog: Catalog, task_id: str, name: str, *, actor: str | None = None) -> Recommendation:
    """Make a saved scenario the task's plan: the task takes its budget and its answer becomes the task's
    current recommendation, in one audited write."""
    stored = catalog.latest_recommendation(task_id, scenario=name)
    if stored is None:
        raise StrategyError(f"The task has no saved scenario called {name!r}.")
    scenario, fit = stored
    adopted = scenario.model_copy(update={"id": new_id(), "scenario": "", "created_at": utc_now(),
                                          "created_by": actor or catalog.actor})
    catalog.adopt_scenario(adopted, fit, scenario=name, actor=actor)
    return adopted
