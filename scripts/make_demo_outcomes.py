"""Write data/seed/outcomes.csv: illustrative experiment outcomes for the demo tasks.

These are NOT measured results. Each task gets a hidden "true" learning curve
whose shape follows its profile (the more a task leans on human judgement, the
less a synthetic sample is worth and the more a large synthetic share hurts),
and outcomes are drawn from it with noise at several human/synthetic mixes.
The curve is the one the design proposes: synthetic samples count as a
fraction of a human sample and saturate, and a penalty grows with the
synthetic share once human data is plentiful (evidence.md §1–2).

Run it again and the file comes out byte for byte the same (fixed seed):

    python scripts/make_demo_outcomes.py
"""

from __future__ import annotations

import csv
import math
import re
import sys
from pathlib import Path

import numpy as np

SEED = 20261124
HERE = Path(__file__).resolve().parent
SEED_DIR = HERE.parent / "data" / "seed"
HUMAN_FACTORS = ["interaction", "context_dependence", "evolving_language", "cultural_knowledge",
                 "domain_expertise", "subjectivity", "safety_risk"]
SYNTHETIC_FACTORS = ["volume_needed", "rare_events", "balance_needed", "robustness_variations",
                     "privacy_limits", "human_data_scarcity"]
# Each metric's value with no useful data and at perfection, in its own unit;
# for error metrics (lower is better) the first number is the larger.
METRIC_RANGES = {
    "AUROC": (0.5, 1.0), "AUPRC": (0.05, 1.0), "F1": (0.2, 1.0), "accuracy": (0.4, 1.0),
    "resolution rate": (0.2, 1.0), "recall at 1% false positives": (0.05, 1.0), "COMET": (0.3, 1.0),
    "pass@1": (0.05, 1.0), "word error rate": (0.6, 0.04), "RMSE": (1.2, 0.15),
}
RUNS_PER_TASK = 11
NOTE = "Illustrative: drawn from a simulated learning curve, not a measured result."


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def true_curve(profile: dict[str, int], rng: np.random.Generator) -> dict[str, float]:
    """Hidden parameters of one task's curve, derived from its profile plus some jitter."""
    human = sum(profile[f] for f in HUMAN_FACTORS) / (4 * len(HUMAN_FACTORS))
    synthetic = sum(profile[f] for f in SYNTHETIC_FACTORS) / (4 * len(SYNTHETIC_FACTORS))
    scale = 100 * 3 ** profile["volume_needed"] / 3
    return {
        "scale": scale,
        "worth": float(np.clip(0.2 + 0.8 * synthetic - 0.6 * human + rng.normal(0, 0.05), 0.03, 0.9)),
        "saturation": scale * (1 + 6 * synthetic),
        "ceiling": float(np.clip(0.97 - 0.15 * human + rng.normal(0, 0.02), 0.6, 0.98)),
        "alpha": 0.7 + rng.uniform(0, 0.4),
        "penalty": 0.01 + 0.10 * human,
    }


def expected(curve: dict[str, float], n_human: float, n_synthetic: float) -> float:
    """Expected quality at a mix: 0 is what no useful data gives, 1 is perfection."""
    effective = n_human + curve["worth"] * curve["saturation"] * (1 - math.exp(-n_synthetic / curve["saturation"]))
    learned = curve["ceiling"] * (1 - (1 + effective / curve["scale"]) ** (-curve["alpha"]))
    share = n_synthetic / (n_human + n_synthetic)
    plentiful = n_human / (n_human + curve["scale"])
    return learned - curve["penalty"] * share * plentiful


def unit_costs(datasets: list[dict], task: str) -> tuple[float, float]:
    by_kind = {row["source_kind"]: float(row["cost_per_sample"]) for row in datasets if row["task"] == task}
    return by_kind.get("human", 1.20), by_kind.get("synthetic", 0.004)


def main(out: Path = SEED_DIR / "outcomes.csv") -> int:
    rng = np.random.default_rng(SEED)
    with open(SEED_DIR / "tasks.csv", newline="", encoding="utf-8") as handle:
        tasks = list(csv.DictReader(handle))
    with open(SEED_DIR / "datasets.csv", newline="", encoding="utf-8") as handle:
        datasets = list(csv.DictReader(handle))
    # Tasks whose outcomes are measured (scripts/make_measured_demo.py) get no illustrative ones.
    measured_file = SEED_DIR / "measured_outcomes.csv"
    if measured_file.exists():
        with open(measured_file, newline="", encoding="utf-8") as handle:
            measured = {row["task"] for row in csv.DictReader(handle)}
        tasks = [task for task in tasks if task["name"] not in measured]
    rows = []
    for task in tasks:
        profile = {f: int(task[f]) for f in HUMAN_FACTORS + SYNTHETIC_FACTORS}
        curve = true_curve(profile, rng)
        base = curve["scale"]
        grid = [(h, s) for h in (0, base / 4, base, 4 * base) for s in (0, base, 4 * base, 16 * base) if h + s > 0]
        chosen = rng.choice(len(grid), size=RUNS_PER_TASK, replace=False)
        human_cost, synthetic_cost = unit_costs(datasets, task["name"])
        pretrain = task["modality"] in {"image", "text"} and profile["domain_expertise"] >= 2
        for run, index in enumerate(sorted(chosen), start=1):
            n_human, n_synthetic = (int(round(x)) for x in grid[index])
            quality = expected(curve, n_human, n_synthetic) + rng.normal(0, 0.012)
            worst, best = METRIC_RANGES[task["metric"]]
            value = worst + (best - worst) * min(max(quality, 0.0), 1.0)
            if n_synthetic == 0:
                regime = "human_only"
            elif n_human == 0:
                regime = "synthetic_only"
            else:
                regime = "synthetic_pretrain_human_finetune" if pretrain and run % 2 else "mixed"
            rows.append({
                "task": task["name"],
                "n_human": n_human,
                "n_synthetic": n_synthetic,
                "metric": task["metric"],
                "value": f"{value:.4f}",
                "higher_is_better": task["higher_is_better"],
                "regime": regime,
                "human_eval": "true",
                "cost": f"{n_human * human_cost + n_synthetic * synthetic_cost:.2f}",
                "run_id": f"demo-{slug(task['name'])}-{run:02d}",
                "notes": NOTE,
            })
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} illustrative outcomes for {len(tasks)} tasks to {out.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else SEED_DIR / "outcomes.csv"))
