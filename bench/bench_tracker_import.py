"""Importing MLflow runs: --runs runs logged with MLflow's own client into its SQLite store, then read through
MlflowClient (page by page), mapped, checked and committed into a fresh catalog of --tasks tasks, and a re-sync
that finds nothing new. Prints a Markdown table.

    .venv/bin/python bench/bench_tracker_import.py [--runs 10000] [--tasks 10] [--store FOLDER]

Goals (issue 20): 10,000 runs read, mapped, checked and committed ≤ 30 s on 2 cores; a re-sync that finds nothing
new ≤ 3 s, measured both ways: reading every run again, and reading only the runs that ended lately (as `--watch`
does after its first sync, and a cron line with --ended-within 70; the store must be older than that window, as
a reused --store is). The recompute of the affected tasks' recommendations that follows an import is timed on its own row.
Logging the runs takes minutes (MLflow writes each run in its own transactions); --store keeps the store in a
folder so a second run of the bench reuses it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from strategy.catalog import Catalog  # noqa: E402
from strategy.imports import import_runs, preview_runs  # noqa: E402
from strategy.models import Task  # noqa: E402
from strategy.outcomes import recompute  # noqa: E402
from strategy.trackers import RunMapping  # noqa: E402
from strategy.trackers.mlflow_runs import read_mlflow_runs  # noqa: E402

EXPERIMENT = "bench"
CRON_MINUTES = 70  # the README's hourly cron line


def log_store(uri: str, runs: int, tasks: list[str]) -> None:
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(EXPERIMENT)
    if found is not None:
        if len(client.search_runs([found.experiment_id], max_results=runs)) >= runs:
            return
        raise SystemExit(f"the store at {uri} holds a partial '{EXPERIMENT}' experiment: give another --store")
    experiment = client.create_experiment(EXPERIMENT)
    rng = np.random.default_rng(20)
    started = time.perf_counter()
    for i in range(runs):
        n_human, n_synthetic = int(rng.integers(10, 5000)), int(rng.integers(0, 50000))
        run = client.create_run(experiment, run_name=f"run-{i:05d}")
        client.log_batch(run.info.run_id, params=[
            Param("n_human", str(n_human)), Param("n_synthetic", str(n_synthetic)),
            Param("task", tasks[i % len(tasks)]), Param("seed", str(i))],
            metrics=[Metric("accuracy", float(rng.uniform(0.5, 0.95)), 0, step) for step in range(3)])
        client.set_terminated(run.info.run_id)
        if (i + 1) % 1000 == 0:
            print(f"  logged {i + 1:,} runs ({time.perf_counter() - started:.0f} s)", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--store", help="Folder for the MLflow store (kept; reused when it holds the runs).")
    args = parser.parse_args()
    task_names = [f"Bench task {i:03d}" for i in range(args.tasks)]
    with tempfile.TemporaryDirectory() as scratch:
        store = Path(args.store) if args.store else Path(scratch)
        store.mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{store / 'mlflow.db'}"
        log_store(uri, args.runs, task_names)
        rows = []
        with Catalog.open(Path(scratch) / "catalog.duckdb") as catalog:
            catalog.save_tasks([Task(name=name, domain="Bench", modality="tabular", metric="accuracy")
                                for name in task_names])
            mapping = RunMapping()
            label = f"mlflow experiment '{EXPERIMENT}'"
            started = time.perf_counter()
            runs = read_mlflow_runs(uri, EXPERIMENT, mapping)
            read = time.perf_counter() - started
            preview = preview_runs(catalog, runs, mapping, source="mlflow", label=label)
            mapped = time.perf_counter() - started - read
            result = import_runs(catalog, preview)  # its recompute is timed below, apart
            total = time.perf_counter() - started
            assert result.logged.written == args.runs, result.logged.written
            rows += [(f"read {len(runs):,} runs through MlflowClient", read, None),
                     ("map and check them", mapped, None),
                     ("commit (one transaction) and recompute the tasks", total - read - mapped, None),
                     (f"**import {args.runs:,} runs: read, mapped, checked, committed, recomputed**", total, 30)]
            started = time.perf_counter()
            again = preview_runs(catalog, read_mlflow_runs(uri, EXPERIMENT, mapping), mapping, source="mlflow",
                                 label=label)
            assert import_runs(catalog, again).logged.written == 0 and again.counts["skip"] == args.runs
            rows.append(("re-sync that finds nothing new, every run read again (a cron run)",
                         time.perf_counter() - started, 3))
            # What `--watch` does after its first sync, and an hourly cron line with --ended-within 70: ask only
            # for the runs that ended lately (the wider window of the two).
            started = time.perf_counter()
            since = time.time() - 60 * CRON_MINUTES
            recent = read_mlflow_runs(uri, EXPERIMENT, mapping, ended_after=since)
            watched = preview_runs(catalog, recent, mapping, source="mlflow", label=label)
            assert import_runs(catalog, watched).logged.written == 0
            rows.append((f"**re-sync that finds nothing new, reading the runs ended lately** (`--watch`, or cron "
                         f"with `--ended-within {CRON_MINUTES}`: {len(recent):,} runs ended in the last "
                         f"{CRON_MINUTES} minutes)", time.perf_counter() - started, 3))
            # Whether the page size moves a full read: MLflow's own loading of the runs is most of it.
            for size in (5_000, 50_000):
                started = time.perf_counter()
                read_mlflow_runs(uri, EXPERIMENT, mapping, page_size=size)
                rows.append((f"read every run again, {size:,} per page (default 1,000)",
                             time.perf_counter() - started, None))
            started = time.perf_counter()
            recompute(catalog, [catalog.task(name).id for name in task_names])
            rows.append((f"recompute the {args.tasks} tasks alone ({args.runs // args.tasks:,} outcomes each)",
                         time.perf_counter() - started, None))
    print(f"\n{args.runs:,} MLflow runs (SQLite store) into {args.tasks} tasks\n")
    print("| step | seconds | goal |\n|---|---:|---:|")
    for name, seconds, goal in rows:
        print(f"| {name} | {seconds:.2f} | {'≤ ' + str(goal) if goal else ''} |")


if __name__ == "__main__":
    main()
