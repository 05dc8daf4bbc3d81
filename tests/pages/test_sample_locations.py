"""AppTest: a dataset's sample location outside the allowed folders is refused on the Data quality page (the
file is never read, its lines never shown) and when an admin saves it in Catalog › Datasets (nothing written)."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import literal
from strategy.catalog import Catalog
from strategy.locations import DEFAULT_ROOTS
from strategy.models import Dataset

APP = str(Path(__file__).resolve().parents[2] / "app.py")
SYNTHETIC, HUMAN = "Synthetic fraud transactions", "Confirmed fraud cases"
SECRET = "hunter2-do-not-show"


def human_reference(app):
    """The human reference box: keyed by the synthetic dataset chosen, so it is found by its label."""
    return next(box for box in app.selectbox if box.label == "Human reference")


@pytest.fixture(autouse=True)
def fresh_streamlit_caches():
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def open_page(location: Path, monkeypatch, script: str) -> AppTest:
    monkeypatch.setenv("STRATEGY_CATALOG", str(location))
    monkeypatch.delenv("STRATEGY_ROLE", raising=False)
    app = AppTest.from_file(APP, default_timeout=90).run()
    app.switch_page(script).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def relocate(path: Path, name: str, where: str) -> None:
    """Set a dataset's location directly in the catalog, as an older version (or another client) might have."""
    with Catalog.open(path) as catalog:
        row = catalog.datasets().set_index("name").loc[name]
        fields = {k: row[k] for k in Dataset.model_fields if k in row.index and k != "location"}
        fields["task_id"] = None if row["task_id"] != row["task_id"] else row["task_id"]
        catalog.replace_records("datasets", [Dataset(**fields, name=name, location=where)])


def everything_shown(app: AppTest) -> str:
    parts = [e.value for kind in ("error", "warning", "info", "markdown", "caption", "text", "code")
             for e in getattr(app, kind)]
    parts += [str(frame.value.to_dict()) for frame in app.dataframe]
    return "\n".join(str(p) for p in parts)


def test_a_location_outside_the_allowed_folders_is_refused_on_the_data_quality_page(demo_path, monkeypatch,
                                                                                    tmp_path):
    outside = tmp_path / "outside" / "secrets.csv"
    outside.parent.mkdir()
    outside.write_text(f"password\n{SECRET}\n{SECRET}\n", encoding="utf-8")
    relocate(demo_path, HUMAN, str(outside))
    with Catalog.open(demo_path) as catalog:
        before = catalog.counts()
        human_id = catalog.datasets().set_index("name").loc[HUMAN, "id"]
    app = open_page(demo_path, monkeypatch, "app_pages/data_quality.py")
    human_reference(app).set_value(human_id).run()
    [error] = [e.value for e in app.error]
    assert error == literal(f"Dataset '{HUMAN}': its sample location '{outside}' is outside the allowed folders "
                            f"({', '.join(str(root) for root in DEFAULT_ROOTS)}); an admin can allow a folder with "
                            "STRATEGY_SAMPLE_ROOTS.")
    assert SECRET not in everything_shown(app)
    assert not app.button  # stopped before the assessment could run
    with Catalog.open(demo_path) as catalog:
        assert catalog.counts() == before


def test_an_admin_cannot_save_a_location_outside_the_allowed_folders(demo_path, monkeypatch):
    with Catalog.open(demo_path) as catalog:
        before = catalog.counts()
        target = catalog.datasets().set_index("name").loc[HUMAN]
    app = open_page(demo_path, monkeypatch, "app_pages/datasets.py")
    next(box for box in app.selectbox if box.label == "Dataset").set_value(target["id"]).run()
    next(box for box in app.text_input if box.label == "Sample of its rows (file path)").set_value("/etc/passwd")
    app.button(key="FormSubmitter:dataset_form-Save dataset").click().run()
    assert not app.exception
    [error] = [e.value for e in app.error]
    assert error.startswith(literal(f"Dataset '{HUMAN}': its sample location '/etc/passwd' is outside the allowed "
                                    "folders ("))
    assert not app.success
    with Catalog.open(demo_path) as catalog:
        assert catalog.counts() == before
        assert catalog.datasets().set_index("name").loc[HUMAN, "location"] == target["location"]


def test_a_location_inside_an_allowed_folder_is_saved(demo_path, monkeypatch, tmp_path):
    sample = tmp_path / "allowed" / "fraud.csv"
    sample.parent.mkdir()
    sample.write_text("amount,country\n1.0,GB\n2.0,FR\n", encoding="utf-8")
    monkeypatch.setenv("STRATEGY_SAMPLE_ROOTS", str(sample.parent))
    with Catalog.open(demo_path) as catalog:
        target = catalog.datasets().set_index("name").loc[HUMAN]
    app = open_page(demo_path, monkeypatch, "app_pages/datasets.py")
    next(box for box in app.selectbox if box.label == "Dataset").set_value(target["id"]).run()
    next(box for box in app.text_input if box.label == "Sample of its rows (file path)").set_value(str(sample))
    app.button(key="FormSubmitter:dataset_form-Save dataset").click().run()
    assert not app.exception and not app.error
    with Catalog.open(demo_path) as catalog:
        assert catalog.datasets().set_index("name").loc[HUMAN, "location"] == str(sample)
