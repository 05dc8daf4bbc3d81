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

import hashlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from strategy.catalog import Catalog, current_actor
from strategy.errors import ImportRejected, Problem
from strategy.models import REGIMES, Recommendation, utc_now

COLUMNS = ["task", "n_human", "n_synthetic", "metric", "value", "higher_is_better", "regime", "human_eval", "cost",
           "run_id", "notes", "dataset_ids"]
REQUIRED = COLUMNS[:5]
UPLOAD_LIMIT_ENV = "STRATEGY_MAX_UPLOAD_MB"
DEFAULT_UPLOAD_LIMIT_MB = 50
TRUE_WORDS = {"true", "t", "yes", "y", "1"}
FALSE_WORDS = {"false", "f", "no", "n", "0"}
PROBLEMS_LISTED = 200


def upload_limit_bytes() -> int:
    """The same limit as the app's upload widget (.streamlit/config.toml), overridable for the CLI."""
    return int(float(os.environ.get(UPLOAD_LIMIT_ENV, DEFAULT_UPLOAD_LIMIT_MB)) * 1024 * 1024)


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
def _format_of(label: str, head: bytes) -> str:
    suffix = Path(label).suffix.lower()
    if suffix == ".parquet" or head.startswith(b"PAR1"):
        return "parquet"
    if suffix in {".jsonl", ".ndjson", ".json"} or head.lstrip()[:1] in (b"{", b"["):
        return "jsonl"
    return "csv"


def read_outcome_file(source: str | Path | IO[bytes], *, label: str | None = None,
                      size: int | None = None) -> tuple[str, pd.DataFrame]:
    """Read a CSV, Parquet or JSON-lines file (a path, a byte stream, or ``-`` for stdin) into text-ish columns.

    A file over the upload limit is refused before it is read.
    """
    limit = upload_limit_bytes()
    if isinstance(source, (str, Path)):
        label = label or str(source)
        try:
            size = Path(source).stat().st_size
        except OSError as error:
            raise ImportRejected([Problem(label, None, "file", f"cannot be read: {error.strerror}")]) from None
        if size > limit:
            raise _too_large(label, size, limit)
        raw = Path(source).read_bytes()
    else:
        label = label or getattr(source, "name", "<stdin>")
        if size is not None and size > limit:
            raise _too_large(label, size, limit)
        raw = source.read(limit + 1)
        if len(raw) > limit:
            raise _too_large(label, len(raw), limit)
    if not raw.strip():
        raise ImportRejected([Problem(label, None, "file", "is empty")])
    fmt = _format_of(label, raw[:64])
    if fmt == "parquet":
        try:
            table = pq.read_table(io.BytesIO(raw))
        except (pa.ArrowInvalid, OSError) as error:
            raise ImportRejected([Problem(label, None, "file", f"is not a readable Parquet file: {error}")]) from None
        frame = table.to_pandas()
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ImportRejected([Problem(
                label, None, "file",
                f"is not UTF-8 text (byte 0x{raw[error.start]:02x} at position {error.start}); save it as UTF-8",
            )]) from None
        try:
            if fmt == "csv":
                frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
            else:
                stripped = text.strip()
                frame = (pd.read_json(io.StringIO(stripped), dtype=False) if stripped.startswith("[")
                         else pd.read_json(io.StringIO(stripped), lines=True, dtype=False))
        except ValueError as error:
            kind = "CSV" if fmt == "csv" else "JSON lines"
            raise ImportRejected([Problem(label, None, "file", f"is not valid {kind}: {error}")]) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise ImportRejected([Problem(label, None, "file", "has a header but no rows")])
    return label, frame


def _too_large(label: str, size: int, limit: int) -> ImportRejected:
    return ImportRejected([Problem(label, None, "file", f"is {size / 1e6:,.1f} MB, over the upload limit of "
                                                        f"{limit / 1e6:,.0f} MB; split it into smaller files")])


# --------------------------------------------------------------------------- validating
@dataclass
class Checked:
    """Rows ready to write, what was skipped as already logged, and every problem found."""

    rows: pd.DataFrame
    problems: list[Problem]
    skipped: int = 0
    tasks: list[str] = field(default_factory=list)


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series([""] * len(frame), index=frame.index, dtype=object)
    values = frame[column]
    return values.where(values.notna(), "").astype(str).str.strip()


def _flags(frame, column, label, problems, default) -> pd.Series:
    raw = _text(frame, column).str.lower()
    parsed = pd.Series(np.where(raw.isin(TRUE_WORDS), True, np.where(raw.isin(FALSE_WORDS), False, None)),
                       index=frame.index, dtype=object)
    bad = (raw != "") & parsed.isna()
    _report(problems, label, bad, column, lambda i: f"is not true/false (got {raw[i]!r})")
    return parsed.where(raw != "", default)


def _numbers(frame, column, label, problems, *, required: bool) -> pd.Series:
    raw = frame[column] if column in frame else pd.Series([None] * len(frame), index=frame.index)
    text = raw.where(raw.notna(), "").astype(str).str.strip()
    numbers = pd.to_numeric(text.where(text != "", None), errors="coerce")
    bad = (text != "") & numbers.isna() & ~text.str.lower().isin({"nan", "+nan", "-nan"})
    _report(problems, label, bad, column, lambda i: f"is not a number (got {text[i]!r})")
    if required:
        _report(problems, label, text == "", column, lambda i: "is required")
    return numbers.astype(float)


def _report(problems: list[Problem], label: str, mask: pd.Series, column: str, reason) -> None:
    for position in np.flatnonzero(mask.to_numpy(dtype=bool))[:PROBLEMS_LISTED]:
        index = mask.index[position]
        problems.append(Problem(label, int(position) + 1, column, reason(index)))


def validate(catalog: Catalog, frame: pd.DataFrame, label: str) -> Checked:
    """Check every column at once and resolve tasks; nothing is written here."""
    frame = frame.reset_index(drop=True)
    problems: list[Problem] = []
    missing = [c for c in REQUIRED if c not in frame.columns]
    unknown = [c for c in frame.columns if c not in COLUMNS]
    if missing:
        problems.append(Problem(label, None, ", ".join(missing),
                                f"required column missing; expected columns: {', '.join(COLUMNS)} "
                                f"(the first five are required)"))
    if unknown:
        problems.append(Problem(label, None, ", ".join(unknown),
                                f"unknown column; expected columns: {', '.join(COLUMNS)}"))
    if problems:
        return Checked(frame.iloc[0:0], problems)

    tasks = catalog.tasks(include_archived=True)
    by_id = dict(zip(tasks["id"], tasks["id"], strict=True))
    by_name = dict(zip(tasks["name"].str.strip().str.lower(), tasks["id"], strict=True))
    direction = dict(zip(tasks["id"], tasks["higher_is_better"], strict=True))
    reference = _text(frame, "task")
    task_id = reference.map(by_id).fillna(reference.str.lower().map(by_name))
    _report(problems, label, reference == "", "task", lambda i: "is required")
    _report(problems, label, (reference != "") & task_id.isna(), "task",
            lambda i: f"no task has the id or name {reference[i]!r}")

    n_human = _numbers(frame, "n_human", label, problems, required=True)
    n_synthetic = _numbers(frame, "n_synthetic", label, problems, required=True)
    for column, numbers in (("n_human", n_human), ("n_synthetic", n_synthetic)):
        _report(problems, label, numbers < 0, column, lambda i, n=numbers: f"must be 0 or more (got {n[i]:g})")
        _report(problems, label, (numbers >= 0) & (numbers % 1 != 0), column,
                lambda i, n=numbers: f"must be a whole number of samples (got {n[i]:g})")
    _report(problems, label, (n_human == 0) & (n_synthetic == 0), "n_synthetic",
            lambda i: "n_human + n_synthetic must be above 0: a model trained on no data is not an outcome")
    value = _numbers(frame, "value", label, problems, required=True)
    value_text = _text(frame, "value")
    _report(problems, label, (value_text != "") & ~np.isfinite(value.fillna(np.inf)) & ~value.isna()
            | (value_text.str.lower().isin({"nan", "+nan", "-nan"})), "value",
            lambda i: f"must be a finite number (got {value_text[i]!r})")
    cost = _numbers(frame, "cost", label, problems, required=False)
    _report(problems, label, cost < 0, "cost", lambda i: f"must be 0 or more (got {cost[i]:g})")
    _report(problems, label, ~np.isfinite(cost.fillna(0)), "cost", lambda i: "must be a finite number")

    metric = _text(frame, "metric")
    _report(problems, label, metric == "", "metric", lambda i: "is required")
    _report(problems, label, metric.str.len() > 200, "metric", lambda i: "is longer than 200 characters")
    regime = _text(frame, "regime")
    _report(problems, label, (regime != "") & ~regime.isin(REGIMES), "regime",
            lambda i: f"must be one of {', '.join(REGIMES)} (got {regime[i]!r})")
    run_id = _text(frame, "run_id")
    _report(problems, label, run_id.str.len() > 200, "run_id", lambda i: "is longer than 200 characters")
    notes = frame["notes"].where(frame["notes"].notna(), "").astype(str) if "notes" in frame else _text(frame, "x")
    _report(problems, label, notes.str.len() > 20_000, "notes", lambda i: "is longer than 20,000 characters")
    task_direction = task_id.map(direction).where(task_id.notna(), True).astype(bool)
    higher = _flags(frame, "higher_is_better", label, problems, None)
    higher = higher.where(higher.notna(), task_direction).astype(bool)
    human_eval = _flags(frame, "human_eval", label, problems, True).astype(bool)
    datasets = _text(frame, "dataset_ids")

    # One metric, one direction: within the file, and against what is already logged for the task.
    key = task_id.fillna("") + "\x1f" + metric.str.lower()
    mixed = pd.Series(higher.values, index=key.values).groupby(level=0).nunique()
    clash = key.map(mixed).fillna(1) > 1
    _report(problems, label, clash & task_id.notna(), "higher_is_better",
            lambda i: f"{metric[i]!r} is higher-is-better on some rows of this task and lower-is-better on others")
    stored = catalog.outcome_directions()
    if not stored.empty:
        known = dict(zip(stored["task_id"] + "\x1f" + stored["metric"], stored["higher_is_better"], strict=True))
        logged = key.map(known)
        _report(problems, label, logged.notna() & (logged != higher) & task_id.notna(), "higher_is_better",
                lambda i: f"{metric[i]!r} is already logged for this task as "
                          f"{'higher' if known[key[i]] else 'lower'}-is-better")
    if problems:
        problems.sort(key=lambda p: (p.row or 0, p.field))
        return Checked(frame.iloc[0:0], problems)

    derived = np.where(n_synthetic == 0, "human_only", np.where(n_human == 0, "synthetic_only", "mixed"))
    rows = pd.DataFrame({
        "task_id": task_id.astype(str), "run_id": run_id, "n_human": n_human.astype("int64"),
        "n_synthetic": n_synthetic.astype("int64"), "regime": regime.where(regime != "", derived),
        "metric": metric, "value": value, "higher_is_better": higher, "human_eval": human_eval,
        "cost": cost.fillna(0.0), "dataset_ids": datasets.map(lambda s: [p.strip() for p in s.split(",") if p.strip()]),
        "notes": notes,
    })
    rows["fingerprint"] = _fingerprints(rows)
    fresh = _not_yet_logged(catalog, rows)
    return Checked(rows[fresh].reset_index(drop=True), [], skipped=int((~fresh).sum()),
                   tasks=sorted(rows["task_id"].unique()))


def _fingerprints(rows: pd.DataFrame) -> pd.Series:
    """A run id when the row has one; otherwise a digest of what the row says, so a re-import is recognised."""
    content = (rows["task_id"] + "|" + rows["n_human"].astype(str) + "|" + rows["n_synthetic"].astype(str) + "|"
               + rows["metric"].str.lower() + "|" + rows["value"].map(repr) + "|" + rows["regime"] + "|"
               + rows["notes"])
    digests = content.map(lambda text: "sha1:" + hashlib.sha1(text.encode()).hexdigest())
    return ("run:" + rows["task_id"] + ":" + rows["run_id"]).where(rows["run_id"] != "", digests)


def _not_yet_logged(catalog: Catalog, rows: pd.DataFrame) -> pd.Series:
    first_in_file = ~rows["fingerprint"].duplicated()
    logged = catalog.logged_fingerprints(rows["fingerprint"].unique().tolist())
    return first_in_file & ~rows["fingerprint"].isin(logged)


# ------------------------------------------------------------------------------ writing
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


def commit(catalog: Catalog, checked: Checked, *, actor: str | None = None, source: str = "measured") -> int:
    """Write checked rows in one transaction, or raise ImportRejected with every problem and write nothing."""
    if checked.problems:
        raise ImportRejected(checked.problems)
    actor = actor or current_actor()
    frame = checked.rows.assign(source=source, deleted=False, created_by=actor, created_at=utc_now())
    return catalog.append_outcomes(frame, actor=actor)


def recompute(catalog: Catalog, task_ids: list[str], *, actor: str | None = None, progress=None) -> list[Change]:
    """Recompute these tasks' recommendations and report each one's before → after."""
    from strategy.recommend import recommend_task  # recommend builds on this module's neighbours

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
    written = commit(catalog, checked, actor=actor)
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
