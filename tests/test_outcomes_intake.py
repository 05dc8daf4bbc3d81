"""Logging outcomes (strategy/outcomes): every bad input is named and writes nothing; good input lands once."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from strategy.catalog import Catalog
from strategy.cli import main
from strategy.errors import ImportRejected
from strategy.outcomes import (
    COLUMNS,
    delete,
    edit,
    filter_outcomes,
    log_file,
    log_outcome,
    read_outcome_file,
    template_csv,
    validate,
)

TASK = "Chest X-ray triage"
GOOD = (
    "task,n_human,n_synthetic,metric,value,run_id,notes\n"
    f"{TASK},2000,8000,AUROC,0.84,run-900,first\n"
    f"chest x-ray triage,500,0,AUROC,0.77,,second\n"
)


def csv_bytes(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode("utf-8"))


def rejected(catalog: Catalog, data: bytes, label: str = "runs.csv") -> ImportRejected:
    before = catalog.counts()
    with pytest.raises(ImportRejected) as caught:
        log_file(catalog, io.BytesIO(data), label=label)
    assert catalog.counts() == before, "a refused file must write nothing"
    return caught.value


def problem_texts(error: ImportRejected) -> list[str]:
    return [str(p) for p in error.problems]


# ------------------------------------------------------------------------------ bad input
def test_missing_and_unknown_columns_are_named_with_the_expected_ones(demo_catalog):
    error = rejected(demo_catalog, b"task,n_human,colour\nx,1,red\n")
    text = str(error)
    assert "n_synthetic, metric, value" in text and "required column missing" in text
    assert "colour" in text and "unknown column" in text
    assert ", ".join(COLUMNS) in text


@pytest.mark.parametrize(("row", "field", "reason"), [
    (f"{TASK},abc,10,AUROC,0.8", "n_human", "is not a number (got 'abc')"),
    (f"{TASK},10,10,AUROC,high", "value", "is not a number (got 'high')"),
    (f"{TASK},-5,10,AUROC,0.8", "n_human", "must be 0 or more"),
    (f"{TASK},10,2.5,AUROC,0.8", "n_synthetic", "whole number"),
    (f"{TASK},0,0,AUROC,0.8", "n_synthetic", "n_human + n_synthetic must be above 0"),
    (f"{TASK},10,10,AUROC,nan", "value", "must be a finite number"),
    (f"{TASK},10,10,AUROC,inf", "value", "must be a finite number"),
    ("No such task,10,10,AUROC,0.8", "task", "no task has the id or name 'No such task'"),
    (f"{TASK},10,10,,0.8", "metric", "is required"),
    (f"{TASK},10,10,AUROC,0.8,sometimes", "higher_is_better", "is not true/false"),
])
def test_each_bad_value_is_named_by_row_and_field(demo_catalog, row, field, reason):
    header = "task,n_human,n_synthetic,metric,value" + (",higher_is_better" if row.count(",") == 5 else "")
    error = rejected(demo_catalog, f"{header}\n{TASK},10,10,AUROC,0.8{',true' if row.count(',') == 5 else ''}\n"
                                   f"{row}\n".encode())
    assert any(f"runs.csv, row 2, field '{field}'" in text and reason in text for text in problem_texts(error)), \
        problem_texts(error)


def test_non_finite_values_in_parquet_and_json_lines_are_refused(demo_catalog, tmp_path):
    frame = pd.DataFrame({"task": [TASK, TASK], "n_human": [10, 20], "n_synthetic": [5, 5], "metric": "AUROC",
                          "value": [0.8, np.inf]})
    frame.to_parquet(tmp_path / "runs.parquet", index=False)
    error = rejected(demo_catalog, (tmp_path / "runs.parquet").read_bytes(), "runs.parquet")
    assert "runs.parquet, row 2, field 'value': must be a finite number" in str(error)
    lines = '{"task": "' + TASK + '", "n_human": 10, "n_synthetic": 5, "metric": "AUROC", "value": NaN}\n'
    error = rejected(demo_catalog, lines.encode(), "runs.jsonl")
    assert "runs.jsonl, row 1, field 'value'" in str(error)


@pytest.mark.parametrize(("data", "reason"), [
    ("task,n_human\nChest X-ray triage é,1\n".encode("latin-1"), "is not UTF-8 text"),
    (b"", "is empty"),
    (b"task,n_human,n_synthetic,metric,value\n", "has a header but no rows"),
])
def test_unreadable_files_are_refused(demo_catalog, data, reason):
    assert reason in str(rejected(demo_catalog, data))


def test_a_file_over_the_upload_limit_is_refused_before_it_is_read(demo_catalog, tmp_path, monkeypatch):
    monkeypatch.setenv("STRATEGY_MAX_UPLOAD_MB", "0.0001")  # about 100 bytes
    path = tmp_path / "big.csv"
    path.write_text(GOOD * 5, encoding="utf-8")
    with pytest.raises(ImportRejected, match="over the upload limit"):
        read_outcome_file(path)


def test_one_metric_keeps_one_direction(demo_catalog):
    both = (f"task,n_human,n_synthetic,metric,value,higher_is_better\n{TASK},10,10,loss,0.3,false\n"
            f"{TASK},20,10,loss,0.2,true\n").encode()
    assert "higher-is-better on some rows of this task and lower-is-better on others" in str(
        rejected(demo_catalog, both))
    logged = f"task,n_human,n_synthetic,metric,value,higher_is_better\n{TASK},10,10,AUROC,0.6,false\n".encode()
    assert "already logged for this task as higher-is-better" in str(rejected(demo_catalog, logged))


def test_a_bad_last_row_leaves_the_catalog_unchanged(demo_catalog):
    rows = "".join(f"{TASK},{100 + i},{i},AUROC,0.7,run-{i}\n" for i in range(500))
    error = rejected(demo_catalog, f"task,n_human,n_synthetic,metric,value,run_id\n{rows}{TASK},-1,0,AUROC,0.7,x\n"
                     .encode())
    assert "row 501, field 'n_human'" in str(error)


# ------------------------------------------------------------------------------- good input
def test_hostile_text_is_stored_literally(demo_catalog):
    hostile = "'; DROP TABLE outcomes; -- <script>alert(1)</script>"
    before = demo_catalog.counts()["outcomes"]
    log_outcome(TASK, 100, 100, "AUROC", 0.7, notes=hostile, run_id="<b>run</b>", catalog=demo_catalog)
    stored = demo_catalog.outcomes()
    assert hostile in set(stored["notes"])
    assert "<b>run</b>" in set(stored["run_id"])
    assert demo_catalog.counts()["outcomes"] == before + 1


def test_csv_parquet_and_json_lines_import_the_same_rows(demo_catalog, tmp_path):
    rows = pd.DataFrame({"task": [TASK, TASK.lower()], "n_human": [2000, 500], "n_synthetic": [8000, 0],
                         "metric": ["AUROC", "AUROC"], "value": [0.84, 0.77]})
    rows.to_parquet(tmp_path / "a.parquet", index=False)
    rows.to_json(tmp_path / "a.jsonl", orient="records", lines=True)
    rows.to_csv(tmp_path / "a.csv", index=False)
    seen = []
    for name in ("a.csv", "a.parquet", "a.jsonl"):
        label, table = read_outcome_file(tmp_path / name)
        checked = validate(demo_catalog, table, label)
        assert not checked.problems
        seen.append(checked.rows.select(["task_id", "n_human", "n_synthetic", "value", "regime",
                                         "higher_is_better", "human_eval"]).to_pylist())
    assert seen[0] == seen[1] == seen[2]
    task_id = demo_catalog.task(TASK).id
    assert [r["task_id"] for r in seen[0]] == [task_id, task_id]
    assert [r["regime"] for r in seen[0]] == ["mixed", "human_only"]
    assert all(r["higher_is_better"] and r["human_eval"] for r in seen[0])


def test_reimport_adds_nothing_and_says_how_many_were_skipped(demo_catalog):
    first = log_file(demo_catalog, csv_bytes(GOOD), label="runs.csv")
    assert (first.written, first.skipped) == (2, 0)
    again = log_file(demo_catalog, csv_bytes(GOOD), label="runs.csv")
    assert (again.written, again.skipped) == (0, 2)
    same_run = GOOD.replace("0.84", "0.99")  # same run id, other value: still the same run, so it is refused
    error = rejected(demo_catalog, same_run.encode())
    assert "runs.csv, row 1, field 'run_id': run 'run-900' is already logged with other values (value)" in str(error)
    repeated = f"task,n_human,n_synthetic,metric,value\n{TASK},7,7,AUROC,0.5\n{TASK},7,7,AUROC,0.5\n"
    result = log_file(demo_catalog, csv_bytes(repeated), label="r.csv")
    # The repeat within the file is written once and counted as a duplicate, not as already logged.
    assert (result.written, result.skipped, result.duplicates) == (1, 0, 1)
    again = log_file(demo_catalog, csv_bytes(repeated), label="r.csv")
    assert (again.written, again.skipped, again.duplicates) == (0, 2, 0)


def test_logging_recomputes_the_task_and_shows_before_and_after(demo_catalog):
    task_id = demo_catalog.task(TASK).id
    before = demo_catalog.latest_recommendation(task_id)[0]
    result = log_file(demo_catalog, csv_bytes(GOOD), label="runs.csv")
    [change] = result.changes
    assert change.before.id == before.id
    assert change.after.evidence_count == before.evidence_count + 2
    assert change.after.next_experiment is not None
    assert demo_catalog.latest_recommendation(task_id)[0].id == change.after.id
    audit = demo_catalog.audit_log()
    imports = audit[audit["entity"] == "outcome import"]
    assert len(imports) == 1 and json.loads(imports["details"].iloc[0])["rows"] == 2


def test_python_api_with_a_location(demo_path):
    result = log_outcome(TASK, 300, 300, "AUROC", 0.7, run_id="api-1", catalog=str(demo_path))
    assert result.written == 1
    with Catalog.open(demo_path) as catalog:
        assert "api-1" in set(catalog.outcomes()["run_id"])
    with pytest.raises(ImportRejected, match="n_human"):
        log_outcome(TASK, -3, 300, "AUROC", 0.7, catalog=str(demo_path))


def test_soft_delete_and_edit(demo_catalog):
    task_id = demo_catalog.task(TASK).id
    target = demo_catalog.outcomes(task_id)["id"].iloc[0]
    count = demo_catalog.latest_recommendation(task_id)[0].evidence_count
    [change] = delete(demo_catalog, [target])
    assert change.after.evidence_count == count - 1
    assert target not in set(demo_catalog.outcomes()["id"])
    assert demo_catalog.outcomes(include_deleted=True).set_index("id").loc[target, "deleted"]
    other = demo_catalog.outcomes(task_id)["id"].iloc[0]
    edit(demo_catalog, other, {"value": 0.5})
    assert demo_catalog.outcome(other).value == 0.5
    before = demo_catalog.counts()
    with pytest.raises(ImportRejected, match="n_human"):
        edit(demo_catalog, other, {"n_human": -1})
    assert demo_catalog.counts() == before
    actions = set(demo_catalog.audit_log()["action"])
    assert {"delete", "update"} <= actions


def test_filter_outcomes(demo_catalog):
    outcomes = demo_catalog.outcomes()
    assert set(filter_outcomes(outcomes, tasks=[TASK])["task_name"]) == {TASK}
    assert set(filter_outcomes(outcomes, regimes=["human_only"])["regime"]) == {"human_only"}
    assert filter_outcomes(outcomes, people=["nobody"]).empty
    day = outcomes["created_at"].iloc[0].date()
    assert len(filter_outcomes(outcomes, dates=(day, day))) == len(outcomes)


def test_template_has_every_column_and_imports_cleanly(demo_catalog):
    template = template_csv().decode()
    assert template.splitlines()[0] == ",".join(COLUMNS)
    assert log_file(demo_catalog, csv_bytes(template), label="template.csv").written == 2


# ------------------------------------------------------------------------------------- CLI
def test_cli_log_file_then_stdin(demo_path, tmp_path):
    runner = CliRunner()
    path = tmp_path / "runs.csv"
    path.write_text(GOOD, encoding="utf-8")
    result = runner.invoke(main, ["--catalog", str(demo_path), "log", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 outcomes written, 0 skipped" in result.output and "→" in result.output
    line = json.dumps({"task": TASK, "n_human": 1, "n_synthetic": 9, "metric": "AUROC", "value": 0.6})
    result = runner.invoke(main, ["--catalog", str(demo_path), "log", "-", "--json"], input=line + "\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["written"] == 1


def test_cli_log_refused_file_exits_1_and_writes_nothing(demo_path, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(f"task,n_human,n_synthetic,metric,value\n{TASK},1,1,AUROC,0.5\n{TASK},-1,1,AUROC,0.5\n")
    with Catalog.open(demo_path) as catalog:
        before = catalog.counts()
    result = CliRunner().invoke(main, ["--catalog", str(demo_path), "log", str(path)])
    assert result.exit_code == 1
    assert "bad.csv, row 2, field 'n_human'" in result.output
    with Catalog.open(demo_path) as catalog:
        assert catalog.counts() == before
