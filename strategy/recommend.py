"""Recommendations: rules, the fitted curve and the budget optimiser combined into one explained answer.

Fitting happens here, when a task's inputs change (`refit_portfolio`,
`recommend_task`), and the result is stored with the fit it came from, so that
reading the portfolio never fits anything.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from strategy.calibration import IntervalCalibration
from strategy.catalog import RULE_WEIGHTS_KIND, Catalog, task_from_row
from strategy.engine import (
    DEFAULT_BUDGET,
    ENGINE_VERSION,
    FEATURE_COUNT,
    INTERVAL_Z,
    LOW_CONFIDENCE_BELOW,
    MIN_OUTCOMES_FOR_POOL,
    MIN_TASKS_FOR_POOL,
    TIER_DEFAULTS,
    DecisionContext,
    Scenario,
    TaskEvidence,
    TaskFit,
    decide,
    default_costs,
    fit_pooled,
    fit_task,
    independent_shape,
    plan,
    pooled_version,
    rules_confidence,
    task_seed,
)
from strategy.errors import StrategyError
from strategy.learning import (
    PooledPrior,
)
from strategy.models import (
    Recommendation,
)
from strategy.rules import Rulebook, default_rulebook
from strategy.surface import FORM as SURFACE_FORM
from strategy.threads import bounded, mapped_in_order, worker_pool

# The engine's names are read from here too (strategy.engine decides one task; this module runs it over the catalog).
__all__ = ["BACKTEST_KIND", "CALIBRATION_KIND", "current_rulebook", "decide", "decision_context", "DecisionContext", "DEFAULT_BUDGET", "default_costs", "ENGINE_VERSION", "FEATURE_COUNT", "fit_pooled", "fit_task", "gather", "independent_shape", "interval_scale", "INTERVAL_Z", "load_pooled", "LOW_CONFIDENCE_BELOW", "MIN_OUTCOMES_FOR_POOL", "MIN_TASKS_FOR_POOL", "plan", "POOLED_KIND", "pooled_version", "portfolio", "recommend_task", "refit_portfolio", "RefitResult", "replan_portfolio", "rules_confidence", "Scenario", "SURFACE_FORM", "task_seed", "TaskEvidence", "TaskFit", "TIER_DEFAULTS", "tier_prices"]



POOLED_KIND = "pooled_prior"
BACKTEST_KIND = "backtest"
CALIBRATION_KIND = "interval_calibration"


# ----------------------------------------------------------------------------- gathering
def gather(catalog: Catalog, task_ids: list[str] | None = None) -> list[TaskEvidence]:
    """Read tasks, their outcomes (the task's own metric, evaluated on human data, not deleted) and prices."""
    tasks = catalog.tasks(ids=task_ids)
    outcomes = catalog.outcomes(task_ids=task_ids)
    datasets = catalog.datasets()
    tier_costs = tier_prices(catalog)
    humanness = catalog.task_humanness()
    usable = outcomes[outcomes["human_eval"]]
    by_task = {key: group for key, group in usable.groupby("task_id")}
    priced = datasets[datasets["cost_per_sample"] > 0].groupby(["task_id", "source_kind"])["cost_per_sample"].mean()
    evidence = []
    for row in tasks.to_dict(orient="records"):
        task = task_from_row(row)
        own = by_task.get(task.id, outcomes.iloc[0:0])
        own = own[own["metric"].str.lower() == task.metric.lower()]
        evidence.append(TaskEvidence(
            task=task,
            n_human=own["n_human"].to_numpy(float), n_synthetic=own["n_synthetic"].to_numpy(float),
            values=own["value"].to_numpy(float),
            human_cost=priced.get((task.id, "human")), synthetic_cost=priced.get((task.id, "synthetic")),
            tier_costs=tier_costs, humanness=humanness.get(task.id),
        ))
    return evidence


def tier_prices(catalog: Catalog) -> dict[str, float]:
    """Per-sample prices by tier: the catalog's cost assumptions over the published defaults."""
    tiers = catalog.cost_tiers()
    return dict(TIER_DEFAULTS) | dict(zip(tiers["name"], tiers["cost_per_sample"], strict=True))


# ------------------------------------------------------------------------------ deciding


def decision_context(view: Catalog) -> DecisionContext:
    pooled, version = load_pooled(view)
    return DecisionContext(pooled, version, current_rulebook(view), interval_scale(view))


# ------------------------------------------------------------------------------ pooling


def current_rulebook(catalog: Catalog) -> Rulebook:
    """The rulebook file with the weights admins set in this catalog, if any."""
    stored = catalog.latest_model_state(RULE_WEIGHTS_KIND)
    base = default_rulebook()
    return base.with_weights(stored.payload["weights"], stored.version) if stored else base


def replan_portfolio(catalog: Catalog, *, actor: str | None = None) -> RefitResult:
    """Re-plan every task from its stored fit after a change of prices or rule weights: no fitting.

    Tasks never fitted are fitted here (the pooled prior as stored)."""
    actor = actor or catalog.actor
    decided, problems = [], []
    with catalog.reading() as view:
        context = decision_context(view)
        for item in gather(view):
            latest = view.latest_recommendation(item.task.id)
            stored = latest.fit if latest else None
            try:
                fit = TaskFit.from_dict(stored) if stored else None
                if fit is None and item.enough_for_model() or latest is None:
                    # never decided, or fitted by an earlier engine: fit now (the pooled prior as stored)
                    decided.append(decide(item, context=context, actor=actor))
                else:
                    fit = fit.calibrated(context.interval_scale) if fit is not None else None
                    decided.append((plan(item, fit, rulebook=context.rulebook, actor=actor),
                                    fit.to_dict() if fit is not None else stored))
            except StrategyError as error:
                problems.append(f"{item.task.name}: {error}")
    decided = [(r.model_copy(update={"snapshot": view.pinned_snapshot}), f) for r, f in decided]
    catalog.save_recommendations([r for r, _ in decided], [f for _, f in decided], actor=actor)
    return RefitResult([r for r, _ in decided], problems)


def load_pooled(catalog: Catalog) -> tuple[PooledPrior | None, str]:
    stored = catalog.latest_model_state(POOLED_KIND)
    if stored is None or not PooledPrior.readable(stored.payload, FEATURE_COUNT):
        # A prior fitted on other inputs (before humanness was a feature) waits for the next refit.
        return None, ""
    return PooledPrior.from_dict(stored.payload), stored.version


def interval_scale(catalog: Catalog) -> float:
    """The prediction intervals' scale from the latest backtest (1 before one has enough held-out outcomes)."""
    stored = catalog.latest_model_state(CALIBRATION_KIND)
    calibration = IntervalCalibration.from_dict(stored.payload if stored is not None else None)
    return calibration.scale_ if calibration.trusted_ else 1.0


@bounded
def _decide_quietly(args):
    """decide() for a worker process: a task that cannot be decided is reported, not raised."""
    evidence, context, actor = args
    try:
        return decide(evidence, context=context, actor=actor)
    except StrategyError as error:
        return None, f"{evidence.task.name}: {error}"


@dataclass
class RefitResult:
    recommendations: list[Recommendation]
    problems: list[str]

    def __len__(self) -> int:
        return len(self.recommendations)


# A refit of this many tasks or more fits them in worker processes. Below it, starting the workers (from a
# fork server: 1.5-2 s for its imports) costs more than they save (bench/bench_workers.py; 100 outcomes a task,
# in this process and with two workers: 50 tasks 1.68 s and 2.29 s, 100 tasks 3.07 s and 2.75 s).
PARALLEL_REFIT_TASKS = 100


def refit_portfolio(catalog: Catalog, *, workers: int | None = None, actor: str | None = None,
                    progress: Callable[[int], None] | None = None) -> RefitResult:
    """Refit the pooled prior and every active task, and store one recommendation per task.

    A task that cannot be decided (say, its budget does not cover the evaluation set the rules
    require) keeps its previous recommendation and is listed in ``problems``.
    """
    actor = actor or catalog.actor
    evidence = gather(catalog)
    workers = workers if workers is not None else min(os.cpu_count() or 1, 4)
    pool = worker_pool(workers, preload=[__name__]) if workers > 1 and len(evidence) >= PARALLEL_REFIT_TASKS else None
    chunk = max(1, len(evidence) // (workers * 8))

    def map_function(function, items):
        return mapped_in_order(pool, function, items, chunksize=chunk)

    try:
        pooled = fit_pooled(evidence, map_function)
        version = ""
        if pooled is not None:
            version = pooled_version(pooled)
            catalog.save_model_state(POOLED_KIND, version, pooled.to_dict(), actor=actor)
        # Decide from one snapshot that already holds the prior just stored, so each recommendation can be
        # reproduced from the snapshot it records (the evidence is re-read: others may have logged meanwhile).
        with catalog.reading() as view:
            snapshot = view.pinned_snapshot
            if snapshot is not None:
                evidence = gather(view)
            context = decision_context(view)
            if pooled is None or snapshot is None:
                # The prior just fitted (none, when too few tasks have outcomes: never an older stored one);
                # a snapshot's own copy of it where the backend keeps snapshots.
                context = context._replace(pooled=pooled, pooled_version=version)
        results = []
        jobs = [(item, context, actor) for item in evidence]
        for result in map_function(_decide_quietly, jobs):
            results.append(result)
            if progress:
                progress(1)
    finally:
        if pool:
            pool.shutdown()
    decided = [(r.model_copy(update={"snapshot": snapshot}), f) for r, f in results if r is not None]
    catalog.save_recommendations([r for r, _ in decided], [f for _, f in decided], actor=actor)
    return RefitResult([r for r, _ in decided], [f for r, f in results if r is None])


def recommend_task(catalog: Catalog, reference: str, scenario: Scenario | None = None, *,
                   actor: str | None = None, store: bool = True) -> Recommendation:
    """Recompute one task (with the stored pooled prior) and store the result."""
    actor = actor or catalog.actor
    with catalog.reading() as view:
        task = view.task(reference)
        evidence = gather(view, [task.id])[0]
        context = decision_context(view)
    recommendation, fit = decide(evidence, scenario, context=context, actor=actor)
    recommendation = recommendation.model_copy(update={"snapshot": view.pinned_snapshot})
    if store:
        catalog.save_recommendations([recommendation], [fit], actor=actor)
    return recommendation


def portfolio(catalog: Catalog) -> pd.DataFrame:
    """The stored latest recommendation of every task: a read, never a fit."""
    return catalog.latest_recommendations()


