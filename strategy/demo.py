"""Demo content: the seed files in data/seed/ loaded into a catalog in one transaction.

Most of the seed's outcomes are illustrative (outcomes.csv, drawn from
simulated curves by scripts/make_demo_outcomes.py) and are stored with
source = 'illustrative' so no one mistakes them for measured results. Three
tasks, named "(measured)", have real training runs instead
(measured_outcomes.csv, copied by scripts/make_measured_demo.py from the
decision benchmark's grid, bench/data/decision_grid.csv: a public table, a
synthetic generator and a learner, scored on held-out real rows); they are
stored with source = 'measured'. The sample files behind the demo's humanness
reports (data/seed/samples/, from scripts/make_demo_samples.py) are
illustrative.
"""

from __future__ import annotations

from pathlib import Path

from strategy.access import Permission
from strategy.catalog import Catalog
from strategy.errors import ImportRejected, Problem
from strategy.ingest import read_rows, read_tasks, validate_rows
from strategy.models import CostTier, Dataset, Outcome, QualityReport
from strategy.quality.report import assess, report_record
from strategy.quality.samples import dataset_sample

SEED_DIR = Path(__file__).resolve().parent.parent / "data" / "seed"
DEMO_ACTOR = "demo seed"
# The outcome files of the seed and the source their rows are stored with; only outcomes.csv is required.
OUTCOME_FILES = (("outcomes.csv", "illustrative"), ("measured_outcomes.csv", "measured"))


def _with_task_ids(label: str, rows: list[dict], ids_by_name: dict[str, str]) -> list[dict]:
    """Swap the human-readable ``task`` column for the task's id; unknown names are problems."""
    problems, resolved = [], []
    for position, row in enumerate(rows, start=1):
        row = dict(row)
        name = row.pop("task", None)
        if name is None:
            problems.append(Problem(label, position, "task", "is required"))
        elif name.strip().lower() not in ids_by_name:
            problems.append(Problem(label, position, "task", f"no task named {name!r} in tasks.csv"))
        else:
            row["task_id"] = ids_by_name[name.strip().lower()]
        resolved.append(row)
    if problems:
        raise ImportRejected(problems)
    return resolved


def read_demo(seed_dir: Path = SEED_DIR) -> dict[str, list]:
    """Read and validate every seed file; raise ImportRejected before anything is written."""
    tasks = [t.model_copy(update={"source": "demo"}) for t in read_tasks(seed_dir / "tasks.csv")]
    ids_by_name = {t.name.strip().lower(): t.id for t in tasks}

    label, rows, _ = read_rows(seed_dir / "cost_tiers.csv")
    tiers = validate_rows(label, rows, CostTier)

    label, rows, _ = read_rows(seed_dir / "datasets.csv")
    datasets = validate_rows(label, _with_task_ids(label, rows, ids_by_name), Dataset,
                             prepare=lambda row: {**row, "source": "demo", "location": _located(seed_dir, row)})

    outcomes = []
    for name, source in OUTCOME_FILES:
        if name != "outcomes.csv" and not (seed_dir / name).exists():
            continue
        label, rows, _ = read_rows(seed_dir / name)
        outcomes += validate_rows(label, _with_task_ids(label, rows, ids_by_name), Outcome,
                                  prepare=lambda row, source=source: {**row, "source": source})
    return {"tasks": tasks, "cost_tiers": tiers, "datasets": datasets, "outcomes": outcomes,
            "quality_reports": demo_reports(seed_dir, datasets)}


def _located(seed_dir: Path, row: dict) -> str:
    # Sample files ship beside the seed; the catalog records where they are on this machine.
    location = (row.get("location") or "").strip()
    return str((seed_dir / location).resolve()) if location else ""


def demo_reports(seed_dir: Path, datasets: list[Dataset]) -> list[QualityReport]:
    """Humanness reports for the demo's sample files, computed before anything is written."""
    path = seed_dir / "assessments.csv"
    if not path.exists():
        return []
    label, rows, _ = read_rows(path)
    by_name = {d.name.strip().lower(): d for d in datasets}
    reports, problems = [], []
    for position, row in enumerate(rows, start=1):
        pair = [by_name.get((row.get(role) or "").strip().lower()) for role in ("synthetic", "human")]
        for role, found in zip(("synthetic", "human"), pair, strict=True):
            if found is None:
                problems.append(Problem(label, position, role, f"no dataset named {row.get(role)!r} in datasets.csv"))
        if None in pair:
            continue
        synthetic, human = pair
        # The seed folder's own samples are read from where the seed lives (a copy elsewhere in tests).
        roots = [path.parent / "samples"]
        assessment = assess(dataset_sample(human.model_dump(), roots=roots),
                            dataset_sample(synthetic.model_dump(), roots=roots),
                            text_column=row.get("text_column") or None, segment_column=row.get("segment") or None)
        reports.append(report_record(assessment, dataset_id=synthetic.id, task_id=synthetic.task_id,
                                     reference_dataset_id=human.id))
    if problems:
        raise ImportRejected(problems)
    return reports


def load_demo(catalog: Catalog, seed_dir: Path = SEED_DIR) -> dict[str, int]:
    """Write the demo content in one transaction: all of it or none."""
    return catalog.write_batch(read_demo(seed_dir), actor=DEMO_ACTOR, action="seed demo",
                               needs=[Permission.ADMINISTER_THE_CATALOG])


def initialise(location: str | None = None, *, demo: bool = True, seed_dir: Path = SEED_DIR,
               data_path: str | None = None) -> tuple[Catalog, dict[str, int]]:
    """Create or migrate a catalog; load the demo only into a catalog with no tasks.

    Idempotent: running it again changes nothing. Returns the open catalog and
    what was loaded (empty when nothing was).
    """
    catalog = Catalog.open(location, data_path=data_path)
    try:
        loaded = {}
        if demo and catalog.counts()["tasks"] == 0:
            loaded = load_demo(catalog, seed_dir)
    except BaseException:
        catalog.close()
        raise
    return catalog, loaded
