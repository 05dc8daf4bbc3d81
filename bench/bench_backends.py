"""The same catalog on both backends, side by side: an embedded DuckDB file and DuckLake on a real PostgreSQL
(started here in a temporary folder, as the tests do) with Parquet files on local disk.

    .venv/bin/python bench/bench_backends.py [--tasks 1000] [--outcomes 1000000] [--repeat 5]

The scaled catalog is built once (tasks, a bulk import of the outcomes, a full refit) in the embedded file and
copied into the lake with `copy_into` (what `strategy migrate --to` runs). Figures are medians of --repeat runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from bench_engine import simulated_tasks  # noqa: E402

from strategy.catalog import Catalog  # noqa: E402
from strategy.outcomes import commit, read_outcome_file, validate  # noqa: E402
from strategy.recommend import portfolio, recommend_task, refit_portfolio  # noqa: E402
from tests.postgres import PostgresServer, binaries  # noqa: E402


def outcome_frame(made, per_task: int, prefix: str) -> pd.DataFrame:
    """Outcome rows for the bulk import path (an outcome file's columns), per_task rows of each task."""
    names = np.repeat([task.name for task, _ in made], per_task)
    values = np.vstack([rows[:per_task] for _, rows in made])
    return pd.DataFrame({"task": names, "n_human": values[:, 0].astype(int), "n_synthetic": values[:, 1].astype(int),
                         "metric": "accuracy", "value": values[:, 2].round(5),
                         "run_id": [f"{prefix}-{i}" for i in range(len(names))]})


def import_file(catalog: Catalog, path: Path) -> int:
    label, frame = read_outcome_file(path)
    checked = validate(catalog, frame, label)
    return commit(catalog, checked, actor="bench")


def median_seconds(action, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def measure(catalog: Catalog, folder: Path, made, repeat: int, import_rows: int) -> dict[str, float]:
    name = made[0][0].name
    figures = {"portfolio read (stored recommendations of every task)": median_seconds(
        lambda: portfolio(catalog), repeat)}
    figures["recompute one task (read, fit, store)"] = median_seconds(lambda: recommend_task(catalog, name), repeat)
    batches = iter(range(repeat))

    def one_import() -> None:
        batch = next(batches)
        per_task = max(1, import_rows // len(made))
        frame = outcome_frame(made[: import_rows // per_task], per_task, f"{catalog.backend}-import-{batch}")
        path = folder / f"import-{batch}.parquet"
        frame.to_parquet(path, index=False)
        assert import_file(catalog, path) == len(frame)

    figures[f"import {import_rows:,} outcomes (read, check, commit)"] = median_seconds(one_import, repeat)
    figures["open the catalog"] = median_seconds(lambda: Catalog.open(catalog.location).close(), repeat)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--outcomes", type=int, default=1_000_000)
    parser.add_argument("--import-rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    bin_dir = binaries()
    if bin_dir is None:
        sys.exit("PostgreSQL binaries (initdb, pg_ctl, createdb) are needed for the DuckLake side.")

    per_task = args.outcomes // args.tasks
    made = simulated_tasks(args.tasks, per_task, seed=23)
    server = PostgresServer(bin_dir).start()
    setup, results = [], {}
    try:
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            embedded = Catalog.open(folder / "bench.duckdb")
            start = time.perf_counter()
            embedded.write_batch({"tasks": [task for task, _ in made]}, actor="bench")
            outcome_frame(made, per_task, "seed").to_parquet(folder / "seed.parquet", index=False)
            written = import_file(embedded, folder / "seed.parquet")
            setup.append((f"embedded: {args.tasks:,} tasks and {written:,} outcomes imported",
                          time.perf_counter() - start))
            start = time.perf_counter()
            refit_portfolio(embedded, workers=args.workers)
            setup.append((f"embedded: refit every task ({args.workers} workers)", time.perf_counter() - start))

            lake = Catalog.open(server.location(server.create_database("bench")), data_path=folder / "lake")
            start = time.perf_counter()
            copied = embedded.copy_into(lake, actor="bench")
            setup.append((f"copy into the lake, counts verified ({copied['outcomes']:,} outcomes)",
                          time.perf_counter() - start))
            start = time.perf_counter()
            lake.maintain()
            setup.append(("lake: strategy maintain after the copy", time.perf_counter() - start))

            for catalog in (embedded, lake):
                results[catalog.backend] = measure(catalog, folder, made, args.repeat, args.import_rows)
                catalog.close()
    finally:
        server.stop()

    print("| setup | seconds |")
    print("|---|---:|")
    for step, seconds in setup:
        print(f"| {step} | {seconds:,.1f} |")
    backends = list(results)
    print(f"\n| {args.tasks:,} tasks, {args.outcomes:,} outcomes | " + " | ".join(backends) + " |")
    print("|---|" + "---:|" * len(backends))
    for operation in results[backends[0]]:
        cells = " | ".join(f"{results[b][operation] * 1000:,.0f} ms" for b in backends)
        print(f"| {operation} | {cells} |")


if __name__ == "__main__":
    main()
