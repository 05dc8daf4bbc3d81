"""The demo's leave-one-out backtest, and its rules-only baseline fitted both ways side by side: the closed form
the engine uses and the bounded iterative fit it replaced, on the same pinned-shape problems; prints a table.

    .venv/bin/python bench/bench_backtest.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from strategy.backtest import _rules_shape, backtest  # noqa: E402
from strategy.demo import initialise  # noqa: E402
from strategy.learning import LearningCurve, Prior  # noqa: E402
from strategy.recommend import gather  # noqa: E402
from strategy.rules import default_rulebook  # noqa: E402


def pinned_problems(evidence) -> list[tuple]:
    """Every rules-only fit the backtest makes: each task's outcomes less one, with the rules' shape pinned."""
    rulebook, problems = default_rulebook(), []
    for item in evidence:
        if item.count < 4 or not item.enough_for_model():
            continue
        for held in range(item.count):
            keep = np.arange(item.count) != held
            problems.append((item.n_human[keep], item.n_synthetic[keep], item.values[keep],
                             _rules_shape(item, rulebook), item.task.higher_is_better))
    return problems


def iterative(n_h, n_s, y, shape, higher) -> float:
    """The fit before the closed form: trust-region least squares over all seven parameters, four pinned by
    their bounds, from the curve's two starts (its settings as they were); returns its cost."""
    curve = LearningCurve(form="saturating", fixed_shape=shape, higher_is_better=higher)
    y = (1.0 if higher else -1.0) * np.asarray(y, float)
    curve.spread_ = max(float(np.ptp(y)), 1e-3 * max(abs(float(np.mean(y))), 1.0))
    prior = Prior.default(n_h, n_s)
    lower, upper = curve._bounds()
    best = None
    for x0 in curve._starts(n_h, n_s, y, prior):
        result = least_squares(curve._residuals, np.clip(x0, lower, upper), jac=curve._jacobian, bounds=(lower, upper),
                               args=(n_h, n_s, y, prior), method="trf", x_scale="jac", max_nfev=100, ftol=1e-7,
                               xtol=1e-7)
        best = result if best is None or result.cost < best.cost else best
    return float(best.cost)


def closed_form(n_h, n_s, y, shape, higher) -> float:
    fitted = LearningCurve(form="saturating", fixed_shape=shape, higher_is_better=higher).fit(n_h, n_s, y)
    return 0.5 * float(np.sum((fitted.predict(n_h, n_s) - np.asarray(y, float)) ** 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measure; the median is shown")
    args = parser.parse_args()
    catalog, _ = initialise(str(Path(tempfile.mkdtemp()) / "demo.duckdb"), demo=True)
    with catalog:
        evidence = gather(catalog)
        problems = pinned_problems(evidence)
        rows = []
        for label, fit in (("bounded iterative fit (before)", iterative), ("closed form (now)", closed_form)):
            seconds, costs = [], []
            for _ in range(args.repeat):
                start = time.perf_counter()
                costs = [fit(*problem) for problem in problems]
                seconds.append(time.perf_counter() - start)
            rows.append((label, statistics.median(seconds), float(np.sum(costs))))
        runs = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            backtest(catalog, evidence=evidence)
            runs.append(time.perf_counter() - start)
    print(f"{len(problems)} rules-only fits of the demo's backtest\n")
    print("| measure | seconds | summed squared error |\n|---|---:|---:|")
    for label, seconds, cost in rows:
        print(f"| rules-only baseline, {label} | {seconds:.2f} | {cost:.6g} |")
    print(f"| the whole demo backtest (closed form), median of {args.repeat} | {statistics.median(runs):.2f} | |")


if __name__ == "__main__":
    main()
