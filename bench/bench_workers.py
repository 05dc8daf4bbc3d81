"""Where worker processes repay their start: a refit and a PDF of simulated portfolios of several sizes, each
timed in a fresh process (the fork server starts once per process, so a process's first use is the one that
pays for it), side by side:

- ``here``: no worker processes;
- ``fork server``: two refit workers or one chart worker from strategy.threads.worker_pool;
- ``forked``: the same pool forked from the asking process, as before the fork server (for comparison only:
  a forked child copies other threads' locks, and one crashed).

The thresholds that choose between them (strategy.recommend.PARALLEL_REFIT_TASKS, strategy.export.pdf's
PARALLEL_FIGURE_TASKS) come from this table. Prints Markdown.

    .venv/bin/python bench/bench_workers.py [--refit-tasks 50 100 200 1000] [--pdf-tasks 40 100 200]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

SETTINGS = ("here", "fork server", "forked")


def _forked_pool(workers: int, *, preload=()) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))


def one(work: str, tasks: int, setting: str) -> float:
    """Seconds of one refit or one PDF in this process, with the thresholds lowered so the setting decides."""
    from bench_engine import fill, simulated_tasks

    import strategy.export.pdf as pdf
    from strategy import recommend, summary
    from strategy.catalog import Catalog
    from strategy.export import CHART_WORKERS_ENV, render

    recommend.PARALLEL_REFIT_TASKS = pdf.PARALLEL_FIGURE_TASKS = 1
    if setting == "forked":
        recommend.worker_pool = summary.worker_pool = _forked_pool
    with tempfile.TemporaryDirectory() as folder, Catalog.open(Path(folder) / "bench.duckdb") as catalog:
        if work == "refit":
            fill(catalog, simulated_tasks(tasks, 100, seed=11))
            started = time.perf_counter()
            recommend.refit_portfolio(catalog, workers=1 if setting == "here" else 2)
            return time.perf_counter() - started
        fill(catalog, simulated_tasks(tasks, 12, seed=18))
        recommend.refit_portfolio(catalog, workers=1)
        os.environ[CHART_WORKERS_ENV] = "0" if setting == "here" else "1"
        bundle = summary.build_summary(catalog)
        started = time.perf_counter()
        render(bundle, "pdf")
        return time.perf_counter() - started


def fresh(work: str, tasks: int, setting: str) -> float:
    done = subprocess.run([sys.executable, __file__, "--one", work, str(tasks), setting], cwd=PROJECT,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--refit-tasks", type=int, nargs="*", default=[50, 100, 200, 1000])
    parser.add_argument("--pdf-tasks", type=int, nargs="*", default=[40, 100, 200])
    parser.add_argument("--one", nargs=3, metavar=("WORK", "TASKS", "SETTING"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        work, tasks, setting = args.one
        print(json.dumps(one(work, int(tasks), setting)))
        return
    print("| work | tasks | " + " | ".join(SETTINGS) + " |")
    print("|---|---:|" + "---:|" * len(SETTINGS))
    for work, sizes in (("refit (100 outcomes a task)", args.refit_tasks), ("PDF (first of a process)", args.pdf_tasks)):
        for tasks in sizes:
            seconds = [fresh(work.split()[0].lower(), tasks, setting) for setting in SETTINGS]
            print(f"| {work} | {tasks:,} | " + " | ".join(f"{s:.2f} s" for s in seconds) + " |", flush=True)


if __name__ == "__main__":
    main()
