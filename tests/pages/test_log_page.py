"""AppTest of Evidence › Log outcomes: the form, the file upload and the before → after view, on an embedded
catalog and on a DuckLake one (the app runs unchanged on both)."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from strategy.catalog import Catalog
from tests.seed_counts import OUTCOMES, OUTCOMES_PER_TASK

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TASK = "Chest X-ray triage"


@pytest.fixture
def page(demo_location, monkeypatch):
    monkeypatch.setenv("STRATEGY_CATALOG", str(demo_location))
    app = AppTest.from_file(APP, default_timeout=60).run()
    app.switch_page("app_pages/log_outcomes.py").run()
    assert not app.exception
    yield app
    st.cache_data.clear()
    st.cache_resource.clear()


def outcome_count(path) -> int:
    with Catalog.open(path) as catalog:
        return catalog.counts()["outcomes"]


def submit(app: AppTest) -> AppTest:
    return app.button(key="FormSubmitter:outcome_form-Log outcome").click().run()


def test_the_form_logs_an_outcome_and_shows_before_and_after(page, demo_location):
    task_id = page.selectbox(key="outcome_task").value
    page.number_input[0].set_value(800)
    page.number_input[1].set_value(3000)
    page.number_input[2].set_value(0.5)
    submit(page)
    assert not page.exception
    assert [s.value for s in page.success] == ["Outcome logged."]
    changes = page.dataframe[-1].value
    assert "→" in changes["class"].iloc[0] and "→" in changes["expected metric"].iloc[0]
    assert outcome_count(demo_location) == OUTCOMES + 1
    with Catalog.open(demo_location) as catalog:
        name = catalog.task(task_id).name
        assert catalog.latest_recommendation(task_id)[0].evidence_count == OUTCOMES_PER_TASK[name] + 1


def test_the_form_marks_a_missing_value_next_to_the_field_and_writes_nothing(page, demo_location):
    page.number_input[0].set_value(800)
    submit(page)
    assert any("is required" in m.value for m in page.markdown)
    assert "nothing was saved" in page.error[0].value
    assert outcome_count(demo_location) == OUTCOMES


def test_a_valid_upload_is_previewed_then_imported(page, demo_location):
    data = (f"task,n_human,n_synthetic,metric,value,run_id\n{TASK},2000,8000,AUROC,0.84,u-1\n"
            f"{TASK},500,0,AUROC,0.77,u-2\n").encode()
    page.file_uploader[0].set_value(("runs.csv", data, "text/csv"))
    page.run()
    assert any("All 2 rows are valid: 2 new, 0 already logged" in s.value for s in page.success)
    [button] = [b for b in page.button if b.label.startswith("Import")]
    button.click().run()
    assert any("Imported 2 outcomes" in s.value for s in page.success)
    assert page.dataframe[-1].value["task"].tolist() == [TASK]
    assert outcome_count(demo_location) == OUTCOMES + 2


def test_a_bad_upload_shows_the_problems_and_no_import_button(page, demo_location):
    data = f"task,n_human,n_synthetic,metric,value\n{TASK},-4,0,AUROC,0.8\n".encode()
    page.file_uploader[0].set_value(("bad.csv", data, "text/csv"))
    page.run()
    assert any("Nothing can be imported" in e.value for e in page.error)
    problems = page.dataframe[-1].value
    assert problems[["row", "field"]].values.tolist() == [[1, "n_human"]]
    assert not [b for b in page.button if b.label.startswith("Import")]
    assert outcome_count(demo_location) == OUTCOMES
