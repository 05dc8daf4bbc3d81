"""AppTest of Evidence › Import runs: MLflow through a real SQLite store, a W&B runs CSV upload, the mapping
editor, the preview's kinds, all-or-nothing import and the saved mapping."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from strategy.catalog import Catalog
from tests.seed_counts import OUTCOMES_PER_TASK
from tests.trackers.mlflow_store import XRAY, LoggedRun, log_runs, sqlite_uri
from tests.trackers.test_table_runs import WANDB_EXPORT
from tests.trackers.wandb_store import make_offline_runs, zipped

pytest.importorskip("mlflow", reason="the trackers extra (mlflow) is not installed; `make test` installs it")
APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def page(demo_path, tmp_path, monkeypatch):
    # The local store lives in a folder the app may read; anything else on the server is refused.
    monkeypatch.setenv("STRATEGY_SAMPLE_ROOTS", str(tmp_path / "allowed"))
    monkeypatch.setenv("STRATEGY_CATALOG", str(demo_path))
    app = AppTest.from_file(APP, default_timeout=60).run()
    app.switch_page("app_pages/import_runs.py").run()
    assert not app.exception
    yield app
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def store(tmp_path) -> str:
    (tmp_path / "allowed").mkdir()
    uri = sqlite_uri(tmp_path / "allowed" / "mlflow.db")
    log_runs(uri, "xray", [LoggedRun("a", 250, 0, history=(0.7, 0.84)), LoggedRun("b", 250, 2500, history=(0.88,)),
                           LoggedRun("bad", "many", 10)])
    return uri


def read_mlflow(app: AppTest, uri: str, experiment: str = "xray") -> AppTest:
    app.text_input[0].set_value(uri)
    app.text_input[1].set_value(experiment)
    return app.button(key="FormSubmitter:mlflow_source-Read runs").click().run()


def metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def xray_outcomes(path) -> int:
    with Catalog.open(path) as catalog:
        return len(catalog.outcomes(catalog.task(XRAY).id))


def test_mlflow_runs_are_previewed_refused_then_mapped_and_imported(page, store, demo_path):
    read_mlflow(page, store)
    assert not page.exception and not page.error[1:], [e.value for e in page.error]
    assert metric(page, "To import") == "2" and metric(page, "Refused") == "1"
    assert "Nothing can be imported while 1 run(s) are refused" in page.error[0].value
    import_button = next(b for b in page.button if b.label.startswith("Import "))
    assert import_button.disabled
    refused = page.dataframe[0].value.set_index("name").loc["bad"]
    assert refused["status"] == "refused" and "n_human: is not a number (got 'many')" in refused["reason"]
    # The mapping's step changes what is read, without reading the store again.
    page.selectbox(key="map_step_mlflow").set_value("best").run()
    preview = page.dataframe[0].value
    assert sorted(preview[preview["status"] == "import"]["value"].astype(float)) == [0.84, 0.88]
    page.selectbox(key="map_step_mlflow").set_value("step").run()
    page.number_input(key="map_at_step_mlflow").set_value(0).run()
    preview = page.dataframe[0].value
    assert preview.set_index("name").loc["a", "value"] == "0.7"
    assert "was not logged at step 0" not in preview.set_index("name").loc["a", "reason"]
    assert xray_outcomes(demo_path) == OUTCOMES_PER_TASK[XRAY]  # nothing was written by reading or previewing


def test_an_upload_is_imported_and_shows_before_and_after(page, demo_path):
    page.segmented_control(key="import_source").set_value("wandb").run()
    page.file_uploader[0].set_value(("wandb_export.csv", WANDB_EXPORT.encode(), "text/csv")).run()
    assert not page.exception and not page.error, [e.value for e in page.error]
    assert metric(page, "To import") == "2" and metric(page, "Left out by filters") == "1"
    before = xray_outcomes(demo_path)
    next(b for b in page.button if b.label == "Import 2 runs").click().run()
    assert not page.exception
    assert [s.value for s in page.success] == ["Imported 2 runs; 0 were already logged."]
    changes = page.dataframe[-1].value
    assert changes["task"].tolist() == [XRAY] and "→" in changes["expected metric"].iloc[0]
    assert xray_outcomes(demo_path) == before + 2
    # The same file again: everything is already logged, and the import button is off.
    page.run()
    assert metric(page, "Already logged") == "2" and metric(page, "To import") == "0"


def test_a_saved_mapping_is_offered_next_time(page, store, demo_path):
    read_mlflow(page, store)
    page.selectbox(key="map_task_mlflow").set_value(
        next(o for o in page.selectbox(key="map_task_mlflow").options if o != "(each run's own key)")).run()
    page.selectbox(key="map_step_mlflow").set_value("best").run()
    next(b for b in page.button if b.label == "Save this mapping").click().run()
    assert page.success[0].value.startswith("Mapping saved: task=")
    with Catalog.open(demo_path) as catalog:
        saved = catalog.run_mapping("mlflow", "xray")
    assert saved is not None and saved.step == "best" and saved.task


def test_a_local_store_outside_the_allowed_folders_is_refused(page, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    uri = sqlite_uri(elsewhere / "mlflow.db")
    log_runs(uri, "xray", [LoggedRun("a", 10, 10)])
    read_mlflow(page, uri)
    assert not page.exception
    assert "is outside the folders the app may read" in page.error[0].value
    assert not page.metric


def test_an_unknown_experiment_and_a_missing_store_are_said_plainly(page, store, tmp_path):
    read_mlflow(page, store, "nope")
    assert "has no experiment named 'nope'" in page.error[0].value and not page.exception
    read_mlflow(page, sqlite_uri(tmp_path / "allowed" / "absent.db"))
    assert "does not exist" in page.error[0].value and not (tmp_path / "allowed" / "absent.db").exists()


def test_an_archive_of_wandb_offline_runs_is_imported(page, demo_path, tmp_path):
    folder = make_offline_runs(tmp_path / "runs", [({"n_human": 120, "n_synthetic": 1200, "task": XRAY},
                                                    [{"AUROC": 0.75}, {"AUROC": 0.8}])])
    page.segmented_control(key="import_source").set_value("wandb").run()
    page.file_uploader[0].set_value(("wandb.zip", zipped(folder), "application/zip")).run()
    assert not page.exception and not page.error, [e.value for e in page.error]
    assert metric(page, "To import") == "1"
    assert page.dataframe[0].value["value"].tolist() == ["0.8"]
    before = xray_outcomes(demo_path)
    next(b for b in page.button if b.label == "Import 1 run").click().run()
    assert [s.value for s in page.success] == ["Imported 1 run; 0 were already logged."]
    assert xray_outcomes(demo_path) == before + 1


def test_a_file_that_is_no_archive_is_refused_in_words(page):
    page.segmented_control(key="import_source").set_value("wandb").run()
    page.file_uploader[0].set_value(("runs.zip", b"not a zip at all", "application/zip")).run()
    assert not page.exception
    assert page.error[0].value.startswith("runs.zip is not a zip or tar archive that can be read")
    assert not page.metric


def test_the_rest_of_the_mapping_share_and_total_direction_and_tags(page, tmp_path):
    (tmp_path / "allowed").mkdir()
    uri = sqlite_uri(tmp_path / "allowed" / "shares.db")
    log_runs(uri, "xray", [
        LoggedRun("quarter", None, None, extra={"human_frac": "0.25", "n_total": "1000"}, tags={"stage": "final"}),
        LoggedRun("draft", None, None, extra={"human_frac": "0.5", "n_total": "10"}, tags={"stage": "draft"})])
    read_mlflow(page, uri)
    assert metric(page, "Refused") == "2"  # the default mapping looks for n_human and n_synthetic
    page.selectbox(key="map_share_mlflow").set_value("human_frac").run()
    assert "a human share needs a total" in page.error[0].value and not page.metric
    page.selectbox(key="map_total_mlflow").set_value("n_total").run()
    page.text_input(key="map_tags_mlflow").set_value("stage=final").run()
    preview = page.dataframe[0].value.set_index("name")
    assert preview.loc["quarter", ["n_human", "n_synthetic", "status"]].tolist() == ["250", "750", "import"]
    assert preview.loc["draft", "status"] == "left out" and "tag" in preview.loc["draft", "reason"]


def test_a_tracking_server_at_the_cloud_metadata_address_is_refused(page):
    read_mlflow(page, "http://169.254.169.254/latest/meta-data/")
    assert not page.exception
    assert "is at 169.254.169.254, a link-local, multicast or unspecified address" in page.error[0].value
    assert "the app does not make requests there" in page.error[0].value
    assert not page.metric
