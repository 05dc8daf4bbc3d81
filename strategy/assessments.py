"""Storing humanness assessments: the one service that writes a quality report, and recomputes the decision of
the task whose synthetic data it measured (the pooled model reads that humanness). The measurement itself
(strategy.quality) stores nothing and knows nothing of the engine."""

from __future__ import annotations

import json

import pandas as pd

from strategy.catalog import Catalog
from strategy.datasets import find_dataset
from strategy.models import QualityReport
from strategy.quality.report import Assessment, report_record
from strategy.recommend import recommend_task


def save_assessment(catalog: Catalog, assessment: Assessment, *, dataset_id: str,
                    reference_dataset_id: str | None = None, actor: str | None = None,
                    recompute: bool = True) -> QualityReport:
    """Store a report against the synthetic dataset it measured (id or name) and that dataset's task, then
    recompute the task's recommendation: the pooled model reads the humanness of a task's synthetic data."""
    dataset = find_dataset(catalog, dataset_id)
    if reference_dataset_id is not None:
        reference_dataset_id = find_dataset(catalog, reference_dataset_id)["id"]
    task_id = None if pd.isna(dataset["task_id"]) else str(dataset["task_id"])
    actor = actor or catalog.actor
    report = report_record(assessment, dataset_id=dataset["id"], task_id=task_id,
                           reference_dataset_id=reference_dataset_id)
    catalog.add_records("quality_reports", [report], actor=actor, action="assess")
    if task_id is not None and recompute:
        recommend_task(catalog, task_id, actor=actor)
    return report


def reports_with_scores(catalog: Catalog, *, task_id: str | None = None, dataset_id: str | None = None
                        ) -> pd.DataFrame:
    """Stored reports with their floor, for trend charts: one row per report, oldest first."""
    frame = catalog.quality_reports(task_id=task_id, dataset_id=dataset_id, with_metrics=True)
    floors = [json.loads(text).get("floor") for text in frame["metrics_json"]]
    return frame.drop(columns=["metrics_json"]).assign(floor=floors)
