"""`strategy import`: each source through click's runner against real catalogs and a real MLflow store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from strategy.catalog import Catalog
from strategy.cli import main
from tests.trackers.mlflow_store import XRAY, LoggedRun, log_runs, sqlite_uri
from tests.trackers.test_table_runs import WANDB_EXPORT
from tests.trackers.wandb_store import make_offline_runs

pytest.importorskip("mlflow", reason="the trackers extra (mlflow) is not installed; `make test` installs it")


@pytest.fixture
def mlflow_uri(tmp_path):
    uri = sqlite_uri(tmp_path / "mlflow.db")
    log_runs(uri, "xray", [LoggedRun("a", 300, 0, history=(0.83,)), LoggedRun("b", 300, 3000, history=(0.87,)),
                           LoggedRun("live", 30, 30, finish=False)])
    return uri


def invoke(catalog, *args):
    return CliRunner().invoke(main, ["--catalog", str(catalog), "import", *args], catch_exceptions=False)


def xray_count(path) -> int:
    with Catalog.open(path) as catalog:
        return len(catalog.outcomes(catalog.task(XRAY).id))


def test_every_import_command_has_help():
    for command in ("mlflow", "wandb", "dvc", "table"):
        result = CliRunner().invoke(main, ["import", command, "--help"])
        assert result.exit_code == 0 and "--dry-run" in result.output and "--map" in result.output
    overview = CliRunner().invoke(main, ["import", "--help"])
    assert "0 * * * *  strategy import mlflow --tracking-uri URI --experiment NAME --ended-within 70" in \
        overview.output  # the cron lines, unwrapped


def test_a_dry_run_previews_and_writes_nothing(demo_path, mlflow_uri):
    before = xray_count(demo_path)
    result = invoke(demo_path, "mlflow", "--tracking-uri", mlflow_uri, "--experiment", "xray", "--dry-run")
    assert result.exit_code == 0, result.output
    assert ("3 runs read from mlflow experiment 'xray': 2 to import, 0 already logged, 0 changed since logged "
            "(not imported), 0 refused, 1 left out by the filters.") in result.output
    assert "Dry run: nothing was written." in result.output and xray_count(demo_path) == before


def test_an_import_moves_the_recommendation_and_a_second_adds_nothing(demo_path, mlflow_uri):
    before = xray_count(demo_path)
    first = invoke(demo_path, "mlflow", "--tracking-uri", mlflow_uri, "--experiment", "xray")
    assert first.exit_code == 0, first.output
    assert "2 outcomes written." in first.output and XRAY in first.output and "→" in first.output
    second = invoke(demo_path, "mlflow", "--tracking-uri", mlflow_uri, "--experiment", "xray", "--json")
    report = json.loads(second.output)
    assert report["written"] == 0 and report["counts"]["skip"] == 2 and xray_count(demo_path) == before + 2


def test_a_mapping_file_and_a_saved_mapping(demo_path, tmp_path):
    uri = sqlite_uri(tmp_path / "renamed.db")
    log_runs(uri, "xray", [LoggedRun("a", None, None, task=None, metric="val_auc", history=(0.8,),
                                     extra={"humans": "120", "synthetic_rows": "1200"})])
    refused = invoke(demo_path, "mlflow", "--tracking-uri", uri, "--experiment", "xray")
    assert refused.exit_code == 1 and "Nothing was written" in refused.output
    assert "field 'task': names no task" in refused.output
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"n_human_key": "humans", "n_synthetic_key": "synthetic_rows",
                                   "metric_key": "metrics.val_auc"}))
    saved = invoke(demo_path, "mlflow", "--tracking-uri", uri, "--experiment", "xray", "--map", str(mapping),
                   "--task", XRAY, "--save-map", "--dry-run")
    assert saved.exit_code == 0, saved.output
    assert "Saved the mapping for mlflow 'xray'" in saved.output and "1 to import" in saved.output
    # The next import needs no flags: the saved mapping is used.
    result = invoke(demo_path, "mlflow", "--tracking-uri", uri, "--experiment", "xray")
    assert result.exit_code == 0 and "1 outcome written." in result.output, result.output


def test_bad_mappings_and_stores_get_one_clear_line(demo_path, tmp_path, mlflow_uri):
    mapping = tmp_path / "map.json"
    mapping.write_text('{"step": "sometimes"}')
    bad = invoke(demo_path, "mlflow", "--tracking-uri", mlflow_uri, "--experiment", "xray", "--map", str(mapping))
    assert bad.exit_code == 1 and "is not valid: step:" in bad.output and "Traceback" not in bad.output
    mapping.write_text("[1, 2]")
    assert "must hold one JSON object" in invoke(demo_path, "mlflow", "--tracking-uri", mlflow_uri,
                                                 "--experiment", "xray", "--map", str(mapping)).output
    unknown = invoke(demo_path, "mlflow", "--tracking-uri", mlflow_uri, "--experiment", "nope")
    assert unknown.exit_code == 1 and "has no experiment named 'nope'" in unknown.output
    missing = invoke(demo_path, "mlflow", "--tracking-uri", sqlite_uri(tmp_path / "none.db"), "--experiment", "x")
    assert missing.exit_code == 1 and "does not exist" in missing.output


def test_watch_syncs_again_and_keeps_going_after_a_failed_sync(demo_path, mlflow_uri, tmp_path):
    result = invoke(demo_path, "mlflow", "--tracking-uri", mlflow_uri, "--experiment", "xray", "--watch", "1",
                    "--times", "2")
    assert result.exit_code == 0, result.output
    assert result.output.count("runs read from") == 2
    assert "2 outcomes written." in result.output and "0 outcomes written." in result.output
    # The second sync asks MLflow only for runs that ended since the first (less a margin for clocks).
    assert "runs read from mlflow experiment 'xray' (runs ended since the last sync)" in result.output
    failing = invoke(demo_path, "mlflow", "--tracking-uri", sqlite_uri(tmp_path / "gone.db"), "--experiment", "x",
                     "--watch", "1", "--times", "2")
    assert failing.exit_code == 0 and failing.output.count("does not exist") == 2


def test_a_run_table_and_the_wandb_csv_export(demo_path, tmp_path):
    export = tmp_path / "wandb_export.csv"
    export.write_text(WANDB_EXPORT)
    result = invoke(demo_path, "wandb", str(export))
    assert result.exit_code == 0, result.output
    assert "2 to import" in result.output and "1 left out" in result.output
    table = tmp_path / "runs.csv"
    table.write_text("run,humans,synthetic,score\nt1,50,500,0.8\n")
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"task": XRAY, "n_human_key": "humans", "n_synthetic_key": "synthetic",
                                   "metric_key": "score"}))
    imported = invoke(demo_path, "table", str(table), "--map", str(mapping))
    assert imported.exit_code == 0 and "1 outcome written." in imported.output, imported.output


def test_wandb_offline_runs_made_by_wandb_itself(demo_path, tmp_path):
    folder = make_offline_runs(tmp_path, [({"n_human": 300, "n_synthetic": 0, "task": XRAY}, [{"AUROC": 0.8},
                                                                                            {"AUROC": 0.82}]),
                                          ({"n_human": 300, "n_synthetic": 4000, "task": XRAY}, [{"AUROC": 0.84},
                                                                                               {"AUROC": 0.86}])])
    before = xray_count(demo_path)
    result = invoke(demo_path, "wandb", str(folder), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["written"] == 2 and xray_count(demo_path) == before + 2
    assert sorted(float(r["value"]) for r in report["runs"]) == [0.82, 0.86]  # the last step's value
    again = json.loads(invoke(demo_path, "wandb", str(tmp_path), "--json").output)
    assert again["written"] == 0 and again["counts"]["skip"] == 2


def test_dvc_experiments_from_a_file_and_from_standard_input(demo_path):
    """The JSON was captured from a real `dvc exp show --json` (DVC 3.67.1, scripts/capture_dvc_experiments.sh):
    DVC is not a project dependency, so the tests do not run it."""
    captured = Path(__file__).parent / "trackers" / "data" / "dvc_exp_show.json"
    before = xray_count(demo_path)
    result = invoke(demo_path, "dvc", str(captured))
    assert result.exit_code == 0, result.output
    assert "8 runs read from dvc experiments 'dvc_exp_show.json': 6 to import" in result.output
    assert "2 left out by the filters" in result.output and "6 outcomes written." in result.output
    assert xray_count(demo_path) == before + 6
    piped = CliRunner().invoke(main, ["--catalog", str(demo_path), "import", "dvc", "-", "--dry-run"],
                               input=captured.read_bytes(), catch_exceptions=False)
    assert piped.exit_code == 0 and "6 already logged" in piped.output, piped.output


def test_a_frequent_cron_line_reads_only_the_runs_that_ended_lately(demo_path, mlflow_uri):
    recent = invoke(demo_path, "mlflow", "--tracking-uri", mlflow_uri, "--experiment", "xray", "--ended-within", "70")
    assert recent.exit_code == 0, recent.output
    assert "2 runs read from mlflow experiment 'xray' (runs ended in the last 70 minutes): 2 to import" in recent.output
    # The running run has not ended, so it is not read at all (a full read lists it as left out).
    assert "left out" in recent.output and "0 left out" in recent.output


def test_a_table_without_run_ids_is_known_again_under_another_file_name(demo_path, tmp_path):
    """Rows without a run id are recognised by their content, the outcome's note included: the note names the
    run, never the file, so a renamed or re-uploaded table adds nothing."""
    first = tmp_path / "runs-monday.csv"
    first.write_text(f"task,n_human,n_synthetic,AUROC\n{XRAY},40,400,0.71\n{XRAY},80,400,0.74\n")
    assert "2 outcomes written." in invoke(demo_path, "table", str(first)).output
    renamed = tmp_path / "runs-final.csv"
    renamed.write_bytes(first.read_bytes())
    again = invoke(demo_path, "table", str(renamed))
    assert again.exit_code == 0 and "0 outcomes written." in again.output, again.output


def test_a_mapping_that_is_not_a_regular_file_is_refused_unread(demo_path, mlflow_uri):
    result = invoke(demo_path, "mlflow", "--tracking-uri", mlflow_uri, "--experiment", "xray", "--map", "/dev/zero")
    assert result.exit_code == 1 and "/dev/zero" in result.output and "Traceback" not in result.output
