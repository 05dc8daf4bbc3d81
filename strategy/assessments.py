"""Storing humanness assessments: the one service that writes a quality report, and recomputes the decision of
the task whose synthetic data it measured (the pooled model reads that humanness). The measurement itself
(strategy.quality) stores nothing and knows nothing of the engine."""

from __future__ import annotations

import json
import uuid

import pandas as pd

from strategy.catalog import Catalog
from strategy.datasets import find_dataset
from strategy.errors import StrategyError
from strategy.models import QualityReport
from strategy.quality.ranking import RankedSample
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


def save_ranking(catalog: Catalog, ranked: list[RankedSample], dataset_ids: dict[str, str], *,
                 chosen: str | None = None, reference_dataset_id: str | None = None,
                 actor: str | None = None) -> list[QualityReport]:
    """Store every ranked candidate's report against its synthetic dataset (``dataset_ids`` maps each label to
    a dataset id or name) in one transaction, marking one of them chosen: the best-ranked unless ``chosen``
    names another. Each task involved is recomputed once; its humanness is then the chosen report's, since the
    others are stored as "ranked, not chosen" (see ``Catalog.task_humanness``)."""
    labels = [r.label for r in ranked]
    missing = [label for label in labels if label not in dataset_ids]
    if missing:
        raise StrategyError("Each ranked sample needs the catalog dataset it is stored against; none was given "
                            f"for {', '.join(map(repr, missing))}.")
    chosen = labels[0] if chosen is None else chosen
    if chosen not in labels:
        raise StrategyError(f"{chosen!r} is not one of the ranked samples ({', '.join(map(repr, labels))}).")
    datasets = {label: find_dataset(catalog, dataset_ids[label]) for label in labels}
    ids = [d["id"] for d in datasets.values()]
    repeated = sorted({d["name"] for d in datasets.values() if ids.count(d["id"]) > 1})
    if repeated:
        raise StrategyError(f"Two ranked samples cannot be stored against the same dataset ({', '.join(repeated)}).")
    if reference_dataset_id is not None:
        reference_dataset_id = find_dataset(catalog, reference_dataset_id)["id"]
    run = str(uuid.uuid4())
    reports = []
    for item in ranked:
        dataset = datasets[item.label]
        data = dict(item.assessment.data)
        data["ranking"] = {"run": run, "rank": item.rank, "of": len(ranked), "chosen": item.label == chosen,
                           "label": item.label, "privacy_risk": item.privacy_risk,
                           "candidates": [{"label": r.label, "dataset_id": datasets[r.label]["id"]} for r in ranked]}
        task_id = None if pd.isna(dataset["task_id"]) else str(dataset["task_id"])
        reports.append(report_record(Assessment(data), dataset_id=dataset["id"], task_id=task_id,
                                     reference_dataset_id=reference_dataset_id))
    actor = actor or catalog.actor
    catalog.add_records("quality_reports", reports, actor=actor, action="assess")
    for task_id in dict.fromkeys(r.task_id for r in reports if r.task_id is not None):
        recommend_task(catalog, task_id, actor=actor)
    return reports


def reports_with_scores(catalog: Catalog, *, task_id: str | None = None, dataset_id: str | None = None
                        ) -> pd.DataFrame:
    """Stored reports with their floor, for trend charts: one row per report, oldest first."""
    frame = catalog.quality_reports(task_id=task_id, dataset_id=dataset_id, with_metrics=True)
    floors = [json.loads(text).get("floor") for text in frame["metrics_json"]]
    return frame.drop(columns=["metrics_json"]).assign(floor=floors)
