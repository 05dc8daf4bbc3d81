"""Real-data decision benchmark (issue 17): the engine's plans against fixed policies, scored by regret on
measured training runs (bench/data/decision_grid.csv; see bench/decisions.py for the definitions).

    .venv/bin/python bench/bench_decisions.py                # every case, 2 pilot draws each; engine in process
    .venv/bin/python bench/bench_decisions.py --quick        # logistic regression only, one pilot draw per case
    .venv/bin/python bench/bench_decisions.py --json         # the summary as JSON instead of tables
    .venv/bin/python bench/bench_decisions.py --engine catalog          # through a catalog (slower)
    .venv/bin/python bench/bench_decisions.py --engine mypackage.module:policy   # any engine callable

An ``--engine`` given as ``module:name`` names a callable ``(pilot_rows, budget, prices) -> (n_human,
n_synthetic)``, or a class whose instances are one. Regret is in accuracy points (percentage points of
held-out accuracy); lower is better, 0 is the best affordable plan.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from threadpoolctl import threadpool_limits  # noqa: E402

from bench import decisions  # noqa: E402

QUICK_LEARNERS = ("logistic",)
# Two pilot draws per case keep today's engine (30 bootstrap refits per pilot) within about 10 minutes on one
# core; --pilot-repeats 5 scores every repeat.
DEFAULT_PILOT_REPEATS = 2


def load_engine(spec: str):
    if spec == "direct":
        return decisions.DirectEngine()
    if spec == "catalog":
        return decisions.CatalogEngine()
    module, _, name = spec.partition(":")
    target = getattr(importlib.import_module(module), name)
    return target() if isinstance(target, type) else target


def markdown(rows: list[dict], columns: list[str], formats: dict | None = None) -> str:
    formats = formats or {}
    lines = ["| " + " | ".join(columns) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(columns))) + "|"]
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column, "")
            if isinstance(value, float):
                value = formats.get(column, "{:.2f}").format(value)
            cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def points(rows: list[dict], keep: list[str]) -> list[dict]:
    """Regrets in accuracy points (×100) for printing."""
    return [{k: (v * 100 if k not in keep and isinstance(v, float) else v) for k, v in row.items()} for row in rows]


def check_adapters(all_cases, count: int) -> dict:
    """The catalog path and the in-process path choose the same plans (a few cases, every budget and price)."""
    direct, catalog = decisions.DirectEngine(), decisions.CatalogEngine()
    compared = same = 0
    mismatches = []
    try:
        step = max(len(all_cases) // max(count, 1), 1)
        for case in all_cases[::step][:count]:
            for size in decisions.PILOTS:
                pilot = decisions.pilot_rows(case, size, 0)
                for price in decisions.PRICES.values():
                    for budget in decisions.budgets_for(case, price):
                        a, b = direct(pilot, budget, price), catalog(pilot, budget, price)
                        compared += 1
                        same += a == b
                        if a != b:
                            mismatches.append({"case": case.name, "pilot": size, "budget": budget,
                                               "prices": list(price), "direct": a, "catalog": b})
    finally:
        catalog.close()
    return {"compared": compared, "same": same, "mismatches": mismatches}


def report(summary: dict, seconds: float, engine: str, adapters: dict | None) -> str:
    columns = summary["columns"]
    out = [f"## Decision benchmark — engine `{engine}`, metric {summary['metric']}", "",
           f"{summary['cases']} cases (table × generator × learner), {summary['scenarios']} scenarios "
           f"(case × price ratio × budget); best plan: {summary['best_plan_class']['human']:.0%} human, "
           f"{summary['best_plan_class']['mixed']:.0%} mixed, {summary['best_plan_class']['synthetic']:.0%} "
           f"synthetic by spend; {summary['best_plan_outside_grid']:.0%} of best plans need more synthetic rows "
           f"than the grid measured (clamped).", "",
           "Mean regret, accuracy points (lower is better):", "",
           markdown(points(summary["families"], ["family"]), ["family", *columns]), "",
           f"Share of scenario draws where the engine beats or ties (within {decisions.TIE * 100:.1f} points) "
           "each fixed policy:", "",
           markdown(summary["engine_beats_or_ties"], ["pilot", "scenarios", "engine failed",
                                                      *decisions.FIXED_POLICIES, decisions.HINDSIGHT],
                    dict.fromkeys([*decisions.FIXED_POLICIES, decisions.HINDSIGHT], "{:.0%}")), "",
           "Plans by class of spend (human ≥ 80% of spend on human data, synthetic ≤ 20%):", "",
           markdown(summary["plan_classes"], ["plans", *decisions.CLASSES],
                    dict.fromkeys(decisions.CLASSES, "{:.0%}")), "",
           "Per table: human-only mean regret and the engine's minus it (negative: the engine does better), "
           "accuracy points:", ""]
    table_columns = ["table", "human only"] + [c for c in summary["per_table"][0] if c.startswith("engine")]
    out += [markdown(points(summary["per_table"], ["table"]), table_columns), ""]
    costs = "; ".join(f"{ratio}: " + ", ".join(f"{size} runs ${cost:.0f}" for size, cost in sizes.items())
                      for ratio, sizes in summary["pilot_cost"].items())
    out.append(f"Pilot data cost (bought once, runs are nested subsets), in USD = human-sample equivalents: {costs}. "
               f"Budgets: {', '.join(str(b) for b in decisions.BUDGETS_IN_HUMAN_SAMPLES)} human samples "
               "(up to the case's largest measured human count).")
    if adapters is not None:
        out.append(f"Catalog path vs in-process path: {adapters['same']} of {adapters['compared']} plans identical.")
    out.append(f"Run time: {seconds:.0f} s.")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="logistic regression only, one pilot draw per case")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--engine", default="direct", help="direct (default), catalog, or module:callable")
    parser.add_argument("--grid", default=str(decisions.GRID_PATH), help="the measured grid CSV")
    parser.add_argument("--pilot-repeats", type=int, default=None,
                        help=f"pilot draws per case, from the first repeats (default {DEFAULT_PILOT_REPEATS}; "
                             "--quick: 1; the grid has 5)")
    parser.add_argument("--check-adapters", type=int, default=3, metavar="CASES",
                        help="compare the catalog and in-process adapters on this many cases (0: skip)")
    parser.add_argument("--rows", help="also write every scored plan to this CSV")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    all_cases = decisions.cases(decisions.load_grid(args.grid))
    repeats = args.pilot_repeats
    if args.quick:
        all_cases = [c for c in all_cases if c.learner in QUICK_LEARNERS]
        repeats = 1 if repeats is None else repeats
    repeats = DEFAULT_PILOT_REPEATS if repeats is None else repeats
    engine = load_engine(args.engine)
    with threadpool_limits(1):
        count = [0]

        def progress(name):
            count[0] += 1
            print(f"[{count[0]:3d}/{len(all_cases)}] {name} ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)

        results = decisions.score(all_cases, engine, pilot_repeats=repeats, progress=progress)
        adapters = check_adapters(all_cases, args.check_adapters) if args.check_adapters else None
        calibration = None
        if args.engine == "direct":  # the interval belongs to the engine's own fit
            table = decisions.coverage(all_cases, pilot_repeats=repeats)
            weighted = table.assign(inside=table["covered"] * table["held_out"])
            by_pilot = weighted.groupby("pilot")[["inside", "held_out"]].sum()
            calibration = {"overall": float(weighted["inside"].sum() / weighted["held_out"].sum()),
                           **{f"pilot {p}": float(r["inside"] / r["held_out"]) for p, r in by_pilot.iterrows()},
                           "held_out_runs": int(weighted["held_out"].sum()),
                           "calibrated": decisions.calibrated_coverage(table)}
    if hasattr(engine, "close"):
        engine.close()
    seconds = time.perf_counter() - started
    summary = decisions.summarise(results)
    if args.rows:
        results.to_csv(args.rows, index=False)
    if args.json:
        print(json.dumps(summary | {"regret_units": "accuracy (0-1); the printed tables show points (x100)",
                                    "engine": args.engine, "quick": args.quick, "pilot_repeats": repeats,
                                    "seconds": round(seconds, 1),
                                    "adapters": adapters, "calibration": calibration}, indent=2))
    else:
        print(report(summary, seconds, args.engine, adapters))
        if calibration:
            parts = ", ".join(f"{k} {v:.0%}" for k, v in calibration.items() if k.startswith("pilot"))
            calibrated = calibration["calibrated"]
            scaled = ", ".join(f"{k} {v:.0%}" for k, v in calibrated.items() if k.startswith("pilot"))
            print(f"Calibration: the engine's 80% intervals, fitted on each pilot, covered "
                  f"{calibration['overall']:.0%} of {calibration['held_out_runs']:,} held-out measured runs "
                  f"({parts}; goal 75–85%). Calibrated as a catalog of the other tables' pilots would "
                  f"calibrate them (width ×{calibrated['scale_min']:.2f}–{calibrated['scale_max']:.2f}, from "
                  f"their leave-one-out misses), they covered {calibrated['overall']:.0%} ({scaled}).")
    return 1 if adapters and adapters["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
