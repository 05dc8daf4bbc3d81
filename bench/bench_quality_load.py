"""The 20,000-row humanness report quiet and while a second process keeps both cores busy, with the threads the
report now runs with (STRATEGY_THREADS, default 1) beside one thread per core (what scikit-learn's OpenMP and
BLAS pools take by themselves), in one run. Each measure runs in its own process. Prints a Markdown table.

    .venv/bin/python bench/bench_quality_load.py [--rows 20000] [--repeats 3]

Goal (issue 21): under load, the report stays within 1.5× its quiet time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT / "bench"))

# Two threads of large matrix products: both cores busy, as another session's fit or assessment keeps them.
BURNER = """
import threading, numpy as np
from threadpoolctl import threadpool_limits
def burn():
    with threadpool_limits(1):
        a = np.random.default_rng(0).random((600, 600))
        while True:
            a @ a
for _ in range(2):
    threading.Thread(target=burn, daemon=True).start()
threading.Event().wait()
"""


def one(rows: int) -> float:
    sys.path.insert(0, str(PROJECT))
    from bench_quality import HOLDOUT_SHARE, table

    from strategy.quality import assess, frame_sample
    human, synthetic = frame_sample(table(rows, seed=1), "human"), frame_sample(table(rows, seed=2, shift=0.3), "s")
    holdout = frame_sample(table(int(rows * HOLDOUT_SHARE), seed=3), "holdout")
    started = time.perf_counter()
    assess(human, synthetic, holdout)
    return time.perf_counter() - started


def measure(rows: int, threads: str, repeats: int) -> float:
    env = {key: value for key, value in os.environ.items() if key not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    env["STRATEGY_THREADS"] = threads
    times = []
    for _ in range(repeats):
        output = subprocess.run([sys.executable, __file__, "--one", str(rows)], check=True, capture_output=True,
                                text=True, env=env).stdout
        times.append(json.loads(output.strip().splitlines()[-1]))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return
    cores = str(os.cpu_count() or 2)
    settings = [("the default: 1 thread (STRATEGY_THREADS unset)", ""), (f"one per core ({cores} threads)", cores)]
    quiet = {threads: measure(args.rows, threads, args.repeats) for _, threads in settings}
    burner = subprocess.Popen([sys.executable, "-c", BURNER])
    try:
        time.sleep(2)
        loaded = {threads: measure(args.rows, threads, args.repeats) for _, threads in settings}
    finally:
        burner.kill()
        burner.wait()
    print(f"\n{args.rows:,}-row report (human, synthetic and a 10% holdout), median of {args.repeats} runs, seconds\n")
    print("| threads | quiet | both cores busy | loaded ÷ quiet | goal |\n|---|---:|---:|---:|---:|")
    for name, threads in settings:
        ratio = loaded[threads] / quiet[threads]
        print(f"| {name} | {quiet[threads]:.2f} | {loaded[threads]:.2f} | {ratio:.2f}× | "
              f"{'≤ 1.5×' if not threads else ''} |")


if __name__ == "__main__":
    main()
