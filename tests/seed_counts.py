"""The demo seed's row counts, read from data/seed/, so tests follow the seed instead of repeating numbers.

The demo has illustrative tasks (outcomes.csv, simulated) and measured tasks (measured_outcomes.csv, real
training runs from the decision benchmark's grid); both kinds are counted here.
"""

from __future__ import annotations

import csv
from collections import Counter

from strategy.demo import SEED_DIR


def seed_rows(name: str) -> list[dict[str, str]]:
    """The data rows of one seed file (header excluded); none for an optional file that is absent."""
    if name == "measured_outcomes.csv" and not (SEED_DIR / name).exists():
        return []  # strategy.demo loads it only when present
    with open(SEED_DIR / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


TASK_NAMES = [row["name"] for row in seed_rows("tasks.csv")]
TASKS = len(TASK_NAMES)
DATASETS = len(seed_rows("datasets.csv"))
ILLUSTRATIVE_OUTCOMES = len(seed_rows("outcomes.csv"))
MEASURED_OUTCOMES = len(seed_rows("measured_outcomes.csv"))
OUTCOMES = ILLUSTRATIVE_OUTCOMES + MEASURED_OUTCOMES
# Outcomes per task name, and which tasks have measured outcomes rather than illustrative ones.
OUTCOMES_PER_TASK = Counter(row["task"] for row in seed_rows("outcomes.csv") + seed_rows("measured_outcomes.csv"))
MEASURED_TASKS = frozenset(row["task"] for row in seed_rows("measured_outcomes.csv"))
ILLUSTRATIVE_TASKS = frozenset(row["task"] for row in seed_rows("outcomes.csv"))
ILLUSTRATIVE_RUNS_PER_TASK = 11  # scripts/make_demo_outcomes.py's RUNS_PER_TASK
MEASURED_RUNS_PER_TASK = 14  # scripts/make_measured_demo.py's CELLS
