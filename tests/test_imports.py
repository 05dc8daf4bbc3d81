"""Importing tracker runs into a real demo catalog: the preview's five kinds, all-or-nothing writes through the
outcome path, idempotent re-imports, changed runs reported, the audit entry and the saved mappings."""

from __future__ import annotations

import json

import pytest

from strategy.backup import backup, restore
from strategy.catalog import Catalog
from strategy.errors import ImportRejected
from strategy.imports import import_runs, mapping_for, preview_runs
from strategy.outcomes import delete
from strategy.trackers import RunMapping, TrackedRun
from strategy.trackers.mlflow_runs import read_mlflow_runs
from tests.trackers.mlflow_store import XRAY, LoggedRun, log_runs, sqlite_uri

pytest.importorskip("mlflow", reason="the trackers extra (mlflow) is not installed; `make test` installs it")
LABEL = "mlflow experiment 'xray'"


def tracked(run_id: str, n_human="100", n_synthetic="400", value=0.8, *, task=XRAY, state="FINISHED") -> TrackedRun:
    return TrackedRun(run_id, name=f"name-{run_id}", state=state,
                      params={"n_human": n_human, "n_synthetic": n_synthetic, "task": task},
                      metrics={"AUROC": [(0, value)]})


def preview(catalog, runs, mapping=None):
    return preview_runs(catalog, runs, mapping or RunMapping(), source="mlflow", label=LABEL, notes="mlflow run {name}")


def xray_outcomes(catalog) -> int:
    return len(catalog.outcomes(catalog.task(XRAY).id))


def test_mlflow_runs_reach_the_recommendation_with_no_file_written_by_hand(demo_catalog, tmp_path):
    uri = sqlite_uri(tmp_path / "mlflow.db")
    log_runs(uri, "xray", [LoggedRun("a", 2000, 0, history=(0.86,)), LoggedRun("b", 2000, 20000, history=(0.9,)),
                           LoggedRun("c", 200, 20000, history=(0.84,))])
    before = xray_outcomes(demo_catalog)
    result = import_runs(demo_catalog, preview(demo_catalog, read_mlflow_runs(uri, "xray")))
    assert result.logged.written == 3 and xray_outcomes(demo_catalog) == before + 3
    (change,) = result.logged.changes
    assert change.task_name == XRAY and change.before is not None and change.after is not None
    assert change.after.evidence_count == change.before.evidence_count + 3
    logged = demo_catalog.outcomes(demo_catalog.task(XRAY).id)
    assert set(logged[logged["notes"].str.startswith("mlflow run")]["notes"]) == {"mlflow run a", "mlflow run b",
                                                                                  "mlflow run c"}
    again = preview(demo_catalog, read_mlflow_runs(uri, "xray"))
    assert again.counts["skip"] == 3 and again.counts["import"] == 0
    assert import_runs(demo_catalog, again).logged.written == 0 and xray_outcomes(demo_catalog) == before + 3


def test_the_preview_sorts_every_run_into_one_kind(demo_catalog):
    import_runs(demo_catalog, preview(demo_catalog, [tracked("logged"), tracked("moved")]))
    runs = [tracked("logged"), tracked("moved", value=0.85), tracked("new"), tracked("bad", n_human="lots"),
            tracked("running", state="RUNNING")]
    seen = preview(demo_catalog, runs)
    status = dict(zip(seen.runs["run"], seen.runs["status"], strict=True))
    assert status == {"logged": "skip", "moved": "changed", "new": "import", "bad": "refused", "running": "left out"}
    reasons = dict(zip(seen.runs["run"], seen.runs["reason"], strict=True))
    assert "value 0.8 → 0.85" in reasons["moved"] and "state RUNNING" in reasons["running"]
    assert "n_human" in reasons["bad"] and "not a number" in reasons["bad"]
    assert [str(p) for p in seen.refused] == [f"{LABEL} run 'bad', field 'n_human': is not a number (got 'lots')"]
    assert seen.summary().startswith(f"5 runs read from {LABEL}: 1 to import, 1 already logged, 1 changed")


def test_one_refused_run_means_nothing_is_written(demo_catalog):
    before = xray_outcomes(demo_catalog)
    seen = preview(demo_catalog, [tracked("good"), tracked("other", task="No such task")])
    with pytest.raises(ImportRejected) as refused:
        import_runs(demo_catalog, seen)
    assert "run 'other', field 'task': names task 'No such task', which is not in the catalog" in str(refused.value)
    assert xray_outcomes(demo_catalog) == before


def test_a_changed_run_is_reported_and_never_duplicated_or_overwritten(demo_catalog):
    import_runs(demo_catalog, preview(demo_catalog, [tracked("r1", value=0.8)]))
    result = import_runs(demo_catalog, preview(demo_catalog, [tracked("r1", value=0.9), tracked("r2")]))
    assert result.logged.written == 1 and result.preview.counts["changed"] == 1
    logged = demo_catalog.outcomes(demo_catalog.task(XRAY).id)
    assert logged[logged["run_id"] == "r1"]["value"].tolist() == [0.8]


def test_a_run_deleted_here_stays_deleted_on_the_next_sync(demo_catalog):
    import_runs(demo_catalog, preview(demo_catalog, [tracked("gone")]))
    logged = demo_catalog.outcomes(demo_catalog.task(XRAY).id)
    delete(demo_catalog, logged[logged["run_id"] == "gone"]["id"].tolist())
    again = preview(demo_catalog, [tracked("gone")])
    assert again.runs["status"].tolist() == ["skip"] and "deleted here" in again.runs["reason"][0]


def test_a_run_repeated_within_one_import_is_written_once(demo_catalog):
    result = import_runs(demo_catalog, preview(demo_catalog, [tracked("twice"), tracked("twice")]))
    assert result.logged.written == 1 and result.logged.duplicates == 1


def test_the_audit_entry_names_the_source_and_the_mapping(demo_catalog):
    mapping = RunMapping(step="best", tags={})
    import_runs(demo_catalog, preview(demo_catalog, [tracked("audited")], mapping))
    entry = demo_catalog.audit_log(1, actions=["import"]).iloc[0]
    details = json.loads(entry["details"])
    assert details["file"] == LABEL and details["source"] == "mlflow" and details["mapping"] == "step='best'"
    assert details["rows"] == 1


def test_a_saved_mapping_is_used_next_time_and_survives_a_backup_and_restore(demo_catalog, tmp_path, empty_path):
    assert mapping_for(demo_catalog, "mlflow", "xray") == RunMapping()
    demo_catalog.save_run_mapping("mlflow", "xray", RunMapping(n_human_key="params.humans"))
    demo_catalog.save_run_mapping("mlflow", "", RunMapping(step="best"))
    assert mapping_for(demo_catalog, "mlflow", "xray").n_human_key == "params.humans"
    assert mapping_for(demo_catalog, "mlflow", "another").step == "best"  # the source's own mapping
    given = RunMapping(task=XRAY)
    assert mapping_for(demo_catalog, "mlflow", "xray", given) is given
    backup(demo_catalog, tmp_path / "backup")
    with Catalog.open(empty_path) as restored:
        restore(restored, tmp_path / "backup")
        assert restored.run_mapping("mlflow", "xray").n_human_key == "params.humans"
        assert len(restored.run_mappings()) == 2


def test_saving_a_mapping_needs_the_right_to_log_outcomes(demo_path, monkeypatch):
    from strategy.errors import PermissionDenied
    monkeypatch.setenv("STRATEGY_ROLE", "viewer")
    with Catalog.open(demo_path) as catalog, pytest.raises(PermissionDenied):
        catalog.save_run_mapping("mlflow", "xray", RunMapping())
