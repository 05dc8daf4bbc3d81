"""The click CLI, driven through click's runner against real catalog files."""

from __future__ import annotations

import json

import click
import duckdb
import pytest
from click.testing import CliRunner

from strategy.catalog import Catalog
from strategy.cli import main

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
    assert "Loaded demo content: 15 tasks" in first.output
    second = invoke(runner, path, "init", "--demo")
    assert second.exit_code == 0
    assert "Demo not loaded: the catalog already has 15 tasks" in second.output
    with Catalog.open(path) as catalog:
        assert catalog.counts()["tasks"] == 15
        assert catalog.counts()["outcomes"] == 165


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


def test_tasks_lists_demo_tasks(runner, demo_path):
    result = invoke(runner, demo_path, "tasks")
    assert result.exit_code == 0
    assert "Chest X-ray triage" in result.output
    assert "Card fraud detection" in result.output


def test_tasks_json_has_every_field(runner, demo_path):
    result = invoke(runner, demo_path, "tasks", "--json")
    records = json.loads(result.output)
    assert len(records) == 15
    fraud = next(r for r in records if r["name"] == "Card fraud detection")
    assert fraud["rare_events"] == 4
    assert fraud["outcomes"] == 11
    assert fraud["modality"] == "tabular"


def test_tasks_on_empty_catalog_says_how_to_start(runner, empty_path):
    result = invoke(runner, empty_path, "tasks")
    assert result.exit_code == 0
    assert "No tasks yet" in result.output


def test_tasks_add_creates_then_updates(runner, empty_path, tmp_path):
    source = tmp_path / "tasks.csv"
    source.write_text(TASK_CSV, encoding="utf-8")
    first = invoke(runner, empty_path, "tasks", "add", str(source))
    assert first.exit_code == 0, first.output
    assert "2 tasks created, 0 updated" in first.output
    source.write_text(TASK_CSV.replace(",4,3,0,", ",2,3,0,"), encoding="utf-8")
    second = invoke(runner, empty_path, "tasks", "add", str(source))
    assert "0 tasks created, 2 updated" in second.output
    with Catalog.open(empty_path) as catalog:
        assert catalog.counts()["tasks"] == 2
        assert catalog.task("voice-assistant small talk").interaction == 2


def test_tasks_add_from_stdin_json(runner, empty_path):
    payload = json.dumps([{"name": "Ticket routing", "domain": "Support", "modality": "text",
                           "metric": "accuracy", "volume_needed": 3}])
    result = invoke(runner, empty_path, "tasks", "add", "-", input=payload)
    assert result.exit_code == 0, result.output
    assert "from <stdin>" in result.output
    with Catalog.open(empty_path) as catalog:
        assert catalog.task("Ticket routing").volume_needed == 3


def test_tasks_add_bad_row_writes_nothing(runner, empty_path, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text(TASK_CSV.replace(",4,3,0,", ",7,3,0,"), encoding="utf-8")
    result = runner.invoke(main, ["--catalog", str(empty_path), "tasks", "add", str(source)])
    assert result.exit_code == 1
    assert "Nothing was written" in result.output
    assert "bad.csv, row 2, field 'interaction'" in result.output
    assert "Traceback" not in result.output
    with Catalog.open(empty_path) as catalog:
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


def test_status_reports_counts(runner, demo_path):
    result = invoke(runner, demo_path, "status", "--json")
    report = json.loads(result.output)
    assert report["rows"]["tasks"] == 15
    assert report["rows"]["datasets"] == 28
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
