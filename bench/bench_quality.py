"""The full tabular humanness report (shapes, pairs, detection, coverage, k-NN fidelity/diversity, privacy with
a holdout, noise floor) on human and synthetic samples of 20,000 and 1,000,000 rows × 10 columns. Each size
runs in its own process so its peak memory is its own. Where `sdmetrics` is installed, its QualityReport and
DiagnosticReport run on the same data (written to CSV and read back), timed apart from the reading, with the
ratio. SDMetrics needs pandas < 3, so it usually lives in another environment: give its Python with
--sdmetrics-python. Prints a Markdown table.

    .venv/bin/python bench/bench_quality.py [--rows 20000 1000000] [--sdmetrics-python PATH | --no-sdmetrics]

Goals (issue 6): 20,000 rows ≤ 3 s, 1,000,000 rows ≤ 30 s, peak memory ≤ 2 GB.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

PROJECT = Path(__file__).resolve().parent.parent
HOLDOUT_SHARE = 0.1
NUMERIC = ["age", "income", "balance", "visits", "score", "tenure_days"]


def table(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """Ten columns of mixed kinds with correlated fields: six numbers, a date, two categories, a flag."""
    rng = np.random.default_rng(seed)
    age = rng.normal(41 + 4 * shift, 13, rows).round().clip(18, 95)
    income = np.exp(rng.normal(10.2 + 0.1 * shift, 0.6, rows) + 0.01 * (age - 41)).round(2)
    return pd.DataFrame({
        "age": age,
        "income": income,
        "balance": (income * rng.uniform(0.05, 0.5, rows)).round(2),
        "visits": rng.poisson(3 + shift, rows),
        "score": rng.normal(0, 1, rows) + 0.03 * (age - 41) * (1 - 0.5 * shift),
        "tenure_days": rng.gamma(2.0, 300 * (1 + 0.2 * shift), rows).round(),
        "joined": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1800, rows), unit="D"),
        "region": rng.choice(["north", "south", "east", "west", "islands"], rows,
                             p=[0.35, 0.3, 0.2, 0.12 - 0.05 * shift, 0.03 + 0.05 * shift]),
        "plan": rng.choice(["basic", "plus", "premium"], rows, p=[0.6, 0.3, 0.1]),
        "smoker": rng.random(rows) < 0.18 + 0.05 * shift,
    })


def peak_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one(rows: int, sdmetrics_python: str | None) -> dict:
    # Imported here: this file also runs under an SDMetrics environment that does not have the project.
    sys.path.insert(0, str(PROJECT))
    from strategy.quality import assess, frame_sample
    from strategy.quality.columns import plan_columns
    from strategy.quality.tabular import column_pairs, column_shapes

    human = table(rows, seed=1)
    holdout = table(int(rows * HOLDOUT_SHARE), seed=3)
    synthetic = table(rows, seed=2, shift=0.3)
    data_mb = peak_mb()
    started = time.perf_counter()
    report = assess(frame_sample(human, "human"), frame_sample(synthetic, "synthetic"),
                    frame_sample(holdout, "holdout"))
    elapsed = time.perf_counter() - started
    subsample = report.data["modalities"]["tabular"]["subsample"]
    result = {"rows": rows, "seconds": elapsed, "peak_mb": peak_mb(), "data_mb": data_mb,
              "humanness": report.humanness, "floor": report.floor, "drift": subsample["drift"],
              "drift_draws": subsample["draws"]}
    # What SDMetrics' QualityReport computes (column shapes and pair trends), alone, for a like-for-like time.
    started = time.perf_counter()
    h, s = frame_sample(human, "human"), frame_sample(synthetic, "synthetic")
    plan = plan_columns(h, s)
    column_shapes(h.frame, s.frame, plan)
    column_pairs(h.frame, s.frame, plan)
    result["shapes_pairs_seconds"] = time.perf_counter() - started
    if sdmetrics_python:
        with tempfile.TemporaryDirectory() as folder:
            human.to_csv(Path(folder) / "human.csv", index=False)
            synthetic.to_csv(Path(folder) / "synthetic.csv", index=False)
            output = subprocess.run([sdmetrics_python, __file__, "--sdmetrics-on", folder], check=True,
                                    capture_output=True, text=True).stdout
        result |= json.loads(output.strip().splitlines()[-1])
    return result


def sdmetrics_time(folder: str) -> dict:
    """SDMetrics' QualityReport and DiagnosticReport on the bench's data (run under SDMetrics' own Python)."""
    from sdmetrics.reports.single_table import DiagnosticReport, QualityReport

    human = pd.read_csv(Path(folder) / "human.csv", parse_dates=["joined"])
    synthetic = pd.read_csv(Path(folder) / "synthetic.csv", parse_dates=["joined"])
    columns = {name: {"sdtype": "numerical"} for name in NUMERIC}
    columns |= {"joined": {"sdtype": "datetime"}, "region": {"sdtype": "categorical"},
                "plan": {"sdtype": "categorical"}, "smoker": {"sdtype": "boolean"}}
    metadata = {"columns": columns}
    started = time.perf_counter()
    quality = QualityReport()
    quality.generate(human, synthetic, metadata, verbose=False)
    diagnostic = DiagnosticReport()
    diagnostic.generate(human, synthetic, metadata, verbose=False)
    return {"sdmetrics_seconds": time.perf_counter() - started, "sdmetrics_peak_mb": peak_mb(),
            "sdmetrics_quality": 100 * quality.get_score()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 1_000_000])
    parser.add_argument("--sdmetrics-python", help="A Python with sdmetrics installed (default: this one, if it has "
                                                   "sdmetrics, else the .venv-peers that `make test` builds).")
    parser.add_argument("--no-sdmetrics", action="store_true", help="Skip the SDMetrics comparison.")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sdmetrics-on", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sdmetrics_on:
        print(json.dumps(sdmetrics_time(args.sdmetrics_on)))
        return
    if args.one:
        print(json.dumps(one(args.one, args.sdmetrics_python)))
        return

    sdmetrics_python = None
    if not args.no_sdmetrics:
        peers = Path(__file__).resolve().parents[1] / ".venv-peers" / "bin" / "python"
        sdmetrics_python = args.sdmetrics_python or (sys.executable if importlib.util.find_spec("sdmetrics") else
                                                     str(peers) if peers.is_file() else None)
    results = []
    for rows in args.rows:
        command = [sys.executable, __file__, "--one", str(rows)]
        if sdmetrics_python:
            command += ["--sdmetrics-python", sdmetrics_python]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))

    print("| rows per sample | full report (s) | goal | peak memory (MB) | of which the data (MB) | humanness "
          "| noise floor | drift (points, draws) | ours, shapes + pairs only (s) | SDMetrics Quality + Diagnostic (s) "
          "| SDMetrics ÷ ours, like for like | full report ÷ SDMetrics (goal ≤ 1.0) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        goal = "≤ 3 s" if r["rows"] <= 20_000 else "≤ 30 s"
        sdm = f"{r['sdmetrics_seconds']:.1f}" if "sdmetrics_seconds" in r else "not run"
        ratio = f"{r['sdmetrics_seconds'] / r['shapes_pairs_seconds']:.1f}×" if "sdmetrics_seconds" in r else "–"
        full = f"{r['seconds'] / r['sdmetrics_seconds']:.2f}" if "sdmetrics_seconds" in r else "–"
        drift = "not measured (1 draw)" if r["drift"] is None else f"{r['drift']:.2f} ({r['drift_draws']})"
        print(f"| {r['rows']:,} | {r['seconds']:.2f} | {goal} | {r['peak_mb']:,.0f} | {r['data_mb']:,.0f} | "
              f"{r['humanness']:.1f} | {r['floor']:.1f} | {drift} | {r['shapes_pairs_seconds']:.2f} | {sdm} | "
              f"{ratio} | {full} |")
    print(f"\nHuman and synthetic samples of the stated size, plus a human holdout of {HOLDOUT_SHARE:.0%} of it; "
          "peak memory is our process's maximum resident set; SDMetrics ran in its own process on the same rows.")


if __name__ == "__main__":
    main()
