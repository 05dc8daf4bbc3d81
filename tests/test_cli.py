"""The click CLI, driven through click's runner against real catalogs: tests taking a ``*_location`` run on an
embedded DuckDB file and on a DuckLake catalog in a real PostgreSQL."""

from __future__ import annotations

import io
import json

import click
import duckdb
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from strategy.catalog import Catalog
from strategy.cli import main
from strategy.quality import assess, read_sample
from tests import seed_counts
from tests.conftest import PROJECT

TASK_CSV = (
    "name,domain,modality,metric,interaction,subjectivity,rare_events,description\n"
    "Invoice field extraction,Finance,text,F1,0,1,2,Pull totals and dates out of supplier invoices.\n"
    "Voice-assistant small talk,Consumer,audio,user rating,4,3,0,Chit-chat that should feel natural.\n"
)


@pytest.fixture
def runner():
    return CliRunner()


def invoke(runner, catalog, *args, input=None):
    return runner.invoke(main, ["--catalog", str(catalog), *args], input=input, catch_exceptions=False)


def test_init_demo_is_idempotent(runner, tmp_path):
    path = tmp_path / "c.duckdb"
    first = invoke(runner, path, "init", "--demo")
    assert first.exit_code == 0, first.output
    assert f"Loaded demo content: {seed_counts.TASKS} tasks" in first.output
    second = invoke(runner, path, "init", "--demo")
    assert second.exit_code == 0
    assert f"Demo not loaded: the catalog already has {seed_counts.TASKS} tasks" in second.output
    with Catalog.open(path) as catalog:
        assert catalog.counts()["tasks"] == seed_counts.TASKS
        assert catalog.counts()["outcomes"] == seed_counts.OUTCOMES


def test_init_empty_creates_schema_only(runner, tmp_path):
    path = tmp_path / "c.duckdb"
    result = invoke(runner, path, "init", "--empty")
    assert result.exit_code == 0
    assert "0 tasks" in result.output
    with Catalog.open(path) as catalog:
        assert catalog.schema_version >= 1
        assert sum(n for t, n in catalog.counts().items()) == 0


def test_catalog_location_from_environment(runner, tmp_path, monkeypatch):
    path = tmp_path / "from-env.duckdb"
    monkeypatch.setenv("STRATEGY_CATALOG", str(path))
    result = runner.invoke(main, ["init"], catch_exceptions=False)
    assert result.exit_code == 0
    assert path.exists()
    assert str(path) in result.output


def test_tasks_lists_demo_tasks(runner, demo_location):
    result = invoke(runner, demo_location, "tasks")
    assert result.exit_code == 0
    assert "Chest X-ray triage" in result.output
    assert "Card fraud detection" in result.output


def test_tasks_json_has_every_field(runner, demo_location):
    result = invoke(runner, demo_location, "tasks", "--json")
    records = json.loads(result.output)
    assert len(records) == seed_counts.TASKS
    fraud = next(r for r in records if r["name"] == "Card fraud detection")
    assert fraud["rare_events"] == 4
    assert fraud["outcomes"] == seed_counts.ILLUSTRATIVE_RUNS_PER_TASK
    assert fraud["modality"] == "tabular"
    digits = next(r for r in records if r["name"] == "Handwritten digit reading (measured)")
    assert digits["outcomes"] == seed_counts.MEASURED_RUNS_PER_TASK


def test_tasks_on_empty_catalog_says_how_to_start(runner, empty_location):
    result = invoke(runner, empty_location, "tasks")
    assert result.exit_code == 0
    assert "No tasks yet" in result.output


def test_tasks_add_creates_then_updates(runner, empty_location, tmp_path):
    source = tmp_path / "tasks.csv"
    source.write_text(TASK_CSV, encoding="utf-8")
    first = invoke(runner, empty_location, "tasks", "add", str(source))
    assert first.exit_code == 0, first.output
    assert "2 tasks created, 0 updated" in first.output
    source.write_text(TASK_CSV.replace(",4,3,0,", ",2,3,0,"), encoding="utf-8")
    second = invoke(runner, empty_location, "tasks", "add", str(source))
    assert "0 tasks created, 2 updated" in second.output
    with Catalog.open(empty_location) as catalog:
        assert catalog.counts()["tasks"] == 2
        assert catalog.task("voice-assistant small talk").interaction == 2


def test_tasks_add_from_stdin_json(runner, empty_location):
    payload = json.dumps([{"name": "Ticket routing", "domain": "Support", "modality": "text",
                           "metric": "accuracy", "volume_needed": 3}])
    result = invoke(runner, empty_location, "tasks", "add", "-", input=payload)
    assert result.exit_code == 0, result.output
    assert "from <stdin>" in result.output
    with Catalog.open(empty_location) as catalog:
        assert catalog.task("Ticket routing").volume_needed == 3


def test_tasks_add_bad_row_writes_nothing(runner, empty_location, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text(TASK_CSV.replace(",4,3,0,", ",7,3,0,"), encoding="utf-8")
    result = runner.invoke(main, ["--catalog", str(empty_location), "tasks", "add", str(source)])
    assert result.exit_code == 1
    assert "Nothing was written" in result.output
    assert "bad.csv, row 2, field 'interaction'" in result.output
    assert "Traceback" not in result.output
    with Catalog.open(empty_location) as catalog:
        assert catalog.counts()["tasks"] == 0
        assert catalog.counts()["audit_log"] == 0


def test_foreign_catalog_is_refused_with_a_message(runner, tmp_path):
    path = tmp_path / "other.duckdb"
    with duckdb.connect(str(path)) as other:
        other.execute("CREATE TABLE invoices (n INTEGER)")
    result = runner.invoke(main, ["--catalog", str(path), "tasks"])
    assert result.exit_code == 1
    assert "not a strategy catalog" in result.output
    with duckdb.connect(str(path)) as other:
        tables = {r[0] for r in other.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert tables == {"invoices"}


def test_status_reports_counts(runner, demo_location):
    result = invoke(runner, demo_location, "status", "--json")
    report = json.loads(result.output)
    assert report["rows"]["tasks"] == seed_counts.TASKS
    assert report["rows"]["datasets"] == seed_counts.DATASETS
    assert report["schema_version"] >= 1


def _commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


def test_every_command_has_help_text(runner):
    for path, command in _commands(main):
        assert (command.help or "").strip(), f"{' '.join(path)} has no help text"
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0
        assert command.help.split()[0] in result.output


# --------------------------------------------------------------------------- assess
SAMPLES = PROJECT / "data" / "seed" / "samples"


def test_assess_prints_the_score_against_the_noise_floor(runner, empty_location):
    human, synthetic = SAMPLES / "card_transactions_human.csv", SAMPLES / "card_transactions_synthetic.csv"
    result = invoke(runner, empty_location, "assess", "--human", str(human), "--synthetic", str(synthetic))
    assert result.exit_code == 0, result.output
    expected = assess(read_sample(human), read_sample(synthetic))
    assert result.output.startswith(f"Humanness {expected.humanness:.1f} / 100, grade {expected.grade} "
                                    f"(human data against itself: {expected.floor:.1f})")
    for label in ("Column shapes", "Column-pair trends", "Detection", "Coverage", "Fidelity and diversity"):
        assert label in result.output
    assert "privacy: 0 exact copies" in result.output


def test_assess_json_is_the_whole_report(runner, empty_location, tmp_path):
    human = pd.DataFrame({"x": np.arange(200) % 17, "kind": ["a", "b"] * 100})
    synthetic = human.assign(x=human["x"] + 5)
    human.to_csv(tmp_path / "h.csv", index=False)
    synthetic.to_parquet(tmp_path / "s.parquet")
    result = invoke(runner, empty_location, "assess", "--human", str(tmp_path / "h.csv"), "--synthetic",
                    str(tmp_path / "s.parquet"), "--json", "--segment", "kind")
    report = json.loads(result.output)
    assert report["schema"] == "strategy.humanness/1"
    shapes = {row["column"]: row["score"] for row in report["modalities"]["tabular"]["metrics"]["shapes"]}
    assert shapes["kind"] == pytest.approx(1.0)
    assert shapes["x"] < 0.8
    assert [row["value"] for row in report["segments"]["rows"]] == ["a", "b"]


def test_assess_text_files_compare_texts(runner, empty_location, tmp_path):
    (tmp_path / "h.txt").write_text("\n".join(f"message number {i} about topic {i % 7}" for i in range(60)) + "\n\n")
    (tmp_path / "s.txt").write_text("\n".join("the same message again" for _ in range(60)))
    result = invoke(runner, empty_location, "assess", "--human", str(tmp_path / "h.txt"), "--synthetic",
                    str(tmp_path / "s.txt"), "--json")
    report = json.loads(result.output)
    assert list(report["modalities"]) == ["text"]
    assert report["modalities"]["text"]["texts"] == [60, 60]
    repetition = report["modalities"]["text"]["metrics"]["repetition"]
    assert repetition["duplicates"]["synthetic"] == pytest.approx(59 / 60)


def test_assess_refuses_samples_without_a_shared_column(runner, empty_location, tmp_path):
    pd.DataFrame({"a": [1, 2, 3]}).to_csv(tmp_path / "h.csv", index=False)
    pd.DataFrame({"b": [1, 2, 3]}).to_csv(tmp_path / "s.csv", index=False)
    result = runner.invoke(main, ["--catalog", str(empty_location), "assess", "--human", str(tmp_path / "h.csv"),
                                  "--synthetic", str(tmp_path / "s.csv")])
    assert result.exit_code == 1
    assert "Cannot assess these samples" in result.output
    assert f"{tmp_path / 's.csv'}, field 'columns': shares no column with" in result.output
    assert "Traceback" not in result.output


def test_assess_refuses_a_file_that_is_not_utf8(runner, empty_location, tmp_path):
    (tmp_path / "h.csv").write_bytes("city\nParis\nZürich\n".encode("latin-1"))
    pd.DataFrame({"city": ["Paris", "Rome"]}).to_csv(tmp_path / "s.csv", index=False)
    result = runner.invoke(main, ["--catalog", str(empty_location), "assess", "--human", str(tmp_path / "h.csv"),
                                  "--synthetic", str(tmp_path / "s.csv")])
    assert result.exit_code == 1
    assert f"{tmp_path / 'h.csv'}, field 'file': is not UTF-8 text" in result.output


def test_assess_save_as_stores_the_report_and_recomputes_the_task(runner, demo_location):
    human, synthetic = SAMPLES / "network_flows_human.csv", SAMPLES / "network_flows_synthetic.csv"
    with Catalog.open(demo_location) as catalog:
        dataset = catalog.datasets().set_index("name").loc["Simulated attack traffic"]
        before = catalog.counts()
        history = len(catalog.recommendation_history(dataset["task_id"]))
    result = invoke(runner, demo_location, "assess", "--human", str(human), "--synthetic", str(synthetic),
                    "--save-as", "simulated attack traffic", "--reference", "Labelled network flows")
    assert result.exit_code == 0, result.output
    assert "Stored as quality report" in result.output
    with Catalog.open(demo_location) as catalog:
        reports = catalog.quality_reports(dataset_id=dataset["id"])
        assert catalog.counts()["quality_reports"] == before["quality_reports"] + 1
        assert len(catalog.recommendation_history(dataset["task_id"])) == history + 1
        latest = reports.iloc[-1]
        assert latest["task_id"] == dataset["task_id"]
        assert latest["reference_name"] == "Labelled network flows"
        assert latest["humanness"] == pytest.approx(assess(read_sample(human), read_sample(synthetic)).humanness,
                                                    abs=1e-4)
        assert "assess" in set(catalog.audit_log()["action"])


def test_assess_save_as_an_unknown_dataset_writes_nothing(runner, demo_location):
    with Catalog.open(demo_location) as catalog:
        before = catalog.counts()
    result = runner.invoke(main, ["--catalog", str(demo_location), "assess", "--human",
                                  str(SAMPLES / "reviews_human.csv"), "--synthetic",
                                  str(SAMPLES / "reviews_synthetic.csv"), "--save-as", "No such dataset"])
    assert result.exit_code == 1
    assert "Unknown dataset 'No such dataset'" in result.output
    with Catalog.open(demo_location) as catalog:
        assert catalog.counts() == before


# --------------------------------------------------------------------------- export
def test_export_writes_each_format_of_one_task(runner, demo_location, tmp_path):
    for fmt in ("md", "html", "pdf", "csv", "json"):
        out = tmp_path / f"summary.{fmt}"
        result = runner.invoke(main, ["--catalog", str(demo_location), "export", "--task", "Card fraud detection",
                                      "--format", fmt, "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 0
    assert json.loads((tmp_path / "summary.json").read_text())["tasks"][0]["name"] == "Card fraud detection"
    assert (tmp_path / "summary.pdf").read_bytes().startswith(b"%PDF")
    assert pd.read_csv(tmp_path / "summary.csv")["task"].tolist() == ["Card fraud detection"]


def test_export_to_standard_output_and_filters(runner, demo_location):
    result = invoke(runner, demo_location, "export", "--portfolio", "--domain", "Healthcare", "--format", "csv")
    frame = pd.read_csv(io.StringIO(result.output))
    with Catalog.open(demo_location) as catalog:
        tasks = catalog.tasks()
    assert sorted(frame["task"]) == sorted(tasks[tasks["domain"] == "Healthcare"]["name"])
    whole = invoke(runner, demo_location, "export", "--portfolio", "--format", "md")
    assert whole.output.startswith("# Data-sourcing strategy: portfolio")


def test_export_needs_a_task_or_the_portfolio(runner, demo_location):
    for args in ([], ["--task", "Card fraud detection", "--portfolio"], ["--domain", "Healthcare", "--task", "x"]):
        result = runner.invoke(main, ["--catalog", str(demo_location), "export", "--format", "md", *args])
        assert result.exit_code == 2, args
    unknown = runner.invoke(main, ["--catalog", str(demo_location), "export", "--task", "No such task", "--format", "md"])
    assert unknown.exit_code == 1 and "Unknown task 'No such task'" in unknown.output


def test_backtest_reports_and_applies_the_interval_calibration(runner, demo_path):
    """Three tasks keep the backtest quick and are the fewest that may calibrate (30+ held-out outcomes)."""
    with Catalog.open(demo_path) as catalog:
        ids = catalog.tasks()["id"].tolist()
        for task_id in ids[3:]:
            catalog.set_task_status(task_id, "archived")
    refit = invoke(runner, demo_path, "refit", "--workers", "1")
    assert refit.exit_code == 0, refit.output
    result = invoke(runner, demo_path, "backtest", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)["summary"]
    calibration = summary["interval_calibration"]
    assert summary["tasks"] == 3 and calibration["trusted"] and calibration["held_out"] == summary["outcomes"] >= 30
    assert json.loads(result.output)["replanned"] == 3
    with Catalog.open(demo_path) as catalog:
        assert {catalog.latest_recommendation(task_id).fit["interval_scale"] for task_id in ids[:3]} == {
            calibration["scale"]}

    text = invoke(runner, demo_path, "backtest")
    assert text.exit_code == 0, text.output
    assert f"80% intervals cover {summary['coverage_80_calibrated']:.0%} of held-out outcomes" in text.output
    assert f"now drawn {calibration['scale']:.2f}× as wide" in text.output
    assert "Re-planned" not in text.output  # the same outcomes ask for the same width: nothing to re-plan
