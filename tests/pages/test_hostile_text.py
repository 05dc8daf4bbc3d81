"""AppTest: text a user typed (SQL, HTML, Markdown, Streamlit directives) is shown on the pages exactly as
typed, never interpreted."""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import literal
from strategy.catalog import Catalog
from strategy.models import Task

APP = str(Path(__file__).resolve().parents[2] / "app.py")
NAME = "'); DROP TABLE tasks; -- **bold** :red[alarm] $x$"
DESCRIPTION = "<script>alert(1)</script> [click](javascript:alert(1)) # not a heading | not | a table"


def test_a_task_with_hostile_text_is_shown_literally(monkeypatch, empty_path):
    with Catalog.open(empty_path) as catalog:
        task = Task(name=NAME, domain="Security", modality="text", metric="F1", description=DESCRIPTION)
        catalog.save_tasks([task])
        assert catalog.task(task.id).name == NAME  # stored byte for byte
    monkeypatch.setenv("STRATEGY_CATALOG", str(empty_path))
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params["task"] = task.id
    app.run()
    app.switch_page("app_pages/task.py").run()
    try:
        assert not app.exception
        assert [h.value for h in app.subheader] == [literal(NAME)]
        shown = [m.value for m in app.markdown]
        assert literal(DESCRIPTION) in shown
        assert DESCRIPTION not in shown  # never handed to Markdown raw
        assert literal(DESCRIPTION).replace("\\", "") == DESCRIPTION  # the escapes only add backslashes
    finally:
        st.cache_data.clear()
        st.cache_resource.clear()
    with Catalog.open(empty_path) as catalog:
        assert catalog.counts()["tasks"] == 1
