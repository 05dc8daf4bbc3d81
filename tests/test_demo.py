"""The demo seed: enough realistic content, clearly marked illustrative or measured, loaded all or nothing."""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from strategy.catalog import Catalog
from strategy.demo import SEED_DIR, initialise, read_demo
from strategy.errors import ImportRejected
from tests import seed_counts
from tests.conftest import PROJECT


def test_demo_has_enough_profiled_tasks(demo_catalog):
    tasks = demo_catalog.tasks()
    assert len(tasks) >= 12
    assert set(tasks["source"]) == {"demo"}
    # Every task is profiled: no task has an all-zero profile.
    from strategy.models import FACTOR_NAMES
    assert (tasks[list(FACTOR_NAMES)].sum(axis=1) > 0).all()


def test_demo_outcomes_are_marked_illustrative_or_measured_at_several_mixes(demo_catalog):
    outcomes = demo_catalog.outcomes()
    assert len(outcomes) >= 150
    assert set(outcomes["source"]) == {"illustrative", "measured"}
    illustrative = outcomes[outcomes["source"] == "illustrative"]
    assert len(illustrative) == seed_counts.ILLUSTRATIVE_OUTCOMES
    assert illustrative["notes"].str.startswith("Illustrative").all()
    measured = outcomes[outcomes["source"] == "measured"]
    assert len(measured) == seed_counts.MEASURED_OUTCOMES
    assert measured["notes"].str.startswith("Measured").all()
    mixes = outcomes.groupby("task_id")["human_share"].nunique()
    assert (mixes >= 3).all(), "every demo task should have outcomes at three or more human shares"
    assert ((outcomes["human_share"] > 0) & (outcomes["human_share"] < 1)).any()


def test_demo_costs_cite_their_source(demo_catalog):
    datasets = demo_catalog.datasets()
    assert {"human", "synthetic"} <= set(datasets["source_kind"])
    assert (datasets["cost_source"].str.len() > 10).all()
    tiers = demo_catalog.cost_tiers()
    assert {"crowd", "skilled", "expert"} <= set(tiers["name"])
    assert tiers["cost_source"].str.contains("evidence.md").all()
    expert = tiers.set_index("name").loc["expert", "cost_per_sample"]
    crowd = tiers.set_index("name").loc["crowd", "cost_per_sample"]
    assert expert > 100 * crowd


def test_initialise_twice_changes_nothing(demo_path):
    catalog, loaded = initialise(str(demo_path), demo=True)
    with catalog:
        assert loaded == {}
        assert catalog.counts()["tasks"] == seed_counts.TASKS
        assert catalog.counts()["outcomes"] == seed_counts.OUTCOMES


def test_generator_reproduces_the_tracked_outcomes(tmp_path):
    # The script skips the measured tasks (their outcomes are real runs, in measured_outcomes.csv).
    out = tmp_path / "outcomes.csv"
    subprocess.run([sys.executable, str(PROJECT / "scripts" / "make_demo_outcomes.py"), str(out)],
                   check=True, capture_output=True)
    assert out.read_bytes() == (SEED_DIR / "outcomes.csv").read_bytes()
    written = {row["task"] for row in csv.DictReader(out.read_text(encoding="utf-8").splitlines())}
    assert written == set(seed_counts.ILLUSTRATIVE_TASKS) and not written & set(seed_counts.MEASURED_TASKS)


MEASURED_SCRIPT = PROJECT / "scripts" / "make_measured_demo.py"


def test_measured_outcomes_script_reproduces_the_tracked_file(tmp_path):
    out = tmp_path / "measured_outcomes.csv"
    subprocess.run([sys.executable, str(MEASURED_SCRIPT), "--out", str(out)], check=True, capture_output=True)
    assert out.read_bytes() == (SEED_DIR / "measured_outcomes.csv").read_bytes()


def test_measured_outcomes_script_refuses_a_grid_missing_a_cell(tmp_path):
    lines = (PROJECT / "bench" / "data" / "decision_grid.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    cell = "fair,noisy,logistic,10,400,0,accuracy,"
    assert sum(line.startswith(cell) for line in lines) == 1
    grid = tmp_path / "grid.csv"
    grid.write_text("".join(line for line in lines if not line.startswith(cell)), encoding="utf-8")
    out = tmp_path / "measured_outcomes.csv"
    result = subprocess.run([sys.executable, str(MEASURED_SCRIPT), "--grid", str(grid), "--out", str(out)],
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "fair/noisy/logistic at n_human=10, n_synthetic=400" in result.stderr
    assert not out.exists()


def _measured_cases() -> list[tuple[str, str, str, str]]:
    spec = importlib.util.spec_from_file_location("make_measured_demo", MEASURED_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CASES


def test_measured_tasks_carry_real_runs_apart_from_the_illustrative_ones(demo_catalog):
    tasks = demo_catalog.tasks().set_index("name")
    names = dict(zip(tasks["id"], tasks.index, strict=True))
    outcomes = demo_catalog.outcomes()
    outcomes = outcomes.assign(task_name=outcomes["task_id"].map(names))
    measured = outcomes[outcomes["source"] == "measured"]
    illustrative = outcomes[outcomes["source"] == "illustrative"]
    # No task mixes the two kinds, every task has one kind, and the measured ones say so in their name.
    assert set(measured["task_name"]) == seed_counts.MEASURED_TASKS and len(seed_counts.MEASURED_TASKS) == 3
    assert set(illustrative["task_name"]) == seed_counts.ILLUSTRATIVE_TASKS
    assert not seed_counts.MEASURED_TASKS & seed_counts.ILLUSTRATIVE_TASKS
    assert set(tasks.index) == seed_counts.MEASURED_TASKS | seed_counts.ILLUSTRATIVE_TASKS
    assert all(name.endswith("(measured)") for name in seed_counts.MEASURED_TASKS)
    assert not any("measured" in name.lower() for name in seed_counts.ILLUSTRATIVE_TASKS)
    with open(PROJECT / "bench" / "data" / "decision_grid.csv", newline="", encoding="utf-8") as handle:
        grid = {(r["table"], r["generator"], r["learner"], int(r["n_human"]), int(r["n_synthetic"])): float(r["value"])
                for r in csv.DictReader(handle) if r["repeat"] == "0" and r["metric"] == "accuracy"}
    cases = _measured_cases()
    assert {case[0] for case in cases} == seed_counts.MEASURED_TASKS
    for name, table, generator, learner in cases:
        runs = measured[measured["task_name"] == name]
        assert len(runs) == seed_counts.MEASURED_RUNS_PER_TASK, name
        for note in runs["notes"]:
            assert note.startswith(f"Measured: {table} table (") and "bench/data/decision_grid.csv" in note
            assert f"{generator} synthetic generator, {learner} learner" in note
        description = tasks.loc[name, "description"]
        assert "measured" in description and table in description and generator in description
        assert set(runs["metric"]) == {"accuracy"} and runs["higher_is_better"].all()
        for run in runs.itertuples():
            assert run.value == grid[table, generator, learner, run.n_human, run.n_synthetic], run.run_id
        assert (runs["n_synthetic"] == 0).any() and (runs["n_human"] == 0).any()
        assert ((runs["n_human"] > 0) & (runs["n_synthetic"] > 0)).any()
    for name, runs in illustrative.groupby("task_name"):
        assert len(runs) == seed_counts.ILLUSTRATIVE_RUNS_PER_TASK, name


def test_generator_reproduces_the_tracked_sample_files(tmp_path):
    subprocess.run([sys.executable, str(PROJECT / "scripts" / "make_demo_samples.py"), str(tmp_path)],
                   check=True, capture_output=True)
    tracked = sorted(p.name for p in (SEED_DIR / "samples").iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == tracked and len(tracked) == 6
    for name in tracked:
        assert (tmp_path / name).read_bytes() == (SEED_DIR / "samples" / name).read_bytes(), name


def test_every_seeded_location_names_a_tracked_sample_file(demo_catalog):
    located = demo_catalog.datasets().dropna(subset=["location"])
    located = located[located["location"] != ""]
    assert len(located) == 6
    for location in located["location"]:
        assert Path(location).is_file() and Path(location).parent == (SEED_DIR / "samples").resolve()


def _replace_line(path, line_number, old, new):
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert old in lines[line_number]
    lines[line_number] = lines[line_number].replace(old, new, 1)
    path.write_text("".join(lines), encoding="utf-8")


def test_bad_seed_row_is_named_and_nothing_is_written(seed_copy, tmp_path):
    # Line 7 of the file is data row 6; make its n_human negative.
    outcomes = seed_copy / "outcomes.csv"
    line = outcomes.read_text(encoding="utf-8").splitlines()[6]
    n_human = line.split(",")[1]
    _replace_line(outcomes, 6, f",{n_human},", ",-5,")
    path = tmp_path / "c.duckdb"
    with pytest.raises(ImportRejected) as rejected:
        initialise(str(path), demo=True, seed_dir=seed_copy)
    message = str(rejected.value)
    assert "outcomes.csv, row 6, field 'n_human'" in message
    assert "greater than or equal to 0" in message
    with Catalog.open(path) as catalog:
        assert catalog.counts()["tasks"] == 0
        assert catalog.counts()["audit_log"] == 0


def test_dataset_naming_an_unknown_task_is_refused(seed_copy):
    _replace_line(seed_copy / "datasets.csv", 1, "Chest X-ray triage", "Chest X-ray triage (old)")
    with pytest.raises(ImportRejected) as rejected:
        read_demo(seed_copy)
    assert "datasets.csv, row 1, field 'task'" in str(rejected.value)
    assert "no task named 'Chest X-ray triage (old)'" in str(rejected.value)
