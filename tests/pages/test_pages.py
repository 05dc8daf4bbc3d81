"""Every page of the app, run in-process with Streamlit's AppTest against real DuckDB catalog files.

What each page should show is read from the catalog itself (strategy.catalog.Catalog), so these
tests follow the demo seed rather than a copy of it. A few well-known demo names are asserted
directly as a guard against the seed silently losing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from strategy.catalog import Catalog
from strategy.models import FACTORS

APP = Path(__file__).resolve().parents[2] / "app.py"
TIMEOUT = 30

# (script given to switch_page, title the page shows); Portfolio is the default page.
PAGES = [
    ("pages/portfolio.py", "Portfolio"),
    ("pages/task.py", "Task"),
    ("pages/outcomes.py", "Outcomes"),
    ("pages/profiles.py", "Task profiles"),
    ("pages/datasets.py", "Datasets"),
    ("pages/costs.py", "Cost assumptions"),
    ("pages/audit.py", "Audit log"),
    ("pages/export.py", "Export"),
]
EXPORT_TABLES = ["Tasks", "Outcomes", "Datasets", "Cost assumptions"]


@dataclass(frozen=True)
class Expected:
    """What the demo catalog holds, read straight from it."""

    location: str
    counts: dict[str, int]
    tasks: pd.DataFrame  # active tasks, in the catalog's order
    all_tasks: pd.DataFrame  # archived included
    outcomes: pd.DataFrame
    datasets: pd.DataFrame
    cost_tiers: pd.DataFrame
    audit_log: pd.DataFrame

    def task_id(self, name: str) -> str:
        return self.tasks.loc[self.tasks["name"] == name, "id"].item()


@pytest.fixture(autouse=True)
def fresh_streamlit_caches():
    """Each test starts and ends with empty st.cache_data / st.cache_resource (the catalog connection)."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def expected(demo_path) -> Expected:
    with Catalog.open(demo_path) as catalog:
        return Expected(
            location=str(demo_path),
            counts=catalog.counts(),
            tasks=catalog.tasks(),
            all_tasks=catalog.tasks(include_archived=True),
            outcomes=catalog.outcomes(),
            datasets=catalog.datasets(),
            cost_tiers=catalog.cost_tiers(),
            audit_log=catalog.audit_log(500),
        )


def make_app(monkeypatch, location: Path) -> AppTest:
    monkeypatch.setenv("STRATEGY_CATALOG", str(location))
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT)


@pytest.fixture
def demo_app(monkeypatch, demo_path, expected) -> AppTest:
    """The app pointed at a fresh copy of the demo catalog (expected is read before the app opens it)."""
    return make_app(monkeypatch, demo_path)


def open_page(at: AppTest, script: str) -> AppTest:
    if script != "pages/portfolio.py":
        at.switch_page(script)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def download_labels(at: AppTest) -> list[str]:
    return [button.proto.label for button in at.get("download_button")]


# --------------------------------------------------------------------------- the demo data itself


def test_demo_catalog_has_the_content_the_pages_are_checked_against(expected):
    assert expected.counts["tasks"] == 15
    assert expected.counts["outcomes"] == 165
    assert {"Chest X-ray triage", "Card fraud detection"} <= set(expected.tasks["name"])
    assert not expected.datasets.empty and not expected.cost_tiers.empty and not expected.audit_log.empty


# --------------------------------------------------------------------------- every page


@pytest.mark.parametrize(("script", "title"), PAGES, ids=[title for _, title in PAGES])
def test_every_page_renders_demo_content_without_error(demo_app, script, title):
    at = open_page(demo_app, script)
    assert [t.value for t in at.title] == [title]
    assert not at.error, [e.value for e in at.error]
    # Demo content everywhere: no "nothing here yet" notice on any page.
    assert not at.info, [i.value for i in at.info]
    if script == "pages/export.py":
        assert len(at.get("download_button")) == 2 * len(EXPORT_TABLES)
    else:
        assert len(at.dataframe) >= 1
        assert all(not frame.value.empty for frame in at.dataframe)


def test_app_can_walk_through_all_pages_in_one_session(demo_app):
    at = demo_app
    for script, title in PAGES:
        open_page(at, script)
        assert [t.value for t in at.title] == [title]


# --------------------------------------------------------------------------- sidebar


def test_sidebar_shows_catalog_location_and_row_counts(demo_app, expected):
    at = open_page(demo_app, "pages/portfolio.py")
    assert [code.value for code in at.sidebar.code] == [expected.location]
    captions = " ".join(caption.value for caption in at.sidebar.caption)
    assert "15 tasks" in captions
    assert "165 outcomes" in captions
    counts = expected.counts
    for text in (f"{counts['datasets']} datasets", f"{counts['cost_tiers']} cost tiers",
                 f"{counts['audit_log']} audit entries", f"{counts['recommendations']} recommendations"):
        assert text in captions


# --------------------------------------------------------------------------- portfolio


def test_portfolio_lists_every_active_task_with_a_link_to_its_page(demo_app, expected):
    at = open_page(demo_app, "pages/portfolio.py")
    assert len(at.dataframe) == 1
    table = at.dataframe[0].value
    assert table["name"].tolist() == expected.tasks["name"].tolist()
    assert "Chest X-ray triage" in set(table["name"])
    assert table["open"].tolist() == ("task?task=" + expected.tasks["id"]).tolist()
    assert table["outcomes"].tolist() == expected.tasks["outcomes"].tolist()
    assert table["human_pull"].between(0, 4).all() and table["synthetic_pull"].between(0, 4).all()

    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Tasks"] == str(len(expected.tasks))
    assert metrics["Outcomes behind them"] == f"{int(expected.tasks['outcomes'].sum()):,}"
    assert metrics["Tasks with no outcomes"] == str(int((expected.tasks["outcomes"] == 0).sum()))


# --------------------------------------------------------------------------- task


def test_task_page_defaults_to_the_first_task(demo_app, expected):
    at = open_page(demo_app, "pages/task.py")
    selectbox = at.selectbox[0]
    assert selectbox.label == "Task"
    assert selectbox.options == expected.tasks["name"].tolist()
    first = expected.tasks.iloc[0]
    assert selectbox.value == first["id"]
    assert [s.value for s in at.subheader] == [first["name"]]
    assert at.query_params["task"] == first["id"]


def test_task_page_honours_the_task_query_parameter(demo_app, expected):
    chest = expected.task_id("Chest X-ray triage")
    assert chest != expected.tasks["id"].iloc[0], "pick a task that is not the default one"
    demo_app.query_params["task"] = chest
    at = open_page(demo_app, "pages/task.py")
    assert at.selectbox[0].value == chest
    assert [s.value for s in at.subheader] == ["Chest X-ray triage"]

    metrics = {metric.label: metric.value for metric in at.metric}
    row = expected.tasks[expected.tasks["id"] == chest].iloc[0]
    assert metrics == {"Domain": row["domain"], "Modality": row["modality"], "Metric": row["metric"],
                       "Outcomes": str(int(row["outcomes"]))}
    assert [tab.label for tab in at.tabs] == ["Profile", "Evidence", "Datasets"]
    # Profile chart and the outcomes chart.
    assert len(at.get("vega_lite_chart")) == 2

    evidence, own_datasets = at.dataframe[0].value, at.dataframe[1].value
    wanted = expected.outcomes[expected.outcomes["task_id"] == chest]
    assert len(evidence) == len(wanted) > 0
    assert sorted(evidence["run_id"]) == sorted(wanted["run_id"])
    assert set(own_datasets["name"]) == set(expected.datasets.loc[expected.datasets["task_id"] == chest, "name"])


def test_task_page_ignores_an_unknown_task_query_parameter(demo_app, expected):
    demo_app.query_params["task"] = "no-such-task"
    at = open_page(demo_app, "pages/task.py")
    assert at.selectbox[0].value == expected.tasks["id"].iloc[0]
    assert [s.value for s in at.subheader] == [expected.tasks["name"].iloc[0]]


def test_choosing_another_task_updates_subheader_and_query_parameter(demo_app, expected):
    chest = expected.task_id("Chest X-ray triage")
    demo_app.query_params["task"] = chest
    at = open_page(demo_app, "pages/task.py")
    other = expected.tasks.loc[expected.tasks["id"] != chest].iloc[-1]

    at.selectbox[0].select(other["id"]).run()
    assert not at.exception
    assert at.selectbox[0].value == other["id"]
    assert [s.value for s in at.subheader] == [other["name"]]
    assert at.query_params["task"] == other["id"]
    assert len(at.dataframe[0].value) == int(other["outcomes"])


# --------------------------------------------------------------------------- outcomes


def test_outcomes_page_shows_every_live_outcome(demo_app, expected):
    at = open_page(demo_app, "pages/outcomes.py")
    live = expected.outcomes
    table = at.dataframe[0].value
    assert len(table) == len(live) == 165
    assert set(table["task_name"]) == set(live["task_name"])
    assert {metric.label: metric.value for metric in at.metric} == {"Outcomes shown": f"{len(live):,}"}
    tasks_filter = at.multiselect[0]
    assert tasks_filter.label == "Tasks"
    assert tasks_filter.options == sorted(live["task_name"].unique())
    assert "Chest X-ray triage" in tasks_filter.options


def test_outcomes_filtered_to_one_task_show_only_that_task(demo_app, expected):
    at = open_page(demo_app, "pages/outcomes.py")
    at.multiselect[0].select("Chest X-ray triage").run()
    assert not at.exception
    table = at.dataframe[0].value
    wanted = expected.outcomes[expected.outcomes["task_name"] == "Chest X-ray triage"]
    assert len(table) == len(wanted) > 0
    assert set(table["task_name"]) == {"Chest X-ray triage"}
    assert sorted(table["run_id"]) == sorted(wanted["run_id"])
    assert at.metric[0].value == f"{len(wanted):,}"


def test_outcomes_filtered_by_source(demo_app, expected):
    at = open_page(demo_app, "pages/outcomes.py")
    sources = at.multiselect[1]
    assert sources.label == "Source"
    assert sources.options == sorted(expected.outcomes["source"].unique())
    sources.select(sources.options[0]).run()
    assert not at.exception
    assert set(at.dataframe[0].value["source"]) == {sources.options[0]}


# --------------------------------------------------------------------------- catalog pages


def test_profiles_page_lists_all_tasks_and_every_factor(demo_app, expected):
    at = open_page(demo_app, "pages/profiles.py")
    assert [s.value for s in at.subheader] == ["Tasks", "The factors"]
    tasks, factors = at.dataframe[0].value, at.dataframe[1].value
    assert tasks["name"].tolist() == expected.all_tasks["name"].tolist()
    assert factors["Factor"].tolist() == [factor.label for factor in FACTORS]
    assert len(at.get("vega_lite_chart")) == 1


def test_datasets_page_lists_every_dataset_and_filters_by_source(demo_app, expected):
    at = open_page(demo_app, "pages/datasets.py")
    table = at.dataframe[0].value
    assert sorted(table["name"]) == sorted(expected.datasets["name"])
    assert "Chest X-ray triage" in set(table["task_name"])
    assert set(table["task_name"]) <= set(expected.all_tasks["name"])

    at.multiselect[0].select("human").run()
    assert not at.exception
    human = at.dataframe[0].value
    assert set(human["source_kind"]) == {"human"}
    assert sorted(human["name"]) == sorted(expected.datasets.loc[expected.datasets["source_kind"] == "human", "name"])


def test_costs_page_lists_every_cost_tier(demo_app, expected):
    at = open_page(demo_app, "pages/costs.py")
    table = at.dataframe[0].value
    assert table["name"].tolist() == expected.cost_tiers["name"].tolist()
    assert set(table["kind"]) == set(expected.cost_tiers["kind"])


def test_audit_page_shows_the_demo_seed_writes(demo_app, expected):
    at = open_page(demo_app, "pages/audit.py")
    table = at.dataframe[0].value
    assert len(table) == len(expected.audit_log) == min(500, expected.counts["audit_log"])
    assert set(table["actor"]) == {"demo seed"}
    assert at.multiselect[0].options == ["demo seed"]


def test_export_page_offers_csv_and_json_per_table(demo_app, expected):
    at = open_page(demo_app, "pages/export.py")
    assert download_labels(at) == [f"{table} as {kind}" for table in EXPORT_TABLES for kind in ("CSV", "JSON")]
    for button in at.get("download_button"):
        suffix = ".csv" if button.proto.label.endswith("CSV") else ".json"
        assert button.proto.url.endswith(suffix)
    headings = [markdown.value for markdown in at.markdown]
    rows = {"Tasks": len(expected.all_tasks), "Outcomes": len(expected.outcomes),
            "Datasets": len(expected.datasets), "Cost assumptions": len(expected.cost_tiers)}
    assert headings == [f"**{table}** — {rows[table]:,} rows" for table in EXPORT_TABLES]


# --------------------------------------------------------------------------- catalogs without demo content


def test_empty_catalog_portfolio_tells_how_to_load_content(monkeypatch, empty_path):
    at = make_app(monkeypatch, empty_path)
    at.run()
    assert not at.exception
    assert not at.error
    assert not at.dataframe
    assert len(at.info) == 1
    assert "strategy init --demo" in at.info[0].value
    assert [code.value for code in at.sidebar.code] == [str(empty_path)]
    assert "0 tasks" in at.sidebar.caption[-1].value


@pytest.mark.parametrize(("script", "title"), PAGES[1:], ids=[title for _, title in PAGES[1:]])
def test_empty_catalog_pages_render_without_error(monkeypatch, empty_path, script, title):
    at = open_page(make_app(monkeypatch, empty_path), script)
    assert [t.value for t in at.title] == [title]
    assert not at.error
    assert not at.dataframe
    if script == "pages/export.py":
        assert len(at.get("download_button")) == 2 * len(EXPORT_TABLES)
        assert all(markdown.value.endswith("— 0 rows") for markdown in at.markdown)
    else:
        assert len(at.info) == 1


def test_foreign_duckdb_file_is_refused_with_an_error(monkeypatch, tmp_path):
    foreign = tmp_path / "people.duckdb"
    with duckdb.connect(str(foreign)) as connection:
        connection.execute("CREATE TABLE people (name VARCHAR, born DATE)")
        connection.execute("INSERT INTO people VALUES ('Ada', DATE '1815-12-10')")

    at = make_app(monkeypatch, foreign)
    at.run()
    assert not at.exception
    assert len(at.error) == 1
    message = at.error[0].value
    assert "not a strategy catalog" in message
    assert str(foreign) in message
    assert "people" in message
    # The app stops before any page or sidebar content.
    assert not at.title and not at.dataframe and not at.sidebar.code

    st.cache_resource.clear()
    with duckdb.connect(str(foreign), read_only=True) as connection:
        tables = {row[0] for row in connection.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert tables == {"people"}, "the foreign file must be left untouched"


def test_file_that_is_not_duckdb_is_refused_with_an_error(monkeypatch, tmp_path):
    junk = tmp_path / "notes.duckdb"
    content = b"just some notes, not a database\n" * 200
    junk.write_bytes(content)
    at = make_app(monkeypatch, junk)
    at.run()
    assert not at.exception
    assert len(at.error) == 1
    assert "is not a DuckDB database" in at.error[0].value
    assert not at.title
    assert junk.read_bytes() == content
