"""CSV: catalog tables, and the summary as one row per task with stable column names; text cells a spreadsheet
would run as a formula are neutralised."""

from __future__ import annotations

import pandas as pd

from strategy.export.blocks import inert, neutralise
from strategy.export.registry import Renderer, register
from strategy.summary import StrategySummary


def to_csv(frame: pd.DataFrame) -> bytes:
    """CSV bytes (UTF-8) with formula-like text cells neutralised and control and bidi characters shown as
    escapes; numbers are left as they are."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(lambda value: neutralise(inert(value)) if isinstance(value, str)
                                            else value)
    return safe.to_csv(index=False).encode("utf-8")


SUMMARY_COLUMNS = [
    "task_id", "task", "domain", "modality", "metric", "higher_is_better", "sourcing", "human_share_spend",
    "human_share_samples", "n_human", "n_synthetic", "spend_human", "spend_synthetic", "eval_set_size",
    "eval_set_tier", "eval_set_cost", "budget", "expected_value", "expected_low", "expected_high", "confidence",
    "low_confidence", "basis", "regime", "evidence_count", "backtest_relative_error", "humanness", "humanness_grade",
    "human_cost_per_sample", "synthetic_cost_per_sample", "rulebook_version", "model_version", "computed_at",
    # Added with contract /2 (columns are only appended): what each source adds, the class margin.
    "synthetic_adds", "human_adds", "class_margin",
]


def summary_frame(summary: StrategySummary) -> pd.DataFrame:
    """One row per task with the stable columns of the CSV export (empty cells where nothing is computed)."""
    rows = []
    for task in summary.tasks:
        r = task.recommendation
        row = {"task_id": task.task_id, "task": task.name, "domain": task.domain, "modality": task.modality,
               "metric": task.metric, "higher_is_better": task.higher_is_better,
               "backtest_relative_error": task.evidence.backtest_relative_error,
               "evidence_count": task.evidence.outcomes}
        if task.humanness:
            row["humanness"] = sum(h.humanness for h in task.humanness) / len(task.humanness)
            row["humanness_grade"] = " ".join(h.grade for h in task.humanness)
        if r is not None:
            row |= {"sourcing": r.sourcing, "human_share_spend": r.human_share_spend,
                    "human_share_samples": r.human_share_samples, "n_human": r.n_human, "n_synthetic": r.n_synthetic,
                    "spend_human": r.spend_human, "spend_synthetic": r.spend_synthetic,
                    "eval_set_size": r.eval_set.size, "eval_set_tier": r.eval_set.tier,
                    "eval_set_cost": r.eval_set.cost, "budget": r.budget, "expected_value": r.expected_metric.value,
                    "expected_low": r.expected_metric.low, "expected_high": r.expected_metric.high,
                    "confidence": r.confidence, "low_confidence": r.low_confidence, "basis": r.basis,
                    "regime": r.regime, "evidence_count": r.evidence_count,
                    "synthetic_adds": r.adds.synthetic_over_human_only, "human_adds": r.adds.human_over_synthetic_led,
                    "class_margin": r.class_margin,
                    "human_cost_per_sample": r.cost_per_sample["human"],
                    "synthetic_cost_per_sample": r.cost_per_sample["synthetic"],
                    "rulebook_version": r.rulebook_version, "model_version": r.model_version,
                    "computed_at": pd.Timestamp(r.created_at).isoformat()}
        rows.append(row)
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


register(Renderer("csv", "CSV", "text/csv", "csv", lambda bundle: to_csv(summary_frame(bundle.summary)),
                  description="one row per task", position=40))
