"""Logging experiment outcomes: one from a form or a training script, or thousands from a file.

Files (CSV, Parquet, JSON lines) are read into an Arrow table, bounded in bytes
and rows before they are materialised, and checked column by column in DuckDB,
never row by row; every problem names the file, the row (counted from 1, header
excluded), the field and the reason, and one problem means nothing is written.

A row is identified by its task and run id (or, without a run id, by its content).
A row identical to one already logged is skipped, so re-importing a file adds
nothing; a repeat of an earlier row of the same file is counted as a duplicate
and written once. The same run with other values (in the file or in the catalog)
is refused: one run id names one run. After a write the affected tasks'
recommendations are recomputed and returned as before → after.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pandas as pd
import pyarrow as pa
from pydantic import ValidationError

from strategy.catalog import Catalog
from strategy.errors import ImportRejected, Problem
from strategy.ingest import file_bounds, read_data_file, upload_limit_bytes
from strategy.models import (
    Outcome,
    Recommendation,
    describe_errors,
    utc_now,
)
from strategy.outcome_checks import COLUMNS, FALSE_WORDS, PROBLEMS_LISTED, REQUIRED, TRUE_WORDS, Checked, validate
from strategy.recommend import recommend_task

# The checks live in strategy.outcome_checks; the names every way in uses are read from here too.
__all__ = ["COLUMNS", "FALSE_WORDS", "PROBLEMS_LISTED", "REQUIRED", "TRUE_WORDS", "Change", "Checked", "LogResult",
           "changes_table", "commit", "delete", "edit", "filter_outcomes", "log_checked", "log_file", "log_outcome",
           "read_outcome_file", "recompute", "template_csv", "upload_limit_bytes", "validate"]



def template_csv() -> bytes:
    """A downloadable template: the columns, and two example rows."""
    example = pd.DataFrame([
        {"task": "Chest X-ray triage", "n_human": 1200, "n_synthetic": 4800, "metric": "AUROC", "value": 0.83,
         "higher_is_better": "true", "regime": "mixed", "human_eval": "true", "cost": 7296, "run_id": "run-042",
         "notes": "held-out hospital B", "dataset_ids": ""},
        {"task": "Chest X-ray triage", "n_human": 1200, "n_synthetic": 0, "metric": "AUROC", "value": 0.81,
         "higher_is_better": "true", "regime": "human_only", "human_eval": "true", "cost": 7200,
         "run_id": "run-043", "notes": "", "dataset_ids": ""},
    ], columns=COLUMNS)
    return example.to_csv(index=False).encode("utf-8")


# ----------------------------------------------------------------------------- reading
def read_outcome_file(source: str | Path | IO[bytes], *, label: str | None = None,
                      size: int | None = None) -> tuple[str, pa.Table]:
    """Read an outcome file (a path, a byte stream, or ``-`` for stdin); over the upload limit it is refused
    before it is read, over the row limit (STRATEGY_MAX_ROWS) before its rows are materialised.

    CSV cells are read as text, so the checks see what was written (``0x10`` is not 16); an object or list
    in a JSON ``notes`` field is kept as compact JSON text.
    """
    return read_data_file(source, label=label, size=size, limit=upload_limit_bytes(), bounds=file_bounds(),
                          text_csv=True, text_fields={"notes"})


# --------------------------------------------------------------------------- validating
@dataclass
class Change:
    """What a write did to one task's recommendation."""

    task_id: str
    task_name: str
    before: Recommendation | None
    after: Recommendation | None
    problem: str = ""


@dataclass
class LogResult:
    written: int
    skipped: int  # identical to outcomes already logged
    changes: list[Change]
    duplicates: int = 0  # repeats of an earlier row of the same file, written once


def commit(catalog: Catalog, checked: Checked, *, actor: str | None = None, source: str = "measured",
           label: str = "", details: dict | None = None) -> int:
    """Write checked rows in one transaction, or raise ImportRejected with every problem and write nothing.
    ``details`` (where the rows came from, the mapping used) go into the import's audit entry."""
    if checked.problems:
        raise ImportRejected(checked.problems)
    actor = actor or catalog.actor
    return catalog.append_outcomes(checked.rows, actor=actor, source=source, created_at=utc_now(), label=label,
                                   details=details)


def recompute(catalog: Catalog, task_ids: list[str], *, actor: str | None = None, progress=None) -> list[Change]:
    """Recompute these tasks' recommendations and report each one's before → after."""
    changes = []
    for task_id in task_ids:
        before = catalog.latest_recommendation(task_id)
        task = catalog.task(task_id)
        try:
            after = recommend_task(catalog, task_id, actor=actor)
            changes.append(Change(task_id, task.name, before.recommendation if before else None, after))
        except Exception as error:  # a task that cannot be decided keeps its old answer, and says why
            changes.append(Change(task_id, task.name, before.recommendation if before else None, None, str(error)))
        if progress:
            progress(1)
    return changes


def log_checked(catalog: Catalog, checked: Checked, *, label: str = "", actor: str | None = None,
                recompute_after: bool = True, progress=None, details: dict | None = None) -> LogResult:
    """Write rows that ``validate`` passed (all or nothing) and recompute the tasks they touched: the one write
    path of every way in (the form, a file, the CLI, ``log_outcome``, a tracker import), so each recomputes
    alike."""
    written = commit(catalog, checked, actor=actor, label=label, details=details)
    changes = recompute(catalog, checked.tasks, actor=actor, progress=progress) if recompute_after and written else []
    return LogResult(written, checked.skipped, changes, checked.duplicates)


def log_file(catalog: Catalog, source, *, label: str | None = None, actor: str | None = None,
             recompute_after: bool = True, progress=None) -> LogResult:
    """Read, check, write (all or nothing) and recompute: the whole bulk path."""
    label, frame = read_outcome_file(source, label=label)
    return log_checked(catalog, validate(catalog, frame, label), label=label, actor=actor,
                       recompute_after=recompute_after, progress=progress)


def log_outcome(task: str, n_human: int, n_synthetic: int, metric: str, value: float, *,
                higher_is_better: bool | None = None, regime: str = "", human_eval: bool = True, cost: float = 0.0,
                run_id: str = "", notes: str = "", dataset_ids: list[str] | None = None,
                catalog: Catalog | str | None = None, actor: str | None = None) -> LogResult:
    """Log one outcome from training code, e.g. at the end of a run::

        import strategy
        strategy.log_outcome("Chest X-ray triage", 1200, 4800, "AUROC", 0.83, run_id="run-042")

    ``catalog`` is an open Catalog or a location (default: $STRATEGY_CATALOG). Raises ImportRejected
    with the reason when the outcome is refused; returns what it changed.
    """
    row = {"task": task, "n_human": n_human, "n_synthetic": n_synthetic, "metric": metric, "value": value,
           "higher_is_better": "" if higher_is_better is None else str(bool(higher_is_better)).lower(),
           "regime": regime, "human_eval": str(bool(human_eval)).lower(), "cost": cost, "run_id": run_id,
           "notes": notes, "dataset_ids": ",".join(dataset_ids or [])}
    frame = pd.DataFrame([row], columns=COLUMNS)
    owned = not isinstance(catalog, Catalog)
    opened = Catalog.open(catalog) if owned else catalog
    try:
        return log_checked(opened, validate(opened, frame, "log_outcome"), actor=actor)
    finally:
        if owned:
            opened.close()


def delete(catalog: Catalog, ids: list[str], *, actor: str | None = None) -> list[Change]:
    """Soft-delete outcomes and recompute the tasks they belonged to."""
    tasks = catalog.delete_outcomes(ids, actor=actor)
    return recompute(catalog, tasks, actor=actor)


def edit(catalog: Catalog, outcome_id: str, changes: dict, *, actor: str | None = None) -> list[Change]:
    """Change fields of one outcome (validated like a new one) and recompute its task."""
    current = catalog.outcome(outcome_id)
    try:
        updated = Outcome(**(current.model_dump() | changes))
    except ValidationError as error:
        raise ImportRejected([Problem("outcome", None, field, reason)
                              for field, reason in describe_errors(error)]) from None
    catalog.replace_outcome(updated, actor=actor)
    return recompute(catalog, [updated.task_id], actor=actor)


def changes_table(changes: list[Change]) -> pd.DataFrame:
    """Before → after of each recomputed task, as a table for pages and the CLI."""
    def describe(r: Recommendation | None, part: str):
        if r is None:
            return None
        return {"class": r.sourcing, "share": r.human_share_spend, "expected": r.expected_metric.value,
                "confidence": r.confidence}[part]

    return pd.DataFrame([{
        "task": c.task_name,
        "class": f"{describe(c.before, 'class') or '—'} → {describe(c.after, 'class') or '—'}",
        "human share of spend": _arrow(describe(c.before, "share"), describe(c.after, "share"), "{:.0%}"),
        "expected metric": _arrow(describe(c.before, "expected"), describe(c.after, "expected"), "{:.3f}"),
        "confidence": _arrow(describe(c.before, "confidence"), describe(c.after, "confidence"), "{:.0%}"),
        "next experiment": (f"{c.after.next_experiment.n_human:,} human + {c.after.next_experiment.n_synthetic:,} "
                            f"synthetic" if c.after and c.after.next_experiment else c.problem),
    } for c in changes])


def _arrow(before, after, pattern: str) -> str:
    shown = [pattern.format(v) if v is not None else "—" for v in (before, after)]
    return f"{shown[0]} → {shown[1]}"


def filter_outcomes(outcomes: pd.DataFrame, *, tasks=(), datasets=(), regimes=(), people=(),
                    dates: tuple | None = None) -> pd.DataFrame:
    """The explorer's selection: by task name, dataset used, regime, who logged it and the day it was logged."""
    keep = pd.Series(True, index=outcomes.index)
    if tasks:
        keep &= outcomes["task_name"].isin(tasks)
    if datasets:
        wanted = set(datasets)
        keep &= outcomes["dataset_ids"].map(lambda used: bool(wanted.intersection(used if used is not None else [])))
    if regimes:
        keep &= outcomes["regime"].isin(regimes)
    if people:
        keep &= outcomes["created_by"].isin(people)
    if dates:
        day = outcomes["created_at"].dt.date
        keep &= (day >= dates[0]) & (day <= dates[1])
    return outcomes[keep]
