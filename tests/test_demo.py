"""The demo seed: enough realistic content, clearly marked illustrative, loaded all or nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from strategy.catalog import Catalog
from strategy.demo import SEED_DIR, initialise, read_demo
from strategy.errors import ImportRejected
from tests.conftest import PROJECT


def test_demo_has_enough_profiled_tasks(demo_catalog):
    tasks = demo_catalog.tasks()
    assert len(tasks) >= 12
    assert set(tasks["source"]) == {"demo"}
    # Every task is profiled: no task has an all-zero profile.
    from strategy.models import FACTOR_NAMES
    assert (tasks[list(FACTOR_NAMES)].sum(axis=1) > 0).all()


def test_demo_outcomes_are_marked_illustrative_at_several_mixes(demo_catalog):
    outcomes = demo_catalog.outcomes()
    assert len(outcomes) >= 150
    assert set(outcomes["source"]) == {"illustrative"}
    assert outcomes["notes"].str.contains("Illustrative").all()
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
        assert catalog.counts()["tasks"] == 15
        assert catalog.counts()["outcomes"] == 165


def test_generator_reproduces_the_tracked_outcomes(tmp_path):
    out = tmp_path / "outcomes.csv"
    subprocess.run([sys.executable, str(PROJECT / "scripts" / "make_demo_outcomes.py"), str(out)],
                   check=True, capture_output=True)
    assert out.read_bytes() == (SEED_DIR / "outcomes.csv").read_bytes()


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
