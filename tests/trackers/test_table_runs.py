"""Run tables with any column names: W&B's runs-table CSV export, a ClearML-style Parquet table, JSON lines."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from strategy.errors import ImportRejected
from strategy.trackers import RunMapping, TaskTarget, map_runs, task_targets
from strategy.trackers.table_runs import read_run_table

TASKS = task_targets([TaskTarget("id-xray", "Chest X-ray triage", "AUROC", True)])
# The shape of the CSV W&B's runs table downloads: Name, State, Notes, User, Tags, Created, Runtime, Sweep, then
# the config keys and the summary metrics as bare column names (no run id column).
WANDB_EXPORT = (
    '"Name","State","Notes","User","Tags","Created","Runtime","Sweep","n_human","n_synthetic","task","AUROC"\n'
    '"fluent-sky-3","finished","-","ana","final,xray","2026-11-02T10:00:00.000Z","61","","400","4000",'
    '"Chest X-ray triage","0.842"\n'
    '"brisk-wind-2","crashed","-","ana","","2026-11-02T09:00:00.000Z","12","","100","0","Chest X-ray triage",""\n'
    '"calm-lake-1","finished","-","ana","xray","2026-11-01T09:00:00.000Z","40","","100","900",'
    '"Chest X-ray triage","0.79"\n')


def test_the_wandb_runs_table_export_maps_with_its_own_column_names():
    label, runs = read_run_table(io.BytesIO(WANDB_EXPORT.encode()), label="wandb_export.csv")
    assert label == "wandb_export.csv"
    assert [(r.run_id, r.state) for r in runs] == [("fluent-sky-3", "FINISHED"), ("brisk-wind-2", "CRASHED"),
                                                   ("calm-lake-1", "FINISHED")]
    assert runs[0].tags == {"final": "", "xray": ""}
    result = map_runs(runs, RunMapping(tags={"xray": ""}), TASKS, label=label)
    assert [(r["run_id"], r["n_human"], r["n_synthetic"], float(r["value"])) for r in result.rows] == [
        ("fluent-sky-3", "400", "4000", 0.842), ("calm-lake-1", "100", "900", 0.79)]
    assert [r.run_id for r in result.left_out] == ["brisk-wind-2"]


def test_a_parquet_table_with_its_own_names_is_mapped_by_keys():
    table = pa.table({"id": ["t-1", "t-2"], "status": ["completed", "completed"],
                      "hyperparams.human_rows": [120, 60], "hyperparams.synth_rows": [0, 600],
                      "val_auroc": [0.71, 0.77]})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    _, runs = read_run_table(io.BytesIO(sink.getvalue()), label="clearml.parquet")
    mapping = RunMapping(task="Chest X-ray triage", n_human_key="hyperparams.human_rows",
                         n_synthetic_key="hyperparams.synth_rows", metric_key="val_auroc", states=("COMPLETED",))
    rows = map_runs(runs, mapping, TASKS, label="clearml.parquet").rows
    assert [(r["run_id"], r["n_human"], r["n_synthetic"], float(r["value"])) for r in rows] == [
        ("t-1", "120", "0", 0.71), ("t-2", "60", "600", 0.77)]


def test_a_table_row_without_an_id_is_refused_by_its_row_number():
    data = b'{"n_human": 10, "n_synthetic": 5, "task": "Chest X-ray triage", "AUROC": 0.7}\n' \
           b'{"n_human": 10, "task": "Chest X-ray triage", "AUROC": 0.7}\n'
    _, runs = read_run_table(io.BytesIO(data), label="runs.jsonl")
    result = map_runs(runs, RunMapping(), TASKS, label="runs.jsonl")
    assert len(result.rows) == 1 and result.rows[0]["run_id"] == ""
    (_, problem), = result.refused
    assert str(problem).startswith("runs.jsonl, row 2, field 'n_synthetic': is missing")


def test_an_empty_or_oversized_table_is_refused_before_it_is_read(monkeypatch):
    with pytest.raises(ImportRejected, match="is empty"):
        read_run_table(io.BytesIO(b""), label="empty.csv")
    monkeypatch.setenv("STRATEGY_MAX_ROWS", "2")
    with pytest.raises(ImportRejected, match="rows"):
        read_run_table(io.BytesIO(WANDB_EXPORT.encode()), label="wandb_export.csv")
