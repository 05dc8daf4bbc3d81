"""Strategy summaries of the demo (one task, and the whole portfolio) in every format: median seconds of
--runs runs after one warm-up (the first chart render starts the Vega engine), each drawing its charts
anew. Then one PDF of a portfolio of --tasks simulated tasks (goal, issue 18: 1,000 tasks ≤ 60 s on 2 cores), timed once with the default worker process and once
without, side by side. Prints a Markdown table.

    .venv/bin/python bench/bench_export.py [--runs 3] [--tasks 1000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from bench_engine import fill, simulated_tasks  # noqa: E402

from strategy import export  # noqa: E402
from strategy.backtest import run_backtest  # noqa: E402
from strategy.catalog import Catalog  # noqa: E402
from strategy.demo import initialise  # noqa: E402
from strategy.export import CHART_WORKERS_ENV, FORMATS, render  # noqa: E402
from strategy.recommend import refit_portfolio  # noqa: E402
from strategy.summary import build_summary  # noqa: E402

LARGE_GOAL_SECONDS = 60


def large_portfolio(folder: Path, tasks: int, settings=("auto", "0")) -> tuple[float, dict[str, tuple[float, int]]]:
    """Seconds to gather the summary of a portfolio of simulated tasks, each with its own fitted curves (so
    every chart is a different one), and per $STRATEGY_CHART_WORKERS setting, side by side in one run, the
    seconds to lay out its PDF and the PDF's size."""
    with Catalog.open(folder / "large.duckdb") as catalog:
        fill(catalog, simulated_tasks(tasks, 12, seed=18))
        refit_portfolio(catalog, workers=2)
        started = time.perf_counter()
        build_summary(catalog)
        gathered = time.perf_counter() - started
        laid_out = {}
        for setting in settings:
            os.environ[CHART_WORKERS_ENV] = setting
            try:
                fresh = build_summary(catalog)  # fits read anew: none has its posterior draws made yet
                started = time.perf_counter()
                size = len(render(fresh, "pdf"))
                laid_out[setting] = (time.perf_counter() - started, size)
            finally:
                os.environ.pop(CHART_WORKERS_ENV, None)
        return gathered, laid_out


def frontier_rows(bundle) -> None:
    """Seconds per task of the budget frontier the second chart draws: the full candidate grid the planner
    uses against the chart's tenth of it (plus the recommended plan), side by side, and the largest gap."""
    from strategy import budget as budgeting
    from strategy.views import budget_frontier

    tasks = [t for t in bundle.summary.tasks if bundle.fits.get(t.task_id) and t.recommendation]
    timed, frames = {}, {}
    for grid_name, grid in (("full grid", budgeting.SYNTHETIC_GRID), ("chart grid", budgeting.FRONTIER_GRID)):
        started = time.perf_counter()
        frames[grid_name] = []
        for task in tasks:
            saved = budgeting.FRONTIER_GRID
            budgeting.FRONTIER_GRID = grid  # budget_frontier reads the chart grid from the module
            try:
                frames[grid_name].append(budget_frontier(bundle.fits[task.task_id], task.recommendation))
            finally:
                budgeting.FRONTIER_GRID = saved
        timed[grid_name] = (time.perf_counter() - started) / len(tasks)
    gap = max(float((a["expected"] - b["expected"]).abs().max())
              for a, b in zip(frames["full grid"], frames["chart grid"], strict=True))
    print(f"| budget frontier per task ({len(tasks)} tasks) | full grid {timed['full grid']:.3f} s, chart grid "
          f"{timed['chart grid']:.3f} s; largest difference in expected metric {gap:.4f} | |")


def weasyprint_row(scope: str, bundle) -> None:
    """The PDF issue 18 proposed instead: WeasyPrint laying out the HTML summary (charts as inline SVG). Timed
    as HTML then PDF, and the PDF step alone; skipped when WeasyPrint (the bench extra) is not installed."""
    try:
        import weasyprint
    except ImportError:
        print(f"| {scope} | pdf via WeasyPrint | not measured: `pip install -e '.[bench]'` | |")
        return
    started = time.perf_counter()
    page = render(bundle, "html").decode("utf-8")
    drawn = time.perf_counter()
    size = len(weasyprint.HTML(string=page).write_pdf())
    done = time.perf_counter()
    print(f"| {scope} | pdf via WeasyPrint from the HTML | {done - started:.2f} (HTML {drawn - started:.2f}, "
          f"WeasyPrint {done - drawn:.2f}) | {size / 1024:,.0f} KB |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=1000, help="tasks in the large portfolio (0 to skip it)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        catalog, _ = initialise(str(Path(folder) / "demo.duckdb"), demo=True)
        with catalog:
            refit_portfolio(catalog, workers=1)
            run_backtest(catalog)
            render(build_summary(catalog, task_ids=["Card fraud detection"]), "pdf")  # warm-up
            print("| summary | format | median seconds | size |")
            print("|---|---|---:|---:|")
            portfolio = f"portfolio ({len(catalog.tasks())} tasks)"
            frontier_rows(build_summary(catalog))
            for scope, task_ids in (("one task", ["Card fraud detection"]), (portfolio, None)):
                for fmt in FORMATS:
                    times, size = [], 0
                    for _ in range(args.runs):
                        export._drawn.clear()  # each run draws its charts, as the first export of a summary does
                        started = time.perf_counter()
                        size = len(render(build_summary(catalog, task_ids=task_ids), fmt))
                        times.append(time.perf_counter() - started)
                    print(f"| {scope} | {fmt} | {statistics.median(times):.2f} | {size / 1024:,.0f} KB |")
                weasyprint_row(scope, build_summary(catalog, task_ids=task_ids))
        if args.tasks:
            gathered, laid_out = large_portfolio(Path(folder), args.tasks)
            for setting, (seconds, size) in laid_out.items():
                total = gathered + seconds
                how = ("default: one worker process computes the charts' numbers" if setting == "auto"
                       else f"{CHART_WORKERS_ENV}={setting}: everything in one process")
                print(f"| portfolio ({args.tasks:,} simulated tasks, one run) | pdf, {how} | {total:.1f} (gather "
                      f"{gathered:.1f}, PDF {seconds:.1f}; {total / args.tasks * 1000:,.0f} ms per task; goal ≤ "
                      f"{LARGE_GOAL_SECONDS} s for 1,000 tasks on 2 cores, here {os.cpu_count()}) | "
                      f"{size / 1024 ** 2:,.1f} MB |")


if __name__ == "__main__":
    main()
