"""Decision-engine timings and the backtest that chose the curve form; prints Markdown tables.

    .venv/bin/python bench/bench_engine.py [--tasks 1000] [--outcomes-per-task 100] [--workers 2]

Goals (issue 3): recompute one task with 100 outcomes ≤ 0.3 s; refit 1,000 tasks × 100 outcomes ≤ 60 s
on 2 cores; read the stored portfolio of 1,000 tasks ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from strategy.backtest import backtest, backtest_summary  # noqa: E402
from strategy.catalog import Catalog  # noqa: E402
from strategy.demo import initialise  # noqa: E402
from strategy.learning import curve  # noqa: E402
from strategy.models import FACTOR_NAMES, Outcome, Task  # noqa: E402
from strategy.recommend import (  # noqa: E402
    Scenario,
    TaskEvidence,
    gather,
    portfolio,
    recommend_task,
    refit_portfolio,
)
from strategy.scenarios import whatif  # noqa: E402


def simulated_tasks(n_tasks: int, per_task: int, seed: int, penalty: bool = True) -> list[tuple[Task, np.ndarray]]:
    """Tasks whose outcomes come from known curves: profile-driven worth, saturation and penalty, plus noise."""
    rng = np.random.default_rng(seed)
    made = []
    for i in range(n_tasks):
        profile = {f: int(rng.integers(0, 5)) for f in FACTOR_NAMES}
        human_pull = np.mean([profile[f] for f in FACTOR_NAMES[:7]]) / 4
        truth = np.array([0.9, np.log(0.45), 0.8, float(np.clip(0.7 - 0.6 * human_pull + rng.normal(0, 0.05), 0, 1)),
                          np.log(rng.uniform(1000, 20000)), 0.08 * human_pull if penalty else 0.0,
                          np.log(rng.uniform(100, 2000))])
        n_h = rng.choice([0, 100, 300, 1000, 3000, 10000], per_task).astype(float)
        n_s = rng.choice([0, 1000, 3000, 10000, 30000, 100000], per_task).astype(float)
        n_h[(n_h + n_s) == 0] = 100
        values = curve(truth, n_h, n_s, "penalised")[0] + rng.normal(0, 0.01, per_task)
        task = Task(name=f"Simulated task {seed}-{i:05d}", domain="Simulated", modality="text", metric="accuracy",
                    budget=200_000, **profile)
        made.append((task, np.column_stack([n_h, n_s, values])))
    return made


def fill(catalog: Catalog, made) -> None:
    outcomes = [Outcome(task_id=task.id, n_human=int(h), n_synthetic=int(s), metric="accuracy", value=float(v))
                for task, rows in made for h, s, v in rows]
    catalog.write_batch({"tasks": [t for t, _ in made], "outcomes": outcomes}, actor="bench")


def engine_table(args) -> list[tuple[str, str, str]]:
    rows = []
    with tempfile.TemporaryDirectory() as folder, Catalog.open(Path(folder) / "scaled.duckdb") as catalog:
        fill(catalog, simulated_tasks(args.tasks, args.outcomes_per_task, seed=11))
        label = f"{args.tasks:,} tasks × {args.outcomes_per_task} outcomes"
        start = time.perf_counter()
        refit_portfolio(catalog, workers=args.workers)
        seconds = time.perf_counter() - start
        rows.append((label, f"refit every task, {args.workers} workers", f"{seconds:,.1f} s (goal ≤ 60 s)"))
        name = catalog.tasks()["name"].iloc[0]
        samples = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            recommend_task(catalog, name)
            samples.append(time.perf_counter() - start)
        rows.append((label, "recompute one task (posterior fit, plan, next experiment, store)",
                     f"{statistics.median(samples) * 1000:,.0f} ms (goal ≤ 300 ms)"))
        samples = []
        for budget in np.linspace(10_000, 200_000, args.repeat):
            start = time.perf_counter()
            whatif(catalog, name, Scenario(budget=float(budget)))
            samples.append(time.perf_counter() - start)
        rows.append((label, "what-if re-plan of one task from its stored fit (another budget)",
                     f"{statistics.median(samples) * 1000:,.0f} ms (goal ≤ 500 ms)"))
        samples = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            frame = portfolio(catalog)
            samples.append(time.perf_counter() - start)
        assert len(frame) == args.tasks
        rows.append((label, "read the stored portfolio",
                     f"{statistics.median(samples) * 1000:,.1f} ms (goal ≤ 50 ms)"))
        first, cold, warm = portfolio_page_ms(Path(folder) / "scaled.duckdb", args.repeat)
        rows.append((label, "portfolio page in AppTest, first page of a fresh process", f"{first:,.0f} ms"))
        rows.append((label, "portfolio page in AppTest, new session on a running server (nothing cached)",
                     f"{cold:,.0f} ms (goal ≤ 1,000 ms)"))
        rows.append((label, "portfolio page in AppTest, cached reads", f"{warm:,.0f} ms"))
    return rows


def portfolio_page_ms(location: Path, repeat: int) -> tuple[float, float, float]:
    """Render the portfolio page at this catalog's scale, in milliseconds: the first page of a fresh process
    (Python imports, Streamlit's one-off scan of installed packages for components), a new session once the
    server is running but with nothing cached (what a visitor waits for: every read hits the catalog), and
    later runs of that session (cached reads)."""
    import os

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["STRATEGY_CATALOG"] = str(location)

    def fresh_session() -> tuple[AppTest, float]:
        st.cache_data.clear()
        st.cache_resource.clear()
        app = AppTest.from_file(str(PROJECT / "app.py"), default_timeout=120)
        start = time.perf_counter()
        app.run()
        elapsed = (time.perf_counter() - start) * 1000
        assert not app.exception, app.exception
        assert len(app.dataframe[0].value) > 0
        return app, elapsed

    _, first = fresh_session()
    app, cold = fresh_session()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        app.run()
        samples.append((time.perf_counter() - start) * 1000)
    return first, cold, statistics.median(samples)


def backtest_table() -> list[tuple[str, str, dict]]:
    """The backtest behind the choice of curve form, on the demo outcomes and on simulated ones."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        demo, _ = initialise(str(Path(folder) / "demo.duckdb"), demo=True)
        with demo:
            sets = {"demo (165 outcomes)": gather(demo)}
        for penalty in (True, False):
            made = simulated_tasks(12, 14, seed=5 if penalty else 6, penalty=penalty)
            sets[f"simulated, {'with' if penalty else 'without'} penalty (168 outcomes)"] = [
                TaskEvidence(task=task, n_human=r[:, 0], n_synthetic=r[:, 1], values=r[:, 2]) for task, r in made]
        for name, evidence in sets.items():
            for form in ("linear", "saturating", "penalised", "surface"):
                rows.append((name, form, backtest_summary(backtest(None, form=form, evidence=evidence))))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--outcomes-per-task", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-backtest", action="store_true")
    args = parser.parse_args()

    print("| catalog | operation | median |")
    print("|---|---|---:|")
    for catalog, operation, figure in engine_table(args):
        print(f"| {catalog} | {operation} | {figure} |")
    if args.skip_backtest:
        return
    print()
    print("| outcomes | curve form | model | rules-only | task mean | model beats rules | 80% coverage |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, form, summary in backtest_table():
        errors = summary["relative_error"]
        coverage = summary.get("coverage_80")
        print(f"| {name} | {form} | {errors['model']:.3f} | {errors['rules']:.3f} | {errors['mean']:.3f} | "
              f"{summary['model_beats_rules']}/{summary['tasks']} | "
              f"{'–' if coverage is None else f'{coverage:.0%}'} |")


if __name__ == "__main__":
    main()
