"""Registering and editing datasets: the one service that writes a dataset and recomputes the tasks whose
prices it moves. A task plans with the mean per-sample cost of its registered datasets of each source
(strategy.recommend.gather), so a new price, a dataset moved to another task or a changed source kind changes
what those tasks should buy. Every edit of a dataset (today the Datasets page's) saves through here, so none
leaves a stale recommendation behind; copies and restores carry whole catalogs, recommendations included."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from strategy.catalog import Catalog
from strategy.errors import StrategyError
from strategy.locations import check_location
from strategy.models import Dataset
from strategy.outcomes import Change, recompute

# What a task's prices are read from: a change to any of these moves some task's recommendation.
PRICING_FIELDS = ("task_id", "source_kind", "cost_per_sample")


@dataclass
class DatasetSaved:
    """The dataset as stored, and what the save did to each task whose prices it moved."""

    dataset: Dataset
    changes: list[Change]


def find_dataset(catalog: Catalog, reference: str) -> dict:
    """A catalog dataset by id or by name (case-insensitive)."""
    datasets = catalog.datasets()
    match = datasets[(datasets["id"] == reference)
                     | (datasets["name"].str.strip().str.lower() == str(reference).strip().lower())]
    if match.empty:
        raise StrategyError(f"Unknown dataset {reference!r}: no dataset has that id or name (register it in "
                            "Catalog › Datasets).")
    return match.iloc[0].to_dict()


def _stored(catalog: Catalog, dataset_id: str) -> dict:
    """The stored row of one dataset, its missing values as None."""
    row = find_dataset(catalog, dataset_id)
    return {key: (None if not isinstance(value, (list, dict)) and pd.isna(value) else value) for key, value in row.items()}


def _priced_tasks(before: dict | None, after: Dataset) -> list[str]:
    """The tasks whose registered prices this save moves (none when it only edits names, notes or counts)."""
    if before is None:
        moved = after.cost_per_sample > 0
    else:
        moved = any(before.get(name) != getattr(after, name) for name in PRICING_FIELDS)
    if not moved:
        return []
    candidates = [after.task_id] + ([before.get("task_id")] if before else [])
    return list(dict.fromkeys(task for task in candidates if task))


def save_dataset(catalog: Catalog, fields: dict, *, dataset_id: str | None = None,
                 actor: str | None = None) -> DatasetSaved:
    """Register a dataset (``dataset_id`` None) or update the one with that id, all or nothing, then recompute
    every task whose prices it moves.

    A sample location is checked against the allowed folders before anything is written
    (strategy.locations.LocationRefused); a field the model refuses raises pydantic's ValidationError; a
    clash (an unknown task) raises ImportRejected. Nothing is written in any of these cases."""
    fields = dict(fields)
    fields["location"] = str(fields.get("location") or "").strip()
    if fields["location"]:
        check_location(fields["location"], str(fields.get("name") or "").strip() or "new dataset")
    if dataset_id is None:
        before = None
        record = Dataset(**fields)
        catalog.add_records("datasets", [record], actor=actor)
    else:
        before = _stored(catalog, dataset_id)
        record = Dataset(**fields, id=before["id"], source=before["source"], created_by=before["created_by"],
                         created_at=before["created_at"])
        catalog.replace_records("datasets", [record], actor=actor)
    return DatasetSaved(record, recompute(catalog, _priced_tasks(before, record), actor=actor))
