"""Catalog and page timings on the demo catalog and on a scaled one; prints a Markdown table.

    .venv/bin/python bench/bench_catalog.py [--tasks 1000] [--outcomes 100000] [--repeat 5]

Figures are in milliseconds, on whatever machine runs it: medians of --repeat runs, except creating the demo
and writing the scaled catalog (once each) and the first page run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from strategy.catalog import Catalog  # noqa: E402
from strategy.demo import initialise  # noqa: E402
from strategy.models import FACTOR_NAMES, Outcome, Task  # noqa: E402


def timed(action, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def scaled_catalog(path: Path, n_tasks: int, n_outcomes: int) -> float:
    """Fill a catalog with synthetic tasks and outcomes; returns the write time in ms."""
    rng = np.random.default_rng(7)
    tasks = [
        Task(name=f"Bench task {i:05d}", domain=f"Domain {i % 12}", modality="text", metric="accuracy",
             **{f: int(rng.integers(0, 5)) for f in FACTOR_NAMES})
        for i in range(n_tasks)
    ]
    owners = rng.integers(0, n_tasks, n_outcomes)
    humans = rng.integers(0, 5000, n_outcomes)
    synthetics = rng.integers(1, 20000, n_outcomes)
    values = rng.uniform(0.4, 0.95, n_outcomes)
    outcomes = [
        Outcome(task_id=tasks[o].id, n_human=int(h), n_synthetic=int(s), metric="accuracy", value=float(v))
        for o, h, s, v in zip(owners, humans, synthetics, values, strict=True)
    ]
    with Catalog.open(path) as catalog:
        start = time.perf_counter()
        catalog.write_batch({"tasks": tasks, "outcomes": outcomes}, actor="bench")
        return (time.perf_counter() - start) * 1000


def page_render_ms(location: Path, repeat: int) -> tuple[float, float]:
    """Cold (first) and warm (cached reads) render of the portfolio page in AppTest."""
    from streamlit.testing.v1 import AppTest

    os.environ["STRATEGY_CATALOG"] = str(location)
    app = AppTest.from_file(str(PROJECT / "app.py"), default_timeout=120)
    start = time.perf_counter()
    app.run()
    cold = (time.perf_counter() - start) * 1000
    assert not app.exception, app.exception
    warm = timed(app.run, repeat)
    return cold, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--outcomes", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        demo = Path(folder) / "demo.duckdb"
        start = time.perf_counter()
        catalog, _ = initialise(str(demo), demo=True)
        catalog.close()
        rows.append(("demo", "create + migrate + load seed", (time.perf_counter() - start) * 1000))

        scaled = Path(folder) / "scaled.duckdb"
        write_ms = scaled_catalog(scaled, args.tasks, args.outcomes)
        label = f"{args.tasks:,} tasks / {args.outcomes:,} outcomes"
        rows.append((label, "write all in one transaction", write_ms))

        for name, path in (("demo", demo), (label, scaled)):
            rows.append((name, "open existing catalog", timed(lambda p=path: Catalog.open(p).close(), args.repeat)))
            with Catalog.open(path) as catalog:
                rows.append((name, "read tasks with outcome counts", timed(catalog.tasks, args.repeat)))
                rows.append((name, "read all outcomes", timed(catalog.outcomes, args.repeat)))
                rows.append((name, "row counts (sidebar)", timed(catalog.counts, args.repeat)))
            cold, warm = page_render_ms(path, args.repeat)
            rows.append((name, "portfolio page in AppTest, first run", cold))
            rows.append((name, "portfolio page in AppTest, cached reads", warm))

    print("| catalog | operation | ms |")
    print("|---|---|---:|")
    for name, operation, ms in rows:
        print(f"| {name} | {operation} | {ms:,.1f} |")


if __name__ == "__main__":
    main()
