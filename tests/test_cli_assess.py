"""``strategy assess`` with several --synthetic samples: the ranking printed, as JSON, and stored with the chosen
one (strategy/cli_assess.py), through click's runner on real catalogs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from strategy.catalog import Catalog
from strategy.cli import main
from strategy.models import Dataset
from strategy.quality import present, read_sample
from strategy.quality.ranking import assess_candidates
from tests.conftest import PROJECT

SAMPLES = PROJECT / "data" / "seed" / "samples"
HUMAN, SYNTHETIC = SAMPLES / "network_flows_human.csv", SAMPLES / "network_flows_synthetic.csv"


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def degraded(tmp_path):
    """The demo's synthetic network flows with each column shuffled on its own: same values, no joint shape."""
    frame = pd.read_csv(SYNTHETIC)
    rng = np.random.default_rng(5)
    shuffled = frame.apply(lambda column: rng.permutation(column.to_numpy()))
    path = tmp_path / "shuffled_flows.csv"
    shuffled.to_csv(path, index=False)
    return path


def run(runner, catalog, *args):
    return runner.invoke(main, ["--catalog", str(catalog), "assess", "--human", str(HUMAN), *args])


def test_several_samples_are_ranked_best_first_as_the_library_ranks_them(runner, tmp_path, degraded):
    result = run(runner, tmp_path / "unused.duckdb", "--synthetic", str(degraded), "--synthetic", str(SYNTHETIC))
    assert result.exit_code == 0, result.output
    ranked = assess_candidates(read_sample(HUMAN), [read_sample(degraded), read_sample(SYNTHETIC)])
    assert [r.label for r in ranked] == [str(SYNTHETIC), str(degraded)]
    lines = result.output.splitlines()
    assert lines[0] == f"Ranked 2 synthetic samples against {HUMAN} (best first):"
    assert present.ranking_sentence(ranked) in result.output
    first, second = lines.index(next(x for x in lines if str(SYNTHETIC) in x)), lines.index(
        next(x for x in lines if str(degraded) in x and "ranks" not in x))
    assert first < second
    assert f"{ranked[0].humanness:.1f}" in lines[first] and f"{ranked[1].humanness:.1f}" in lines[second]
    assert not (tmp_path / "unused.duckdb").exists()  # nothing stored, no catalog made


def test_the_ranking_as_json(runner, tmp_path, degraded):
    result = run(runner, tmp_path / "c.duckdb", "--synthetic", str(degraded), "--synthetic", str(SYNTHETIC), "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert [r["label"] for r in found["ranking"]] == [str(SYNTHETIC), str(degraded)]
    assert [r["rank"] for r in found["ranking"]] == [1, 2]
    assert found["stored"] == [] and found["ranking"][0]["chosen"] is None
    assert found["reports"][str(SYNTHETIC)]["humanness"] == found["ranking"][0]["humanness"]


def _second_synthetic(location) -> str:
    with Catalog.open(location) as catalog:
        task_id = catalog.datasets().set_index("name").loc["Simulated attack traffic", "task_id"]
        catalog.add_records("datasets", [Dataset(name="Shuffled attack traffic", task_id=task_id,
                                                 source_kind="synthetic", modality="tabular", samples=100)],
                            actor="tester")
    return task_id


def test_save_as_stores_each_report_and_the_decision_uses_the_chosen_one(runner, demo_location, degraded):
    task_id = _second_synthetic(demo_location)
    with Catalog.open(demo_location) as catalog:
        before = catalog.counts()["quality_reports"]
    result = run(runner, demo_location, "--synthetic", str(SYNTHETIC), "--synthetic", str(degraded),
                 "--save-as", "Simulated attack traffic", "--save-as", "Shuffled attack traffic",
                 "--choose", degraded.name, "--reference", "Labelled network flows")
    assert result.exit_code == 0, result.output
    assert f"Stored 2 quality reports; the decision uses {degraded}'s." in result.output
    with Catalog.open(demo_location) as catalog:
        assert catalog.counts()["quality_reports"] == before + 2
        reports = catalog.quality_reports(task_id=task_id).set_index("dataset_name")
        shuffled = reports.loc["Shuffled attack traffic"]
        assert catalog.task_humanness()[task_id] == pytest.approx(shuffled["humanness"])
        assert shuffled["reference_name"] == "Labelled network flows"


@pytest.mark.parametrize("extra, message", [
    (["--save-as", "Simulated attack traffic"], "Give --save-as once per --synthetic sample"),
    (["--choose", "nope.csv", "--save-as", "Simulated attack traffic", "--save-as", "Shuffled attack traffic"],
     "--choose 'nope.csv' is not exactly one of the --synthetic files"),
    (["--choose", "shuffled_flows.csv"], "--choose marks the report the decision uses, so it needs --save-as"),
    (["--save-as", "Simulated attack traffic", "--save-as", "No such dataset"], "Unknown dataset 'No such dataset'"),
])
def test_a_ranking_that_cannot_be_stored_says_why_and_writes_nothing(runner, demo_path, degraded, extra, message):
    _second_synthetic(demo_path)
    with Catalog.open(demo_path) as catalog:
        before = catalog.counts()
    result = run(runner, demo_path, "--synthetic", str(SYNTHETIC), "--synthetic", str(degraded), *extra)
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    with Catalog.open(demo_path) as catalog:
        assert catalog.counts() == before


def test_a_sample_compared_on_other_columns_is_refused_naming_it(runner, tmp_path):
    narrower = tmp_path / "narrower.csv"
    pd.read_csv(SYNTHETIC).iloc[:, :-1].to_csv(narrower, index=False)
    missing = pd.read_csv(SYNTHETIC).columns[-1]
    result = run(runner, tmp_path / "c.duckdb", "--synthetic", str(SYNTHETIC), "--synthetic", str(narrower))
    assert result.exit_code == 1
    assert f"{narrower}, field '{missing}': compared for {SYNTHETIC} but not here" in result.output
