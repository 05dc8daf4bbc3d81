"""Logging experiment outcomes: one from a form or a training script, or thousands from a file.

Files (CSV, Parquet, JSON lines) are read whole into a DataFrame and checked
column by column, never row by row; every problem names the file, the row
(counted from 1, header excluded), the field and the reason, and one problem
means nothing is written. Rows carrying a run id already logged for the task,
and exact repeats of a logged row, are skipped, so re-importing a file adds
nothing. After a write the affected tasks' recommendations are recomputed and
returned as before → after.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import ValidationError

from strategy.catalog import Catalog
from strategy.errors import ImportRejected, Problem
from strategy.ingest import read_data_file, upload_limit_bytes
from strategy.models import (
    CONTROL_REASON,
    LINE_CONTROL,
    MAX_SAMPLES,
    REGIMES,
    TEXT_CONTROL,
    Outcome,
    Recommendation,
    describe_errors,
    utc_now,
)
from strategy.recommend import recommend_task

COLUMNS = ["task", "n_human", "n_synthetic", "metric", "value", "higher_is_better", "regime", "human_eval", "cost",
           "run_id", "notes", "dataset_ids"]
REQUIRED = COLUMNS[:5]
TRUE_WORDS = {"true", "t", "yes", "y", "1"}
FALSE_WORDS = {"false", "f", "no", "n", "0"}
PROBLEMS_LISTED = 200


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
    before it is read."""
    return read_data_file(source, label=label, size=size, limit=upload_limit_bytes())


# --------------------------------------------------------------------------- validating
@dataclass
class Checked:
    """Rows ready to write (an Arrow table), what was skipped as already logged, and every problem found."""

    rows: pa.Table
    problems: list[Problem]
    skipped: int = 0
    tasks: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return self.rows.num_rows


# Strips what Python's str.strip strips (pydantic does the same for the form), not only spaces.
_SPACE = r"[\s\p{{Z}}\x0b\x1c-\x1f\x85]"
_TEXT = "coalesce(regexp_replace(CAST({c} AS VARCHAR), '^" + _SPACE + "+|" + _SPACE + "+$', '', 'g'), '')"
_FLAG = ("CASE WHEN lower({t}) IN ('true','t','yes','y','1') THEN true "
         "WHEN lower({t}) IN ('false','f','no','n','0') THEN false END")
_NUMBER = "TRY_CAST({t} AS DOUBLE)"

# Each check: (field, condition on the typed row, reason; {column} placeholders are the typed columns).
# They run as one SQL pass over the whole file: no Python loop over rows.
_CHECKS = [
    ("task", "task_text = ''", "'is required'"),
    ("task", "task_text <> '' AND task_id IS NULL", "'no task has the id or name ' || ('''' || task_text || '''')"),
    ("n_human", "n_human_text = ''", "'is required'"),
    ("n_human", "n_human_text <> '' AND n_human IS NULL", "'is not a number (got ' || ('''' || n_human_text || '''') || ')'"),
    ("n_human", "n_human < 0", "'must be 0 or more (got ' || n_human_text || ')'"),
    ("n_human", f"n_human > {MAX_SAMPLES}", "'is more samples than any dataset holds (at most 10^15; got ' || n_human_text || ')'"),
    ("n_human", "n_human >= 0 AND (NOT isfinite(n_human) OR n_human <> floor(n_human))",
     "'must be a whole number of samples (got ' || n_human_text || ')'"),
    ("n_synthetic", "n_synthetic_text = ''", "'is required'"),
    ("n_synthetic", "n_synthetic_text <> '' AND n_synthetic IS NULL",
     "'is not a number (got ' || ('''' || n_synthetic_text || '''') || ')'"),
    ("n_synthetic", "n_synthetic < 0", "'must be 0 or more (got ' || n_synthetic_text || ')'"),
    ("n_synthetic", f"n_synthetic > {MAX_SAMPLES}", "'is more samples than any dataset holds (at most 10^15; got ' || n_synthetic_text || ')'"),
    ("n_synthetic", "n_synthetic >= 0 AND (NOT isfinite(n_synthetic) OR n_synthetic <> floor(n_synthetic))",
     "'must be a whole number of samples (got ' || n_synthetic_text || ')'"),
    ("n_synthetic", "n_human = 0 AND n_synthetic = 0",
     "'n_human + n_synthetic must be above 0: a model trained on no data is not an outcome'"),
    ("metric", "metric = ''", "'is required'"),
    ("metric", "length(metric) > 200", "'is longer than 200 characters'"),
    ("metric", f"regexp_matches(metric, '{LINE_CONTROL}')", f"'{CONTROL_REASON.format(', tab or line break')}'"),
    ("run_id", f"regexp_matches(run_id, '{LINE_CONTROL}')", f"'{CONTROL_REASON.format(', tab or line break')}'"),
    ("notes", f"regexp_matches(notes, '{TEXT_CONTROL}')", f"'{CONTROL_REASON.format('')}'"),
    ("value", "value_text = ''", "'is required'"),
    ("value", "value_text <> '' AND value IS NULL", "'is not a number (got ' || ('''' || value_text || '''') || ')'"),
    ("value", "value IS NOT NULL AND NOT isfinite(value)", "'must be a finite number (got ' || ('''' || value_text || '''') || ')'"),
    ("cost", "cost_text <> '' AND cost IS NULL", "'is not a number (got ' || ('''' || cost_text || '''') || ')'"),
    ("cost", "cost IS NOT NULL AND (NOT isfinite(cost) OR cost < 0)", "'must be a finite number, 0 or more'"),
    ("higher_is_better", "higher_text <> '' AND higher_flag IS NULL",
     "'is not true/false (got ' || ('''' || higher_text || '''') || ')'"),
    ("human_eval", "human_eval_text <> '' AND human_eval_flag IS NULL",
     "'is not true/false (got ' || ('''' || human_eval_text || '''') || ')'"),
    ("regime", "regime_text <> '' AND NOT list_contains($regimes, regime_text)",
     "'must be one of ' || array_to_string($regimes, ', ') || ' (got ' || ('''' || regime_text || '''') || ')'"),
    ("run_id", "length(run_id) > 200", "'is longer than 200 characters'"),
    ("notes", "length(notes) > 20000", "'is longer than 20,000 characters'"),
    ("higher_is_better", "task_id IS NOT NULL AND directions_in_file > 1",
     "('''' || metric || '''') || ' is higher-is-better on some rows of this task and lower-is-better on others'"),
    ("higher_is_better", "task_id IS NOT NULL AND logged_direction IS NOT NULL AND logged_direction <> higher",
     "('''' || metric || '''') || ' is already logged for this task as ' || "
     "CASE WHEN logged_direction THEN 'higher' ELSE 'lower' END || '-is-better'"),
]


def _typed_sql(columns: list[str]) -> str:
    def text(name: str) -> str:
        return _TEXT.format(c=f'"{name}"') if name in columns else "''"

    return f"""
        WITH typed AS (
            SELECT __row AS row,
                {text("task")} AS task_text,
                {text("n_human")} AS n_human_text, {_NUMBER.format(t=text("n_human"))} AS n_human,
                {text("n_synthetic")} AS n_synthetic_text, {_NUMBER.format(t=text("n_synthetic"))} AS n_synthetic,
                {text("metric")} AS metric,
                {text("value")} AS value_text, {_NUMBER.format(t=text("value"))} AS value,
                {text("cost")} AS cost_text, {_NUMBER.format(t=text("cost"))} AS cost,
                {text("higher_is_better")} AS higher_text, {_FLAG.format(t=text("higher_is_better"))} AS higher_flag,
                {text("human_eval")} AS human_eval_text, {_FLAG.format(t=text("human_eval"))} AS human_eval_flag,
                {text("regime")} AS regime_text, {text("run_id")} AS run_id,
                {"coalesce(CAST(notes AS VARCHAR), '')" if "notes" in columns else "''"} AS notes,
                {text("dataset_ids")} AS dataset_ids_text
            FROM incoming_raw
        ), task_keys AS (
            SELECT id AS key, id, higher_is_better FROM tasks
            UNION ALL
            SELECT lower(trim(name)), id, higher_is_better FROM tasks
        ), resolved AS (
            -- A task is named by its id or by its name, ignoring case: one equi-join on either key.
            SELECT typed.*, task_keys.id AS task_id,
                coalesce(higher_flag, task_keys.higher_is_better, true) AS higher
            FROM typed LEFT JOIN task_keys ON task_keys.key = lower(typed.task_text)
        ), checked AS (
            SELECT resolved.*,
                max(higher::INT) OVER w - min(higher::INT) OVER w + 1 AS directions_in_file,
                logged.higher_is_better AS logged_direction
            FROM resolved
            LEFT JOIN (SELECT DISTINCT task_id, lower(metric) AS metric_key, higher_is_better
                       FROM outcomes WHERE NOT deleted) logged
                   ON logged.task_id = resolved.task_id AND logged.metric_key = lower(resolved.metric)
            WINDOW w AS (PARTITION BY resolved.task_id, lower(resolved.metric))
        )"""


def validate(catalog: Catalog, frame: pa.Table | pd.DataFrame, label: str, *,
             listed: int = PROBLEMS_LISTED) -> Checked:
    """Check every column of every row in one SQL pass, resolve tasks, and find rows already logged.

    Nothing is written here. Problems are listed up to ``listed``; their total is always counted.
    """
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    columns = table.column_names
    missing = [c for c in REQUIRED if c not in columns]
    unknown = [c for c in columns if c not in COLUMNS]
    problems = []
    if missing:
        problems.append(Problem(label, None, ", ".join(missing),
                                f"required column missing; expected columns: {', '.join(COLUMNS)} "
                                f"(the first five are required)"))
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        problems.append(Problem(label, None, ", ".join(repeated), "appears more than once in the header"))
    if unknown:
        problems.append(Problem(label, None, ", ".join(unknown),
                                f"unknown column; expected columns: {', '.join(COLUMNS)}"))
    if problems:
        return Checked(pa.table({}), problems)
    raw = table.append_column("__row", pa.array(np.arange(1, table.num_rows + 1)))
    typed = _typed_sql(columns)
    failures = " UNION ALL ".join(
        f"SELECT row, '{name}' AS field, {reason} AS reason FROM checked_rows WHERE {condition}"
        for name, condition, reason in _CHECKS)
    with catalog.cursor() as cur:
        cur.register("incoming_raw", raw)
        try:
            # Materialise the typed rows once; every check and the clean rows then read that table.
            cur.execute(f"CREATE OR REPLACE TEMP TABLE checked_rows AS {typed} SELECT * FROM checked")
            # The failures are counted apart from the listing: a window count over an empty result trips an
            # intermittent internal error in DuckDB 1.5.5.
            cur.execute(f"CREATE OR REPLACE TEMP TABLE failed_rows AS {failures}", {"regimes": list(REGIMES)})
            total = cur.execute("SELECT count(*) FROM failed_rows").fetchone()[0]
            if total:
                found = cur.execute("SELECT row, field, reason FROM failed_rows ORDER BY row, field LIMIT ?",
                                    [listed]).fetchall()
                problems = [Problem(label, row, name, reason) for row, name, reason in found]
                if total > listed:
                    problems.append(Problem(label, None, "file", f"… {total - listed:,} more problems"))
                return Checked(pa.table({}), problems)
            clean = cur.execute("""
                WITH fresh AS (
                    SELECT *, CASE WHEN run_id <> '' THEN 'run:' || task_id || ':' || run_id
                              ELSE 'content:' || md5(concat_ws('|', task_id, n_human, n_synthetic, lower(metric),
                                                               value, regime_text, notes)) END AS fingerprint
                    FROM checked_rows),
                logged AS (SELECT DISTINCT fingerprint FROM outcomes WHERE fingerprint IS NOT NULL)
                SELECT task_id, run_id, CAST(n_human AS BIGINT) AS n_human,
                       CAST(n_synthetic AS BIGINT) AS n_synthetic,
                       CASE WHEN regime_text <> '' THEN regime_text WHEN n_synthetic = 0 THEN 'human_only'
                            WHEN n_human = 0 THEN 'synthetic_only' ELSE 'mixed' END AS regime,
                       metric, value, higher AS higher_is_better, coalesce(human_eval_flag, true) AS human_eval,
                       coalesce(cost, 0.0) AS cost, dataset_ids_text, notes, fresh.fingerprint,
                       (row_number() OVER (PARTITION BY fresh.fingerprint ORDER BY row) = 1
                        AND logged.fingerprint IS NULL) AS is_new
                FROM fresh LEFT JOIN logged ON logged.fingerprint = fresh.fingerprint
                ORDER BY row""").to_arrow_table()
        finally:
            cur.unregister("incoming_raw")
            cur.execute("DROP TABLE IF EXISTS checked_rows")
            cur.execute("DROP TABLE IF EXISTS failed_rows")
    is_new = clean.column("is_new")
    rows = clean.filter(is_new).drop_columns(["is_new"])
    tasks = sorted(set(clean.column("task_id").unique().to_pylist()))
    return Checked(rows, [], skipped=clean.num_rows - rows.num_rows, tasks=tasks)


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
    skipped: int
    changes: list[Change]


def commit(catalog: Catalog, checked: Checked, *, actor: str | None = None, source: str = "measured",
           label: str = "") -> int:
    """Write checked rows in one transaction, or raise ImportRejected with every problem and write nothing."""
    if checked.problems:
        raise ImportRejected(checked.problems)
    actor = actor or catalog.actor
    return catalog.append_outcomes(checked.rows, actor=actor, source=source, created_at=utc_now(), label=label)


def recompute(catalog: Catalog, task_ids: list[str], *, actor: str | None = None, progress=None) -> list[Change]:
    """Recompute these tasks' recommendations and report each one's before → after."""
    changes = []
    for task_id in task_ids:
        before = catalog.latest_recommendation(task_id)
        task = catalog.task(task_id)
        try:
            after = recommend_task(catalog, task_id, actor=actor)
            changes.append(Change(task_id, task.name, before[0] if before else None, after))
        except Exception as error:  # a task that cannot be decided keeps its old answer, and says why
            changes.append(Change(task_id, task.name, before[0] if before else None, None, str(error)))
        if progress:
            progress(1)
    return changes


def log_file(catalog: Catalog, source, *, label: str | None = None, actor: str | None = None,
             recompute_after: bool = True, progress=None) -> LogResult:
    """Read, check, write (all or nothing) and recompute: the whole bulk path."""
    label, frame = read_outcome_file(source, label=label)
    checked = validate(catalog, frame, label)
    written = commit(catalog, checked, actor=actor, label=label)
    changes = recompute(catalog, checked.tasks, actor=actor, progress=progress) if recompute_after and written else []
    return LogResult(written, checked.skipped, changes)


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
        checked = validate(opened, frame, "log_outcome")
        written = commit(opened, checked, actor=actor)
        changes = recompute(opened, checked.tasks, actor=actor) if written else []
        return LogResult(written, checked.skipped, changes)
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
