"""Write data/seed/measured_outcomes.csv: measured outcomes for the demo's three measured tasks.

Unlike data/seed/outcomes.csv (drawn from simulated curves by make_demo_outcomes.py), these are real
training runs, copied from the decision benchmark's measured grid, bench/data/decision_grid.csv (written by
scripts/measure_decision_grid.py: a real labelled table that ships inside an installed package, a learner
trained at a grid of human × synthetic row counts, accuracy on held-out real rows). Each measured task is
one (table, generator, learner) case of the grid, at the same 14 mixes, with repeat 0's value, written
exactly as the grid writes it (6 decimals).

Nothing is drawn at random: run it again and the file comes out byte for byte the same.

    .venv/bin/python scripts/make_measured_demo.py                    # → data/seed/measured_outcomes.csv
    .venv/bin/python scripts/make_measured_demo.py --out runs.csv     # anywhere else (- for standard output)

A cell missing from the grid stops the script with the list of missing cells; nothing is written.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
GRID = PROJECT / "bench" / "data" / "decision_grid.csv"
OUTPUT = PROJECT / "data" / "seed" / "measured_outcomes.csv"

# (demo task name, table, generator, learner): the names must match data/seed/tasks.csv.
CASES = [
    ("Handwritten digit reading (measured)", "digits", "gaussian", "logistic"),
    ("Affair survey prediction, noisy synthetic labels (measured)", "fair", "noisy", "logistic"),
    ("Breast tumour biopsy classification (measured)", "breast_cancer", "smote", "forest"),
]
# Which installed package each table ships in (as scripts/measure_decision_grid.py's SOURCES says).
PACKAGES = {"digits": "scikit-learn", "fair": "statsmodels", "breast_cancer": "scikit-learn"}
# (n_human, n_synthetic): human data alone, synthetic alone, and mixes, from scarce to plentiful.
CELLS = [(10, 0), (20, 0), (40, 0), (80, 0), (0, 100), (10, 25), (10, 100), (20, 100), (0, 400), (10, 400),
         (20, 400), (40, 100), (40, 400), (80, 400)]
REPEAT = "0"
METRIC = "accuracy"
# The benchmark's price assumption (100:1): a human row costs a dollar, a synthetic row a cent.
HUMAN_COST, SYNTHETIC_COST = 1.00, 0.01
COLUMNS = ["task", "n_human", "n_synthetic", "metric", "value", "higher_is_better", "regime", "human_eval",
           "cost", "run_id", "notes"]


def read_grid(path: Path) -> dict[tuple[str, ...], str]:
    """The grid's accuracy values as written (text, not re-formatted), by table/generator/learner/cell."""
    with open(path, newline="", encoding="utf-8") as handle:
        return {(row["table"], row["generator"], row["learner"], row["n_human"], row["n_synthetic"]): row["value"]
                for row in csv.DictReader(handle) if row["repeat"] == REPEAT and row["metric"] == METRIC}


def regime(n_human: int, n_synthetic: int) -> str:
    if n_synthetic == 0:
        return "human_only"
    return "synthetic_only" if n_human == 0 else "mixed"


def measured_rows(grid: dict[tuple[str, ...], str]) -> list[dict[str, str]]:
    """Every measured outcome; raise SystemExit naming each cell the grid lacks."""
    rows, missing = [], []
    for task, table, generator, learner in CASES:
        note = (f"Measured: {table} table ({PACKAGES[table]}), {generator} synthetic generator, {learner} learner; "
                f"accuracy on held-out real rows (bench/data/decision_grid.csv, repeat {REPEAT}).")
        slug = "-".join(part.replace("_", "-") for part in (table, generator, learner))
        for run, (n_human, n_synthetic) in enumerate(CELLS, start=1):
            value = grid.get((table, generator, learner, str(n_human), str(n_synthetic)))
            if value is None:
                missing.append(f"{table}/{generator}/{learner} at n_human={n_human}, n_synthetic={n_synthetic}")
                continue
            rows.append({
                "task": task, "n_human": str(n_human), "n_synthetic": str(n_synthetic), "metric": METRIC,
                "value": value, "higher_is_better": "true", "regime": regime(n_human, n_synthetic),
                "human_eval": "true", "cost": f"{n_human * HUMAN_COST + n_synthetic * SYNTHETIC_COST:.2f}",
                "run_id": f"measured-{slug}-{run:02d}", "notes": note,
            })
    if missing:
        raise SystemExit(f"{len(missing)} cell(s) missing from the grid (repeat {REPEAT}, metric {METRIC}):\n  "
                         + "\n  ".join(missing))
    return rows


def render(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=Path, default=GRID, help="the measured grid (default: %(default)s)")
    parser.add_argument("--out", default=str(OUTPUT), help="where to write; - for standard output")
    args = parser.parse_args(argv)
    rows = measured_rows(read_grid(args.grid))
    text = render(rows)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        with open(args.out, "w", newline="", encoding="utf-8") as handle:
            handle.write(text)
        print(f"wrote {len(rows)} measured outcomes for {len(CASES)} tasks to {Path(args.out).name}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
