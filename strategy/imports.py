"""Importing runs from experiment trackers: preview what a mapping makes of them, then write all or nothing.

The preview sorts every run into one of five kinds, so a researcher sees what would happen before anything
does: **import** (new), **skip** (already logged, identical), **changed** (logged before, and the tracker now
reads other values: reported, never written over or duplicated, since a re-run of a training job is not the
same outcome), **refused** (with the key and the reason) and **left out** (by the mapping's state and tag
filters). An import writes through the one outcome write path (strategy.outcomes.log_checked), so it is
checked, audited (with the source and the mapping) and recomputed like a file upload; with any run refused,
nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from strategy.catalog import Catalog
from strategy.errors import ImportRejected, Problem
from strategy.ingest import inert
from strategy.outcome_checks import COLUMNS, Checked, validate
from strategy.outcomes import LogResult, log_checked
from strategy.trackers import RunMapping, TaskTarget, TrackedRun, map_runs, task_targets

KINDS = ("import", "skip", "changed", "refused", "left out")
# Each source's note on the outcomes it imports. It names the run, never the file it came in: a run without a
# run id is known by its content, notes included, so the same run uploaded on the page or imported from a
# renamed file by the CLI must read the same to be recognised as logged.
NOTES = {"mlflow": "mlflow run {name} in experiment {experiment}", "wandb": "wandb run {name}",
         "dvc": "dvc experiment {name}", "table": "run {name}"}
RUN_COLUMNS = ["run", "name", "task", "n_human", "n_synthetic", "value", "status", "reason"]


@dataclass
class ImportPreview:
    """What importing these runs with this mapping would do, run by run."""

    source: str
    label: str
    mapping: RunMapping
    runs: pd.DataFrame  # RUN_COLUMNS, one row per run read
    checked: Checked | None
    refused: list[Problem] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return int((self.runs["status"] == kind).sum()) if not self.runs.empty else 0

    @property
    def counts(self) -> dict[str, int]:
        return {kind: self.count(kind) for kind in KINDS}

    def summary(self) -> str:
        """One line: how many runs of each kind."""
        counts = self.counts
        return (f"{len(self.runs):,} runs read from {self.label}: {counts['import']:,} to import, "
                f"{counts['skip']:,} already logged, {counts['changed']:,} changed since logged (not imported), "
                f"{counts['refused']:,} refused, {counts['left out']:,} left out by the filters.")


@dataclass
class ImportResult:
    preview: ImportPreview
    logged: LogResult


def _targets(catalog: Catalog) -> dict[str, TaskTarget]:
    tasks = catalog.tasks(include_archived=True)
    return task_targets(TaskTarget(row.id, row.name, row.metric, bool(row.higher_is_better))
                        for row in tasks.itertuples())


def _logged_runs(catalog: Catalog, rows: list[dict]) -> dict[tuple[str, str], dict]:
    """The stored outcome of each (task, run id) among these rows, deleted ones included: a run a researcher
    deleted stays deleted on the next sync."""
    keyed = {(row["task"], row["run_id"]) for row in rows if row["run_id"]}
    if not keyed:
        return {}
    stored = catalog.outcomes(task_ids=sorted({task for task, _ in keyed}), include_deleted=True)
    stored = stored[stored["run_id"].isin({run for _, run in keyed})]
    return {(row.task_id, row.run_id): {"n_human": int(row.n_human), "n_synthetic": int(row.n_synthetic),
                                        "metric": row.metric, "value": float(row.value), "deleted": bool(row.deleted)}
            for row in stored.itertuples()}


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:  # not a number: it differs from every stored one
        return float("nan")


def _changes(row: dict, stored: dict) -> list[str]:
    """Where a tracker's run now differs from its logged outcome."""
    differing = [f"{name} {stored[name]} → {row[name]}" for name in ("n_human", "n_synthetic")
                 if _number(row[name]) != stored[name]]
    value = _number(row["value"])
    if not abs(value - stored["value"]) <= 1e-12 * max(1.0, abs(value)):
        differing.append(f"value {stored['value']:g} → {row['value']}")
    if row["metric"].lower() != stored["metric"].lower():
        differing.append(f"metric {stored['metric']} → {row['metric']}")
    return differing


def preview_runs(catalog: Catalog, runs: Sequence[TrackedRun], mapping: RunMapping, *, source: str, label: str,
                 notes: str | None = None) -> ImportPreview:
    """Map and check runs without writing: each run's kind (see the module's docstring) and the rows to write.

    ``label`` names the source in every message (``mlflow experiment 'x'``); each imported outcome's note is the
    source's (NOTES), unless ``notes`` gives another (``{name}`` and ``{experiment}`` are the run's)."""
    targets = _targets(catalog)
    names = {target.id: target.name for target in targets.values()}
    mapped = map_runs(runs, mapping, targets, label=label, notes=NOTES.get(source, "") if notes is None else notes)
    stored = _logged_runs(catalog, mapped.rows)
    listed: list[dict] = []
    fresh, fresh_runs = [], []
    for run, row in zip(mapped.runs, mapped.rows, strict=True):
        shown = {"run": run.run_id, "name": run.name, "task": names.get(row["task"], row["task"]),
                 "n_human": row["n_human"], "n_synthetic": row["n_synthetic"], "value": row["value"]}
        logged = stored.get((row["task"], row["run_id"]))
        if logged is None:
            fresh.append(row)
            fresh_runs.append((run, shown))
            continue
        differing = _changes(row, logged)
        if differing:
            listed.append({**shown, "status": "changed",
                           "reason": "logged before with other values (" + "; ".join(differing) + "); the logged "
                                     "outcome is kept: edit it, or log the re-run under a new run id"})
        else:
            listed.append({**shown, "status": "skip",
                           "reason": "already logged" + (" (and deleted here)" if logged["deleted"] else "")})
    refused = [problem for _, problem in mapped.refused]
    listed += [{"run": run.run_id, "name": run.name, "task": "", "n_human": "", "n_synthetic": "", "value": "",
                "status": "refused", "reason": f"{problem.field}: {problem.reason}"} for run, problem in mapped.refused]
    listed += [{"run": run.run_id, "name": run.name, "task": "", "n_human": "", "n_synthetic": "", "value": "",
                "status": "left out", "reason": f"state {run.state}" if run.state.upper() not in mapping.states
                else "lacks a tag the mapping asks for"} for run in mapped.left_out]
    checked = None
    if fresh:
        checked = validate(catalog, pd.DataFrame(fresh, columns=COLUMNS), label)
        found = _by_run(checked.problems, fresh_runs, label)
        refused += [problem for problems in found.values() for problem in problems]
        refused += [problem for problem in checked.problems if problem.row is None]
        logged_rows = set(checked.logged_rows)
        for position, (_run, shown) in enumerate(fresh_runs, start=1):
            if position in found:
                listed.append({**shown, "status": "refused",
                               "reason": "; ".join(f"{p.field}: {p.reason}" for p in found[position])})
            elif checked.problems:
                listed.append({**shown, "status": "import", "reason": "(waits for the refused runs)"})
            else:
                kind = "skip" if position in logged_rows else "import"
                listed.append({**shown, "status": kind, "reason": "already logged" if kind == "skip" else ""})
    table = pd.DataFrame(listed, columns=RUN_COLUMNS)
    order = {kind: i for i, kind in enumerate(KINDS)}
    table = table.sort_values("status", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    return ImportPreview(source, label, mapping, table, checked, refused)


def _by_run(problems: list[Problem], fresh_runs: list, label: str) -> dict[int, list[Problem]]:
    """The checks' problems by the position of the run they are about, each relabelled with its run id."""
    found: dict[int, list[Problem]] = {}
    for problem in problems:
        if problem.row is None or not 1 <= problem.row <= len(fresh_runs):
            continue
        run = fresh_runs[problem.row - 1][0]
        where = f"{label} run {inert(run.run_id)!r}" if run.run_id else label
        found.setdefault(problem.row, []).append(
            Problem(where, None if run.run_id else problem.row, problem.field, problem.reason))
    return found


def import_runs(catalog: Catalog, preview: ImportPreview, *, actor: str | None = None,
                progress=None) -> ImportResult:
    """Write the preview's new runs in one transaction and recompute their tasks; with any run refused, raise
    ImportRejected (naming each run, key and reason) and write nothing."""
    if preview.refused:
        raise ImportRejected(preview.refused)
    checked = preview.checked
    if checked is None or checked.count == 0:
        return ImportResult(preview, LogResult(0, preview.count("skip"), []))
    details = {"source": preview.source, "mapping": preview.mapping.described(),
               "changed_runs": preview.count("changed")}
    logged = log_checked(catalog, checked, label=preview.label, actor=actor, progress=progress, details=details)
    return ImportResult(preview, LogResult(logged.written, preview.count("skip"), logged.changes, logged.duplicates))


def mapping_for(catalog: Catalog, source: str, name: str, given: RunMapping | None = None) -> RunMapping:
    """The mapping to use: the one given, else the one saved for this source and name, else the default."""
    return given or catalog.run_mapping(source, name) or RunMapping()


def offered_keys(runs: Sequence[TrackedRun]) -> dict[str, list[str]]:
    """The keys these runs carry, as a mapping may name them: parameters bare, tags and metrics prefixed."""
    params = sorted({key for run in runs for key in run.params})
    tags = sorted({f"tags.{key}" for run in runs for key in run.tags if not key.startswith("mlflow.")})
    metrics = sorted({f"metrics.{key}" for run in runs for key in run.metrics})
    return {"params": params, "tags": tags, "metrics": metrics}


def read_uploaded_runs(source: str, data: bytes, name: str) -> tuple[str, list[TrackedRun]]:
    """Runs from an uploaded file: a W&B offline-run archive (.zip, .tar.gz), a DVC `exp show --json` file, or a
    run table (CSV, Parquet, JSON lines; W&B's runs-table CSV is one). Returns the label and the runs."""
    import io

    if source == "wandb" and not name.lower().endswith(".csv"):  # W&B's runs-table export is a run table
        from strategy.trackers.wandb_runs import read_wandb_archive
        return f"wandb archive {inert(name)!r}", read_wandb_archive(data, name)
    if source == "dvc":
        from strategy.trackers.dvc_runs import read_dvc_experiments
        return f"dvc experiments {inert(name)!r}", read_dvc_experiments(data, name)
    from strategy.trackers.table_runs import read_run_table
    label, runs = read_run_table(io.BytesIO(data), label=name, size=len(data))
    return f"run table {inert(label)!r}", runs
