"""Strategy summaries of the demo (one task, and the 15-task portfolio) in every format: median seconds of
--runs runs after one warm-up (the first chart render starts the Vega engine). Prints a Markdown table.

    .venv/bin/python bench/bench_export.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from strategy.demo import initialise  # noqa: E402
from strategy.export import FORMATS, render  # noqa: E402
from strategy.recommend import refit_portfolio, run_backtest  # noqa: E402
from strategy.summary import build_summary  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        catalog, _ = initialise(str(Path(folder) / "demo.duckdb"), demo=True)
        with catalog:
            refit_portfolio(catalog, workers=1)
            run_backtest(catalog)
            render(build_summary(catalog, task_ids=["Card fraud detection"]), "pdf")  # warm-up
            print("| summary | format | median seconds | size |")
            print("|---|---|---:|---:|")
            for scope, task_ids in (("one task", ["Card fraud detection"]), ("portfolio (15 tasks)", None)):
                for fmt in FORMATS:
                    times, size = [], 0
                    for _ in range(args.runs):
                        started = time.perf_counter()
                        size = len(render(build_summary(catalog, task_ids=task_ids), fmt))
                        times.append(time.perf_counter() - started)
                    print(f"| {scope} | {fmt} | {statistics.median(times):.2f} | {size / 1024:,.0f} KB |")


if __name__ == "__main__":
    main()
