"""The engine judged on the team's own outcomes: a leave-one-outcome-out backtest against the rules-only and
task-mean baselines, the calibration of the prediction intervals it sets, and the model card that shows both.

A service beside :mod:`strategy.recommend` (which decides; this module only scores and stores the figures), so
the decision code stays readable in one sitting. A backtest of the engine's own form stores the interval
calibration that every decision then reads (:func:`strategy.recommend.interval_scale`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from strategy.calibration import IntervalCalibration, miss_ratio
from strategy.catalog import Catalog
from strategy.learning import MIN_OUTCOMES_FOR_MODEL, LearningCurve, PooledPrior, Prior, Shape, shape_of
from strategy.recommend import (
    BACKTEST_KIND,
    CALIBRATION_KIND,
    MIN_OUTCOMES_FOR_POOL,
    MIN_TASKS_FOR_POOL,
    POOLED_KIND,
    SURFACE_FORM,
    TaskEvidence,
    TaskFit,
    gather,
    independent_shape,
    interval_scale,
    replan_portfolio,
    task_seed,
)
from strategy.rules import Rulebook, default_rulebook
from strategy.surface import SurfacePosterior
from strategy.threads import bounded


def _rules_shape(item: TaskEvidence, rulebook: Rulebook) -> tuple[float, float, float, float]:
    """A curve shape read off the rules alone: the more the rules favour human data, the less a synthetic
    sample is worth. Only the level (ceiling and gap) is then fitted to outcomes."""
    share = rulebook.evaluate(item.task.profile()).prior_human_share
    default = Prior.default(item.n_human, item.n_synthetic)
    return (0.8, float(np.clip(1.2 * (1 - share), 0.02, 1.0)), default.mean[Shape.LOG_S], default.mean[Shape.LOG_N0])


def _held_out_prediction(form: str, prior: Prior | None, n_h, n_s, y, at, higher_is_better: bool, seed: int,
                         ) -> tuple[float, float, float]:
    """The model's prediction of one held-out outcome, with its 80% interval (NaN for the single-curve
    forms, which carry no interval of their own)."""
    if form == SURFACE_FORM:
        posterior = SurfacePosterior(prior=prior, random_state=seed, higher_is_better=higher_is_better).fit(n_h, n_s, y)
        fit = TaskFit(posterior=posterior, prior={}, model_version="backtest")
        low, high = fit.band(*at)
        return float(fit.predict(*at)[0]), float(low[0]), float(high[0])
    model = LearningCurve(form=form, prior=prior, higher_is_better=higher_is_better).fit(n_h, n_s, y)
    return float(model.predict(*at)[0]), float("nan"), float("nan")


def _shape_for_pool(item: TaskEvidence, form: str) -> np.ndarray:
    if form == SURFACE_FORM:
        return independent_shape(item)[1]
    fitted = LearningCurve(form=form, higher_is_better=item.task.higher_is_better).fit(
        item.n_human, item.n_synthetic, item.values)
    return shape_of(fitted.params_, fitted.spread_)


@bounded
def backtest(catalog: Catalog, *, form: str = SURFACE_FORM, evidence: list[TaskEvidence] | None = None,
             rulebook: Rulebook | None = None) -> pd.DataFrame:
    """Leave-one-outcome-out error per task: the fitted model against the rules-only and task-mean baselines,
    and how often the model's 80% interval covers the held-out outcome (calibration).

    Each task's pooled prior is refitted without that task, so no task is scored with its own outcomes.
    Errors are mean absolute errors in the metric's units; ``relative`` columns divide by the standard
    deviation of the task's outcomes, so tasks with different metrics can be averaged.
    """
    rulebook = rulebook or default_rulebook()
    evidence = evidence if evidence is not None else gather(catalog)
    eligible = [e for e in evidence if e.count >= MIN_OUTCOMES_FOR_POOL]
    shapes = {item.task.id: _shape_for_pool(item, form) for item in eligible}
    rows = []
    for item in evidence:
        if item.count < MIN_OUTCOMES_FOR_MODEL + 1 or not item.enough_for_model():
            continue
        others = [e for e in eligible if e.task.id != item.task.id]
        prior = None
        if len(others) >= MIN_TASKS_FOR_POOL:
            pooled = PooledPrior().fit(np.array([e.features() for e in others]),
                                       np.array([shapes[e.task.id] for e in others]))
            prior = pooled.predict(item.features())
        errors = {"model": [], "rules": [], "mean": []}
        covered, ratios = [], []
        for held in range(item.count):
            keep = np.arange(item.count) != held
            n_h, n_s, y = item.n_human[keep], item.n_synthetic[keep], item.values[keep]
            if len({(a, b) for a, b in zip(n_h, n_s, strict=True)}) < 2:
                continue  # what is left sits at one mix: no surface to test
            truth = item.values[held]
            at = (item.n_human[held:held + 1], item.n_synthetic[held:held + 1])
            predicted, low, high = _held_out_prediction(form, prior, n_h, n_s, y, at, item.task.higher_is_better,
                                                        task_seed(item.task.id) + held)
            rules_only = LearningCurve(form="saturating", fixed_shape=_rules_shape(item, rulebook),
                                       higher_is_better=item.task.higher_is_better).fit(n_h, n_s, y)
            errors["model"].append(abs(predicted - truth))
            errors["rules"].append(abs(rules_only.predict(*at)[0] - truth))
            errors["mean"].append(abs(float(np.mean(y)) - truth))
            covered.append(float(low <= truth <= high) if np.isfinite(low) else float("nan"))
            if np.isfinite(low):
                ratios.append(miss_ratio(truth, predicted, low, high))
        if not covered:
            continue
        scale = max(float(np.std(item.values)), 1e-9)
        row = {"task_id": item.task.id, "task": item.task.name, "metric": item.task.metric, "outcomes": item.count}
        for name, values in errors.items():
            row[f"mae_{name}"] = float(np.mean(values))
            row[f"relative_{name}"] = float(np.mean(values)) / scale
        row["coverage_80"] = float(np.mean(covered))
        row["held_out"] = len(covered)
        row["miss_ratios"] = [round(r, 6) for r in ratios]
        rows.append(row)
    table = pd.DataFrame(rows)
    if not table.empty:
        ratios, tasks = _miss_ratios(table)
        cross = IntervalCalibration().cross_fitted_coverage(ratios, tasks)
        table["coverage_80_calibrated"] = [cross.get(task_id, float("nan")) for task_id in table["task_id"]]
    return table


def _miss_ratios(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    pairs = [(r, task_id) for task_id, ratios in zip(table["task_id"], table["miss_ratios"], strict=True)
             for r in ratios]
    return np.array([r for r, _ in pairs], dtype=float), np.array([t for _, t in pairs], dtype=object)


def backtest_summary(table: pd.DataFrame) -> dict:
    """Overall figures for the model card: mean relative error of each predictor, how often the model wins,
    and how often its 80% interval covered the held-out outcome (over all held-out outcomes)."""
    if table.empty:
        return {"tasks": 0}
    coverage = None
    if "coverage_80" in table and table["coverage_80"].notna().any():
        known = table[table["coverage_80"].notna()]
        coverage = round(float((known["coverage_80"] * known["held_out"]).sum() / known["held_out"].sum()), 4)
    calibration = IntervalCalibration()
    calibrated = None
    if "miss_ratios" in table:
        calibration.fit(*_miss_ratios(table))
        known = table[table["coverage_80_calibrated"].notna()]
        if len(known):
            calibrated = round(float((known["coverage_80_calibrated"] * known["held_out"]).sum()
                                     / known["held_out"].sum()), 4)
    return {
        "tasks": int(len(table)),
        "outcomes": int(table["outcomes"].sum()),
        "relative_error": {name: round(float(table[f"relative_{name}"].mean()), 4)
                           for name in ("model", "rules", "mean")},
        "model_beats_rules": int((table["mae_model"] < table["mae_rules"]).sum()),
        "model_beats_mean": int((table["mae_model"] < table["mae_mean"]).sum()),
        "coverage_80": coverage,
        "coverage_80_calibrated": calibrated,
        "interval_calibration": calibration.to_dict(),
    }


def run_backtest(catalog: Catalog, form: str = SURFACE_FORM, *, actor: str | None = None) -> dict:
    """Backtest and store the result for the model card. A backtest of the engine's own form also sets the
    prediction intervals' calibration; when that moves them, every task is re-planned from its stored fit so
    the intervals shown agree with the model card (``result["replanned"]`` counts them)."""
    table = backtest(catalog, form=form)
    result = {"summary": backtest_summary(table), "tasks": table.to_dict(orient="records"), "replanned": 0}
    catalog.save_model_state(BACKTEST_KIND, form, result, actor=actor)
    if form == SURFACE_FORM:
        before = interval_scale(catalog)
        calibration = result["summary"].get("interval_calibration") or IntervalCalibration().to_dict()
        catalog.save_model_state(CALIBRATION_KIND, form, calibration, actor=actor)
        if abs(interval_scale(catalog) - before) > 1e-3 and not catalog.latest_recommendations().empty:
            result["replanned"] = len(replan_portfolio(catalog, actor=actor))
    return result


def model_card(catalog: Catalog) -> dict:
    """What the model card shows: evidence counts, when the model was fitted, and the stored backtest."""
    stored = catalog.latest_recommendations()
    pooled = catalog.latest_model_state(POOLED_KIND)
    with catalog.cursor() as cur:
        fitted_at = cur.execute("SELECT max(created_at) FROM model_state WHERE kind = ?", [POOLED_KIND]).fetchone()[0]
        tested_at = cur.execute("SELECT max(created_at) FROM model_state WHERE kind = ?", [BACKTEST_KIND]).fetchone()
    backtest_state = catalog.latest_model_state(BACKTEST_KIND)
    return {
        "outcomes": int(stored["evidence_count"].sum()) if not stored.empty else 0,
        "model_tasks": int((stored["basis"] == "rules+model").sum()) if not stored.empty else 0,
        "rules_tasks": int((stored["basis"] == "rules").sum()) if not stored.empty else 0,
        "pooled_tasks": pooled.payload["n_tasks"] if pooled else 0,
        "pooled_version": pooled.version if pooled else "",
        "fitted_at": fitted_at,
        "backtest": backtest_state.payload if backtest_state else None,
        "backtest_form": backtest_state.version if backtest_state else None,
        "backtest_at": tested_at[0] if tested_at else None,
    }
