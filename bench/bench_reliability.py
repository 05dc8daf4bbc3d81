"""Longer reliability runs than the test suite affords; prints a table.

    .venv/bin/python bench/bench_reliability.py [--threads 8] [--per-thread 2000] [--processes 4]
                                                [--per-process 250] [--kills 10] [--fuzz 5000]

- concurrency: --threads threads of one process share one embedded catalog, each logging --per-thread outcomes
  one write at a time; the rows and audit entries must come out exact.
- processes: --processes processes each run `strategy log` --per-process times (one outcome per command, as a
  training job would) into one DuckLake catalog on a throwaway PostgreSQL server; the rows and audit entries
  must come out exact. The test suite runs the same check with 4 × 6 commands. Skipped without PostgreSQL.
- crash safety: --kills times, a process importing a large outcome file is killed with SIGKILL at a random
  moment; the catalog must open afterwards and hold all of that import or none of it (a kill after the commit
  is counted separately).
- fuzzing: tests/test_reliability.py's hypothesis tests with --fuzz examples each.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from strategy.catalog import Catalog  # noqa: E402
from strategy.demo import initialise  # noqa: E402
from strategy.models import Outcome  # noqa: E402

CHILD = """
import sys
from strategy.catalog import Catalog
from strategy.outcomes import log_file
with Catalog.open(sys.argv[1]) as catalog:
    print("importing", flush=True)
    log_file(catalog, sys.argv[2], recompute_after=False)
print("committed", flush=True)
"""


def concurrency(folder: Path, threads: int, per_thread: int) -> list[tuple[str, str]]:
    path = folder / "threads.duckdb"
    catalog, _ = initialise(str(path), demo=True)
    task_id = catalog.tasks()["id"].iloc[0]
    before = catalog.counts()
    errors = []

    def log(worker: int) -> None:
        try:
            for i in range(per_thread):
                catalog.add_records("outcomes", [Outcome(task_id=task_id, n_human=i + 1, n_synthetic=worker, metric="m",
                                                         value=0.5, run_id=f"t{worker}-{i}")])
        except BaseException as error:  # reported in the table, not raised in a thread
            errors.append(repr(error))

    start = time.perf_counter()
    workers = [threading.Thread(target=log, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - start
    after = catalog.counts()
    catalog.close()
    written = after["outcomes"] - before["outcomes"]
    return [
        (f"{threads} threads × {per_thread:,} single-outcome writes, embedded",
         f"{written:,} rows of {threads * per_thread:,} expected, {len(errors)} errors, "
         f"{after['audit_log'] - before['audit_log']:,} audit entries, {threads * per_thread / seconds:,.0f} writes/s"),
    ]


def processes(folder: Path, count: int, per_process: int) -> list[tuple[str, str]]:
    from tests.postgres import PostgresServer, binaries

    run = f"{count} processes × {per_process:,} `strategy log` commands (one outcome each), one DuckLake catalog"
    bin_dir = binaries()
    if bin_dir is None:
        return [(run, "skipped: the PostgreSQL binaries (initdb, pg_ctl, createdb) are not installed")]
    server = PostgresServer(bin_dir).start()
    try:
        location = server.location(server.create_database())
        source, _ = initialise(str(folder / "lake-source.duckdb"), demo=True)
        with source, Catalog.open(location, data_path=folder / "lake-data") as target:
            source.copy_into(target, actor="bench")
            before = target.counts()
        outcomes = folder / "process-outcomes"
        outcomes.mkdir()
        start = time.perf_counter()
        writers = [subprocess.Popen([sys.executable, "-m", "tests.lake_writer", location, "log", str(n),
                                     str(per_process), str(outcomes)], cwd=PROJECT, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, env=os.environ | {"OMP_NUM_THREADS": "1"})
                    for n in range(count)]
        for writer in writers:
            writer.communicate()
        failed = sum(writer.returncode != 0 for writer in writers)
        seconds = time.perf_counter() - start
        with Catalog.open(location) as catalog:
            after = catalog.counts()
    finally:
        server.stop()
    expected = count * per_process
    return [(run, f"{after['outcomes'] - before['outcomes']:,} rows of {expected:,} expected, "
                  f"{after['audit_log'] - before['audit_log']:,} audit entries, {failed} processes failed, "
                  f"{seconds:,.0f} s ({expected / seconds:,.1f} commands/s)")]


def crashes(folder: Path, kills: int, rows: int) -> list[tuple[str, str]]:
    template = folder / "crash-template.duckdb"
    catalog, _ = initialise(str(template), demo=True)
    names = catalog.tasks()["name"].tolist()
    baseline = catalog.counts()["outcomes"]
    catalog.close()
    rng = np.random.default_rng(5)
    source = folder / "big.parquet"
    pd.DataFrame({"task": rng.choice(names, rows), "n_human": rng.integers(0, 5000, rows),
                  "n_synthetic": rng.integers(0, 5000, rows), "metric": "m", "value": rng.uniform(0, 1, rows),
                  "run_id": [f"crash-{i}" for i in range(rows)]}).to_parquet(source, index=False)
    outcomes = {"none of the import": 0, "all of the import (killed after the commit)": 0, "a partial import": 0,
                "would not open": 0}
    for attempt in range(kills):
        path = folder / f"crash-{attempt}.duckdb"
        shutil.copy(template, path)
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(source)], cwd=PROJECT,
                                 stdout=subprocess.PIPE, text=True, env=os.environ | {"OMP_NUM_THREADS": "1"})
        child.stdout.readline()  # "importing": the catalog is open and the import has begun
        time.sleep(random.Random(attempt).uniform(0.0, 8.0))
        child.send_signal(signal.SIGKILL)
        child.wait()
        try:
            with Catalog.open(path) as reopened:
                found = reopened.counts()["outcomes"] - baseline
        except Exception:
            outcomes["would not open"] += 1
            continue
        key = ("none of the import" if found == 0 else
               "all of the import (killed after the commit)" if found == rows else "a partial import")
        outcomes[key] += 1
    return [(f"SIGKILL during a {rows:,}-row import, {kills} times", f"{n} × {what}")
            for what, n in outcomes.items() if n or what in ("a partial import", "would not open")]


def fuzz(examples: int) -> list[tuple[str, str]]:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "fuzz", "--timeout=0",
                             "tests/test_reliability.py"], cwd=PROJECT, capture_output=True, text=True,
                            env=os.environ | {"STRATEGY_FUZZ_EXAMPLES": str(examples), "OMP_NUM_THREADS": "1"})
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-300:]
    return [(f"hypothesis fuzz tests, {examples:,} examples each", f"{summary} ({time.perf_counter() - start:,.0f} s)")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--per-thread", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=4, help="0 leaves the multi-process run out")
    parser.add_argument("--per-process", type=int, default=250)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--fuzz", type=int, default=5000)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        rows += concurrency(Path(folder), args.threads, args.per_thread)
        if args.processes:
            rows += processes(Path(folder), args.processes, args.per_process)
        rows += crashes(Path(folder), args.kills, args.rows)
    if args.fuzz:
        rows += fuzz(args.fuzz)
    print("| run | result |")
    print("|---|---|")
    for run, result in rows:
        print(f"| {run} | {result} |")


if __name__ == "__main__":
    main()
