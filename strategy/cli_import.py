"""``strategy import``: outcomes from the trackers researchers already log to (MLflow, W&B, DVC, run tables).

Each subcommand reads runs its own way and hands them to one function that previews, imports (all or
nothing) and, with ``--watch``, pulls new runs on a schedule. Registered on the main group by strategy.cli.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import click
from pydantic import ValidationError

from strategy.errors import ImportRejected, StrategyError
from strategy.imports import ImportPreview, import_runs, mapping_for, preview_runs
from strategy.ingest import inert, read_bytes
from strategy.models import describe_errors
from strategy.outcomes import changes_table
from strategy.trackers import RunMapping, TrackedRun

SHOWN_RUNS = 20
MAPPING_LIMIT_BYTES = 100_000  # a mapping is a few hundred bytes
# A watching MLflow sync asks only for runs that ended since its last look (less this margin, for clocks that
# disagree), and reads every run again each FULL_EVERY-th sync, to see runs changed after they ended.
SINCE_MARGIN_SECONDS = 600
FULL_EVERY = 12


def load_mapping(path: str | None, task: str | None) -> RunMapping | None:
    """A mapping from a JSON file (any RunMapping fields; the rest default), with ``--task`` on top."""
    if not path and not task:
        return None
    fields = {}
    if path:
        # Read as any file the CLI takes: a regular file, never past the limit (a device or a pipe is refused).
        _, data = read_bytes(Path(path), path, limit=MAPPING_LIMIT_BYTES, what="limit of {limit} for a mapping")
        try:
            fields = json.loads(data)
        except ValueError as error:
            raise StrategyError(f"Mapping file {inert(path)!r} cannot be read as JSON: {inert(str(error))}") from None
        if not isinstance(fields, dict):
            raise StrategyError(f"Mapping file {inert(path)!r} must hold one JSON object of mapping fields "
                                "(under 100 kB).")
    if task:
        fields["task"] = task
    try:
        return RunMapping(**fields)
    except ValidationError as error:
        reasons = "; ".join(f"{name}: {reason}" for name, reason in describe_errors(error))
        raise StrategyError(f"Mapping {inert(path or '--task')!r} is not valid: {reasons}") from None
    except TypeError as error:
        raise StrategyError(f"Mapping {inert(path)!r} is not valid: {inert(str(error))}") from None


def mapping_options(command):
    """The options every import subcommand shares."""
    options = [
        click.option("--map", "map_file", type=click.Path(dir_okay=False),
                     help="JSON file of mapping fields (n_human_key, n_synthetic_key, task_key, task, share_key, "
                          "total_key, metric_key, higher_is_better, step, at_step, cost_key, states, tags); "
                          "default: the mapping saved for this source, else parameters n_human, n_synthetic and "
                          "task and the task's metric."),
        click.option("--task", help="Import the runs into this task (id or name); a run that names another task is refused."),
        click.option("--save-map", is_flag=True, help="Keep the mapping used in the catalog for the next import."),
        click.option("--dry-run", is_flag=True, help="Show what would be imported, skipped or refused; write nothing."),
        click.option("--watch", type=click.FloatRange(min=1), metavar="SECONDS",
                     help="Keep running: import new runs every SECONDS until stopped (Ctrl-C)."),
        click.option("--times", type=click.IntRange(min=1), hidden=True,
                     help="With --watch: stop after this many syncs (for tests and one-off cron runs)."),
        click.option("--json", "as_json", is_flag=True, help="Print the preview and what changed as JSON."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _show(preview: ImportPreview, *, as_json: bool, written: int | None = None, changes=None) -> None:
    from strategy.cli import say

    table = changes_table(changes or [])
    if as_json:
        say(json.dumps({"source": preview.source, "label": preview.label, "mapping": preview.mapping.model_dump(),
                        "counts": preview.counts, "written": written, "runs": preview.runs.to_dict(orient="records"),
                        "changes": table.to_dict(orient="records")}, indent=2, default=str), is_json=True)
        return
    say(preview.summary())
    notable = preview.runs[preview.runs["status"].isin(["refused", "changed"])]
    if not notable.empty:
        say(notable.head(SHOWN_RUNS)[["run", "name", "status", "reason"]].to_string(index=False))
        if len(notable) > SHOWN_RUNS:
            say(f"… and {len(notable) - SHOWN_RUNS:,} more (--json lists every run)")
    if written is None:
        say("Dry run: nothing was written.")
        return
    say(f"{written:,} {'outcome' if written == 1 else 'outcomes'} written.")
    if not table.empty:
        say(table.to_string(index=False))


def run_import(ctx: click.Context, *, source: str, name: str, label: str,
               read: Callable[[RunMapping, float | None], list[TrackedRun]], map_file: str | None, task: str | None,
               save_map: bool, dry_run: bool, watch: float | None, times: int | None, as_json: bool) -> None:
    """Preview and import (or only preview) once, or every ``watch`` seconds."""
    from strategy.cli import _open, say

    catalog = _open(ctx)
    given = load_mapping(map_file, task)
    mapping = mapping_for(catalog, source, name, given)
    if save_map:
        catalog.save_run_mapping(source, name, mapping)
        say(f"Saved the mapping for {source} {name!r}: {mapping.described()}.")
    syncs, since = 0, None
    while True:
        syncs += 1
        started = time.time()
        full = since is None or syncs % FULL_EVERY == 1
        try:
            runs = read(mapping, None if full else since)
            preview = preview_runs(catalog, runs, mapping, source=source,
                                   label=label if full else f"{label} (runs ended since the last sync)")
            if dry_run:
                _show(preview, as_json=as_json)
                if preview.refused:
                    raise ImportRejected(preview.refused)
            else:
                result = import_runs(catalog, preview)
                _show(preview, as_json=as_json, written=result.logged.written, changes=result.logged.changes)
                since = started - SINCE_MARGIN_SECONDS
        except StrategyError as error:
            if not watch:
                raise
            # A sync that fails (a server down for a moment, a run refused) is said, and the next one tries again.
            say(f"Error: {error}", err=True)
        if not watch or (times is not None and syncs >= times):
            return
        try:
            time.sleep(watch)
        except KeyboardInterrupt:
            say("Stopped watching.")
            return


@click.group("import")
def import_group() -> None:
    """Import outcomes from MLflow, Weights & Biases, DVC or a run table (each run once, all or nothing).

    A run's id becomes the outcome's run id, so importing again adds only new runs; a run whose values
    changed since it was logged is reported, not written. To sync on a schedule, use --watch SECONDS, or cron
    lines such as these (hourly, reading the runs that ended since the last hour; nightly, reading them all):

    \b
    0 * * * *  strategy import mlflow --tracking-uri URI --experiment NAME --ended-within 70
    30 2 * * *  strategy import mlflow --tracking-uri URI --experiment NAME
    """


@import_group.command("mlflow")
@click.option("--tracking-uri", required=True, metavar="URI",
              help="MLflow tracking URI: sqlite:///mlflow.db, a folder of runs, http://host:5000, databricks…")
@click.option("--experiment", required=True, help="Experiment name (or id).")
@click.option("--ended-within", type=click.FloatRange(min=1), metavar="MINUTES",
              help="Read only runs that ended in the last MINUTES (for a frequent cron line: a little more than its "
                   "interval); without it every run is read, which also finds runs changed after they ended.")
@mapping_options
@click.pass_context
def import_mlflow(ctx: click.Context, tracking_uri: str, experiment: str, ended_within: float | None,
                  **options) -> None:
    """Import the runs of one MLflow experiment, read through MLflow's own client."""
    from strategy.trackers.mlflow_runs import read_mlflow_runs

    def read(mapping, since):
        if ended_within is not None:
            since = max(since or 0.0, time.time() - 60 * ended_within)
        return read_mlflow_runs(tracking_uri, experiment, mapping, ended_after=since)
    label = f"mlflow experiment {inert(experiment)!r}"
    run_import(ctx, source="mlflow", name=experiment,
               label=label + (f" (runs ended in the last {ended_within:g} minutes)" if ended_within else ""),
               read=read, **options)


@import_group.command("wandb")
@click.argument("folder", type=click.Path(exists=True))
@click.option("--name", default="", help="Name the saved mapping is kept under (default: none).")
@mapping_options
@click.pass_context
def import_wandb(ctx: click.Context, folder: str, name: str, **options) -> None:
    """Import W&B runs from a wandb folder of offline runs (offline-run-*), or from the CSV the W&B runs table
    exports (a .csv file)."""
    if Path(folder).is_file():
        read = _table_reader(folder)
    else:
        from strategy.trackers.wandb_runs import read_wandb_runs

        def read(mapping, since):
            return read_wandb_runs(folder)
    run_import(ctx, source="wandb", name=name, label=f"wandb {inert(Path(folder).name)!r}", read=read, **options)


@import_group.command("dvc")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--name", default="", help="Name the saved mapping is kept under (default: none).")
@mapping_options
@click.pass_context
def import_dvc(ctx: click.Context, source: str, name: str, **options) -> None:
    """Import DVC experiments from the JSON of `dvc exp show --json` (a file, or - for standard input)."""
    from strategy.ingest import read_bytes, upload_limit_bytes
    from strategy.trackers.dvc_runs import read_dvc_experiments

    label = "<stdin>" if source == "-" else Path(source).name
    piped = read_bytes(click.open_file(source, "rb"), label, limit=upload_limit_bytes())[1] if source == "-" else None

    def read(mapping, since):  # a file is read again at each sync: `dvc exp show --json > FILE` rewrites it
        data = piped if piped is not None else read_bytes(Path(source), label, limit=upload_limit_bytes())[1]
        return read_dvc_experiments(data, label)
    run_import(ctx, source="dvc", name=name, label=f"dvc experiments {inert(label)!r}", read=read, **options)


@import_group.command("table")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--name", default="", help="Name the saved mapping is kept under (default: none).")
@mapping_options
@click.pass_context
def import_table(ctx: click.Context, source: str, name: str, **options) -> None:
    """Import runs from a CSV, Parquet or JSON-lines table with any column names (ClearML, Aim, a spreadsheet):
    map its columns with --map."""
    run_import(ctx, source="table", name=name, label=f"run table {inert(Path(source).name)!r}",
               read=_table_reader(source), **options)


def _table_reader(path: str) -> Callable[[RunMapping, float | None], list[TrackedRun]]:
    from strategy.trackers.table_runs import read_run_table

    def read(mapping: RunMapping, since: float | None) -> list[TrackedRun]:
        return read_run_table(Path(path))[1]
    return read
