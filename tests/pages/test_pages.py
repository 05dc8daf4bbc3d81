"""Every page of the app, run in-process with Streamlit's AppTest against real DuckDB catalog files.

What each page should show is read from the catalog itself (strategy.catalog.Catalog), so these
tests follow the demo seed rather than a copy of it. A few well-known demo names are asserted
directly as a guard against the seed silently losing them.

The app keeps one DuckDB connection per process (st.cache_resource); a test that opens a second
Catalog on the same file in this process shares that database instance, so it may read what the
page wrote (and write test data) while the app is open.

Tests marked xfail(strict=True) pin down app bugs found while writing this suite: they fail today
and will report XPASS (an error, because strict) once the bug is fixed, so the marker gets removed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import literal
from strategy.backtest import model_card
from strategy.budget import Costs
from strategy.catalog import Catalog
from strategy.explain import calibration_sentence, why_lines
from strategy.export import to_markdown
from strategy.models import FACTORS, Recommendation, Task, utc_now
from strategy.recommend import ENGINE_VERSION, Scenario, current_rulebook, recommend_task
from strategy.rules import default_rulebook
from strategy.scenarios import whatif
from strategy.summary import build_summary
from tests.seed_counts import OUTCOMES, TASKS

APP = Path(__file__).resolve().parents[2] / "app.py"
TIMEOUT = 60
BACKTEST_TIMEOUT = 180

# (script given to switch_page, title the page shows, st.info texts (prefixes) expected on the demo
# catalog, st.info texts expected on an empty catalog). Portfolio is the default page.
PAGES = [
    ("app_pages/portfolio.py", "Portfolio", [], ["The catalog has no tasks yet."]),
    # The first task of the demo has no humanness report, so its quality tab says how to get one.
    ("app_pages/task.py", "Task", ["**Next experiment:**", "No humanness report for this task"], ["No tasks yet"]),
    ("app_pages/log_outcomes.py", "Log outcomes", [], ["Create a task first"]),
    ("app_pages/import_runs.py", "Import runs", [], ["Create a task first"]),
    ("app_pages/outcomes.py", "Outcomes", [], ["No outcomes logged yet"]),
    ("app_pages/data_quality.py", "Data quality", [], ["Upload a human and a synthetic sample"]),
    ("app_pages/model_card.py", "Model card", ["No backtest stored yet."], ["No backtest stored yet."]),
    ("app_pages/tasks.py", "Tasks", [], []),
    ("app_pages/profiles.py", "Task profiles", [], ["No tasks yet"]),
    ("app_pages/datasets.py", "Datasets", [], ["No datasets registered yet."]),
    ("app_pages/costs.py", "Cost assumptions", [], ["No cost tiers yet"]),
    ("app_pages/rulebook.py", "Rulebook", [], []),
    ("app_pages/audit.py", "Audit log", [], ["Nothing has been written yet."]),
    ("app_pages/export.py", "Export", [], ["No tasks to export yet"]),
]
PAGE_IDS = [title for _, title, _, _ in PAGES]
# Pages whose demo content includes at least one table (st.dataframe or st.data_editor).
PAGES_WITH_TABLES = {"Portfolio", "Task", "Outcomes", "Data quality", "Task profiles", "Datasets", "Cost assumptions", "Rulebook",
                     "Audit log"}
EXPORT_TABLES = ["Tasks", "Outcomes", "Datasets", "Cost assumptions"]
SUMMARY_FORMATS = ["md", "html", "pdf", "csv", "json"]
PORTFOLIO_COLUMNS = {"task_id", "task_name", "sourcing", "human_share_spend", "split", "metric", "expected",
                     "confidence", "synthetic_adds", "human_adds", "budget_text", "basis", "evidence_count",
                     "created_at"}
TASK_TABS = ["Why", "Evidence", "Synthetic data quality", "Mix and budget", "History", "Profile"]
# Demo tasks used by name below.
CHEST = "Chest X-ray triage"
REVIEWS = "Product review sentiment"  # no domain expertise; its own dataset prices its evaluation set
# Two demo tasks given a low-confidence latest recommendation by the `low_confidence` fixture; neither is
# first in the catalog's order nor by name, so ordering by confidence is really tested.
# Below any confidence the demo's own posterior draws give (the lowest is above 0.05), so they sort first.
SHAKEN = {"Legal contract clause review": 0.01, "Speech recognition for call centres": 0.02}


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
    recommendations: pd.DataFrame  # the latest stored recommendation of every active task

    def task_id(self, name: str) -> str:
        return self.tasks.loc[self.tasks["name"] == name, "id"].item()

    def recommendation(self, task_id: str) -> pd.Series:
        return self.recommendations.set_index("task_id").loc[task_id]


def read_expected(path: Path) -> Expected:
    with Catalog.open(path) as catalog:
        return Expected(
            location=str(path),
            counts=catalog.counts(),
            tasks=catalog.tasks(),
            all_tasks=catalog.tasks(include_archived=True),
            outcomes=catalog.outcomes(),
            datasets=catalog.datasets(),
            cost_tiers=catalog.cost_tiers(),
            audit_log=catalog.audit_log(500),
            recommendations=catalog.latest_recommendations(),
        )


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
    return read_expected(demo_path)


def make_app(monkeypatch, location: Path) -> AppTest:
    monkeypatch.setenv("STRATEGY_CATALOG", str(location))
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT)


@pytest.fixture
def demo_app(monkeypatch, demo_path, expected) -> AppTest:
    """The app pointed at a fresh copy of the demo catalog (expected is read before the app opens it)."""
    return make_app(monkeypatch, demo_path)


@pytest.fixture
def low_confidence(demo_path) -> dict[str, str]:
    """Store, for the SHAKEN tasks, a newer copy of their recommendation with the lowest confidences of the
    portfolio (as when the posterior draws disagree). Returns task id → name."""
    shaken = {}
    with Catalog.open(demo_path) as catalog:
        for name, confidence in SHAKEN.items():
            task = catalog.task(name)
            recommendation, fit = catalog.latest_recommendation(task.id)
            newer = recommendation.model_copy(update={
                "id": recommendation.id + "-shaken", "confidence": confidence, "low_confidence": True,
                "created_at": max(utc_now(), recommendation.created_at + timedelta(seconds=1))})
            catalog.save_recommendations([newer], [fit], actor="test")
            shaken[task.id] = name
    return shaken


@pytest.fixture
def shaken_expected(low_confidence, demo_path) -> Expected:
    return read_expected(demo_path)


@pytest.fixture
def shaken_app(monkeypatch, demo_path, shaken_expected) -> AppTest:
    return make_app(monkeypatch, demo_path)


def open_page(at: AppTest, script: str) -> AppTest:
    """First run of a new AppTest, on the given page. switch_page maps a file to its st.navigation url_path
    (app_pages/model_card.py is served at /model) only after a first run, so the app runs once before switching."""
    at.run()
    if script != "app_pages/portfolio.py":
        switch_to(at, script)
    assert_fine(at)
    return at


def switch_to(at: AppTest, script: str) -> AppTest:
    """Go to another page in a session that has run already."""
    at.switch_page(script)
    at.run()
    assert_fine(at)
    return at


def assert_fine(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def download_labels(at: AppTest) -> list[str]:
    return [button.proto.label for button in at.get("download_button")]


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def deltas(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.proto.delta for metric in at.metric}


def by_label(elements, label: str):
    matches = [element for element in elements if element.label == label]
    assert len(matches) == 1, f"{len(matches)} widgets labelled {label!r}"
    return matches[0]


def button(at: AppTest, label: str):
    return by_label(at.button, label)


def portfolio_table(at: AppTest) -> pd.DataFrame:
    assert len(at.dataframe) == 1
    return at.dataframe[0].value


def by_confidence(recommendations: pd.DataFrame) -> list[str]:
    return recommendations.sort_values(["confidence", "task_name"], kind="stable")["task_name"].tolist()


def money(value: float) -> str:
    return f"${value:,.0f}"


def budget_input(at: AppTest):
    (found,) = [number for number in at.number_input if number.key and number.key.startswith("budget-")]
    return found


def column_holding(at: AppTest, label: str):
    """The st.columns column that holds the widget labelled ``label``."""
    for column in at.columns:
        if any(widget.label == label for widget in [*column.text_input, *column.number_input, *column.selectbox]):
            return column
    raise AssertionError(f"no column holds {label!r}")


def red_messages(block) -> list[str]:
    return [markdown.value for markdown in block.markdown if markdown.value.startswith(":red[")]


def task_count(path: Path) -> int:
    with Catalog.open(path) as catalog:
        return catalog.counts()["tasks"]


def fill_task_form(at: AppTest, **values) -> None:
    """Type into the Catalog › Tasks form (not submitted)."""
    labels = {"name": "Name", "domain": "Domain", "metric": "Metric"}
    for field, text in values.items():
        by_label(at.text_input, labels[field]).input(text)


# --------------------------------------------------------------------------- the demo data itself


def test_demo_catalog_has_the_content_the_pages_are_checked_against(expected):
    assert expected.counts["tasks"] == TASKS
    assert expected.counts["outcomes"] == OUTCOMES
    assert {CHEST, REVIEWS, "Card fraud detection", *SHAKEN} <= set(expected.tasks["name"])
    assert not expected.datasets.empty and not expected.cost_tiers.empty and not expected.audit_log.empty
    # One stored recommendation per task, as `strategy init --demo` leaves it.
    assert sorted(expected.recommendations["task_id"]) == sorted(expected.tasks["id"])
    reviews = expected.tasks[expected.tasks["name"] == REVIEWS].iloc[0]
    assert reviews["domain_expertise"] == 0


# --------------------------------------------------------------------------- every page


@pytest.mark.parametrize(("script", "title", "notices", "empty_notices"), PAGES, ids=PAGE_IDS)
def test_every_page_renders_demo_content_without_error(demo_app, script, title, notices, empty_notices):
    at = open_page(demo_app, script)
    assert [t.value for t in at.title] == [title]
    assert not at.error, [e.value for e in at.error]
    # Demo content everywhere: only the notices that belong on the page, no "nothing here yet".
    infos = [info.value for info in at.info]
    assert len(infos) == len(notices), infos
    assert all(info.startswith(notice) for info, notice in zip(infos, notices, strict=True)), infos
    if title == "Export":  # five summary formats, then CSV and JSON of each catalog table
        assert len(at.get("download_button")) == len(SUMMARY_FORMATS) + 2 * len(EXPORT_TABLES)
    if title in PAGES_WITH_TABLES:
        assert len(at.dataframe) >= 1
        assert all(not frame.value.empty for frame in at.dataframe)


@pytest.mark.parametrize(("script", "title", "notices", "empty_notices"), PAGES, ids=PAGE_IDS)
def test_every_page_renders_an_empty_catalog_without_error(monkeypatch, empty_path, script, title, notices,
                                                           empty_notices):
    at = open_page(make_app(monkeypatch, empty_path), script)
    assert [t.value for t in at.title] == [title]
    assert not at.error, [e.value for e in at.error]
    infos = [info.value for info in at.info]
    assert len(infos) == len(empty_notices), infos
    assert all(info.startswith(notice) for info, notice in zip(infos, empty_notices, strict=True)), infos
    if title == "Export":
        assert len(at.get("download_button")) == 2 * len(EXPORT_TABLES)
        assert all(markdown.value.endswith("— 0 rows") for markdown in at.markdown)
    elif title == "Rulebook":  # the rules come from the rulebook file, not the catalog
        assert len(at.data_editor) == 1
    else:
        assert not at.dataframe


def test_app_can_walk_through_all_pages_in_one_session(demo_app):
    at = demo_app.run()
    for script, title, _, _ in PAGES:
        switch_to(at, script)
        assert [t.value for t in at.title] == [title]


# --------------------------------------------------------------------------- sidebar


def test_sidebar_shows_catalog_location_and_row_counts(demo_app, expected):
    at = open_page(demo_app, "app_pages/portfolio.py")
    assert [code.value for code in at.sidebar.code] == [expected.location]
    captions = " ".join(caption.value for caption in at.sidebar.caption)
    assert f"{TASKS} tasks" in captions
    assert f"{OUTCOMES} outcomes" in captions
    assert "single user, admin rights" in captions
    counts = expected.counts
    for text in (f"{counts['datasets']} datasets", f"{counts['cost_tiers']} cost tiers",
                 f"{counts['audit_log']} audit entries", f"{counts['recommendations']} recommendations"):
        assert text in captions


# --------------------------------------------------------------------------- portfolio


def test_portfolio_shows_one_row_per_task_with_its_stored_recommendation(demo_app, expected):
    at = open_page(demo_app, "app_pages/portfolio.py")
    table = portfolio_table(at)
    assert set(table.columns) >= PORTFOLIO_COLUMNS
    assert len(table) == len(expected.tasks) == TASKS
    assert sorted(table["task_name"]) == sorted(expected.tasks["name"])
    assert CHEST in set(table["task_name"])

    tasks = expected.tasks.set_index("name")
    stored = expected.recommendations.set_index("task_name")
    for row in table.to_dict(orient="records"):
        task = tasks.loc[row["task_name"]]
        recommendation = stored.loc[row["task_name"]]
        assert row["task_id"] == task["id"]
        assert row["evidence_count"] == task["outcomes"]
        assert row["metric"] == task["metric"]
        assert row["sourcing"] == recommendation["sourcing"]
        assert row["human_share_spend"] == pytest.approx(recommendation["human_share_spend"])
        assert row["confidence"] == pytest.approx(recommendation["confidence"])
        assert row["basis"] == recommendation["basis"]
        assert row["split"] == (f"{money(recommendation['spend_human'])} human · "
                                f"{money(recommendation['spend_synthetic'])} synthetic")
    assert len(at.get("vega_lite_chart")) == 1  # the split chart
    assert at.query_params == {}  # default filters and sort keep the URL clean


def test_portfolio_shows_what_each_source_adds_and_opens_a_task_in_the_same_tab(demo_app, expected):
    """Issue 18: what each source adds and the budget beside the class; a clicked row offers its task's page."""
    at = open_page(demo_app, "app_pages/portfolio.py")
    table = portfolio_table(at)
    stored = expected.recommendations.set_index("task_name")
    for row in table.to_dict(orient="records"):
        recommendation = stored.loc[row["task_name"]]
        assert row["budget_text"] == money(recommendation["budget"])
        for column in ("synthetic_adds", "human_adds"):
            value = recommendation[column]
            assert row[column] == ("—" if pd.isna(value) else "0.000" if round(value, 3) == 0 else f"{value:+.3f}")
    assert (table["synthetic_adds"] != "—").any() and (table["human_adds"] != "—").any()
    first = table.iloc[0]
    assert any(c.value == "Click a task's row to open it." for c in at.caption)
    at.session_state["pf_table"] = {"selection": {"rows": [], "columns": [], "cells": [[0, "task_name"]]}}
    at.run()
    assert_fine(at)
    [link] = [link for link in at.get("page_link") if link.proto.label == "Open the task page"]
    assert link.proto.page.endswith("task") and f"task={first['task_id']}" in link.proto.query_string
    assert any(literal(first["task_name"]) in m.value for m in at.markdown)


def test_a_task_that_dominates_the_budget_is_flagged(demo_app, expected):
    at = open_page(demo_app, "app_pages/portfolio.py")
    budgets = expected.recommendations.set_index("task_name")["budget"]
    top, share = budgets.idxmax(), budgets.max() / budgets.sum()
    assert share >= 0.5  # the demo's legal review task
    [warning] = [w.value for w in at.warning if "of the budget shown" in w.value]
    assert warning.startswith(f"**{top}** holds {share:.0%} of the budget shown")


def test_portfolio_lists_the_lowest_confidence_first_by_default(shaken_app, shaken_expected, low_confidence):
    at = open_page(shaken_app, "app_pages/portfolio.py")
    assert by_label(at.selectbox, "Sort").value == "lowest confidence first"
    table = portfolio_table(at)
    assert table["task_name"].tolist() == by_confidence(shaken_expected.recommendations)
    lowest = min(SHAKEN, key=SHAKEN.get)
    assert table["task_name"].iloc[0] == lowest
    assert table["confidence"].iloc[0] == pytest.approx(SHAKEN[lowest])
    assert table["task_id"].iloc[0] == shaken_expected.task_id(lowest)


def test_portfolio_sort_by_lowest_confidence_after_another_sort(shaken_app, shaken_expected):
    shaken_app.query_params["sort"] = "task name"
    at = open_page(shaken_app, "app_pages/portfolio.py")
    assert portfolio_table(at)["task_name"].tolist() == sorted(shaken_expected.tasks["name"])
    assert at.query_params["sort"] == "task name"

    by_label(at.selectbox, "Sort").select("lowest confidence first").run()
    assert_fine(at)
    table = portfolio_table(at)
    assert table["task_name"].tolist() == by_confidence(shaken_expected.recommendations)
    assert table["task_name"].iloc[0] == min(SHAKEN, key=SHAKEN.get)
    assert "sort" not in at.query_params  # the default sort is left out of the URL


@pytest.mark.parametrize(("label", "choice", "param", "column"), [
    ("Domain", "Healthcare", "domain", "domain"),
    ("Modality", "text", "modality", "modality"),
    ("Recommended", "human", "class", "sourcing"),
], ids=["domain", "modality", "class"])
def test_portfolio_filter_narrows_rows_and_goes_into_the_url(shaken_app, shaken_expected, label, choice, param,
                                                            column):
    at = open_page(shaken_app, "app_pages/portfolio.py")
    by_label(at.multiselect, label).select(choice).run()
    assert_fine(at)
    wanted = shaken_expected.recommendations[shaken_expected.recommendations[column] == choice]
    assert len(wanted) > 0
    table = portfolio_table(at)
    assert sorted(table["task_name"]) == sorted(wanted["task_name"])
    assert table["task_name"].tolist() == by_confidence(wanted)
    assert at.query_params == {param: choice}
    assert metrics(at)["Tasks shown"] == f"{len(wanted)} of {len(shaken_expected.tasks)}"


def test_portfolio_low_confidence_toggle_keeps_only_low_confidence_tasks(shaken_app, shaken_expected,
                                                                         low_confidence):
    at = open_page(shaken_app, "app_pages/portfolio.py")
    by_label(at.toggle, "Low confidence only").set_value(True).run()
    assert_fine(at)
    stored = shaken_expected.recommendations
    low = stored[stored["low_confidence"]]
    assert set(low_confidence) <= set(low["task_id"]) and len(low) < len(stored)
    table = portfolio_table(at)
    assert table["task_name"].tolist() == by_confidence(low)
    assert table["task_name"].iloc[0] == min(SHAKEN, key=SHAKEN.get)
    assert at.query_params == {"low": "1"}


def test_portfolio_filters_combine_and_all_go_into_the_url(shaken_app, shaken_expected):
    at = open_page(shaken_app, "app_pages/portfolio.py")
    stored = shaken_expected.recommendations
    speech = "Speech recognition for call centres"
    speech_class = stored.loc[stored["task_name"] == speech, "sourcing"].iloc[0]
    by_label(at.multiselect, "Domain").select("Legal").select("Speech").run()
    by_label(at.multiselect, "Modality").select("audio").run()
    by_label(at.multiselect, "Recommended").select(speech_class).run()
    by_label(at.toggle, "Low confidence only").set_value(True).run()
    by_label(at.selectbox, "Sort").select("task name").run()
    assert_fine(at)
    wanted = stored[stored["domain"].isin(["Legal", "Speech"]) & (stored["modality"] == "audio")
                    & (stored["sourcing"] == speech_class) & stored["low_confidence"]]
    assert portfolio_table(at)["task_name"].tolist() == sorted(wanted["task_name"]) == [speech]
    assert at.query_params == {"domain": ["Legal", "Speech"], "modality": "audio", "class": speech_class,
                               "low": "1", "sort": "task name"}


def test_portfolio_restores_filters_and_sort_from_the_url(shaken_app, shaken_expected):
    stored = shaken_expected.recommendations
    in_domains = stored[stored["domain"].isin(["Healthcare", "Speech"])]
    wanted_class = in_domains["sourcing"].value_counts().index[0]
    shaken_app.query_params["domain"] = ["Healthcare", "Speech"]
    shaken_app.query_params["class"] = wanted_class
    shaken_app.query_params["sort"] = "task name"
    at = open_page(shaken_app, "app_pages/portfolio.py")
    assert by_label(at.multiselect, "Domain").value == ["Healthcare", "Speech"]
    assert by_label(at.multiselect, "Modality").value == []
    assert by_label(at.multiselect, "Recommended").value == [wanted_class]
    assert by_label(at.toggle, "Low confidence only").value is False
    assert by_label(at.selectbox, "Sort").value == "task name"
    wanted = in_domains[in_domains["sourcing"] == wanted_class]
    assert portfolio_table(at)["task_name"].tolist() == sorted(wanted["task_name"])
    assert 0 < len(wanted) < len(stored)


def test_portfolio_restores_a_single_domain_and_the_low_confidence_toggle(shaken_app, shaken_expected):
    shaken_app.query_params["domain"] = "Speech"
    shaken_app.query_params["low"] = "1"
    at = open_page(shaken_app, "app_pages/portfolio.py")
    assert by_label(at.multiselect, "Domain").value == ["Speech"]
    assert by_label(at.toggle, "Low confidence only").value is True
    assert portfolio_table(at)["task_name"].tolist() == ["Speech recognition for call centres"]


def test_portfolio_ignores_unknown_values_in_the_url(demo_app, expected):
    demo_app.query_params["domain"] = "Atlantis"
    demo_app.query_params["class"] = "telepathic"
    demo_app.query_params["sort"] = "by vibes"
    at = open_page(demo_app, "app_pages/portfolio.py")
    assert by_label(at.multiselect, "Domain").value == []
    assert by_label(at.selectbox, "Sort").value == "lowest confidence first"
    assert len(portfolio_table(at)) == len(expected.tasks)


def test_portfolio_filter_matching_nothing_says_so(demo_app, expected):
    at = open_page(demo_app, "app_pages/portfolio.py")
    stored = expected.recommendations
    # A domain and a class that no task of that domain has.
    domain, absent = next((d, c) for d in sorted(stored["domain"].unique()) for c in ("synthetic", "mixed", "human")
                          if c not in set(stored.loc[stored["domain"] == d, "sourcing"]))
    by_label(at.multiselect, "Domain").select(domain).run()
    by_label(at.multiselect, "Recommended").select(absent).run()
    assert_fine(at)
    assert not at.dataframe
    assert [info.value for info in at.info] == ["No task matches these filters."]
    assert metrics(at)["Tasks shown"] == f"0 of {len(expected.tasks)}"
    assert metrics(at)["Total budget"] == "$0"


@pytest.mark.parametrize("domains", [[], ["Healthcare"], ["Legal", "Speech", "Retail"]], ids=["all", "one", "three"])
def test_portfolio_totals_are_the_sums_of_the_rows_shown(demo_app, expected, domains):
    if domains:
        demo_app.query_params["domain"] = domains
    at = open_page(demo_app, "app_pages/portfolio.py")
    shown = set(portfolio_table(at)["task_name"])
    rows = expected.recommendations[expected.recommendations["task_name"].isin(shown)]
    assert len(rows) == len(shown) > 0
    budget, human, synthetic = rows["budget"].sum(), rows["spend_human"].sum(), rows["spend_synthetic"].sum()
    assert metrics(at) == {
        "Tasks shown": f"{len(rows)} of {len(expected.tasks)}",
        "Total budget": money(budget),
        "Human training data": money(human),
        "Synthetic training data": money(synthetic),
        "Human evaluation sets": money(budget - human - synthetic),
    }


def test_empty_catalog_portfolio_offers_the_demo_and_loads_it(monkeypatch, empty_path):
    at = make_app(monkeypatch, empty_path)
    at.run()
    assert_fine(at)
    assert not at.error and not at.dataframe and not at.metric
    assert len(at.info) == 1
    assert "no tasks yet" in at.info[0].value
    assert [b.label for b in at.button] == ["Load the demo portfolio"]
    assert [link.label for link in at.get("page_link")] == ["Create a task"]
    assert [code.value for code in at.sidebar.code] == [str(empty_path)]
    assert "0 tasks" in at.sidebar.caption[-1].value

    button(at, "Load the demo portfolio").click().run(timeout=BACKTEST_TIMEOUT)
    assert_fine(at)
    assert not at.info and not at.error
    table = portfolio_table(at)
    assert len(table) == TASKS
    assert table["basis"].notna().all()  # every demo task was fitted while loading
    assert metrics(at)["Tasks shown"] == f"{TASKS} of {TASKS}"
    # AppTest keeps no sidebar children once a run ended in st.rerun(); a new session on the catalog shows them.
    fresh = make_app(monkeypatch, empty_path).run()
    assert_fine(fresh)
    assert f"{TASKS} tasks" in fresh.sidebar.caption[-1].value
    with Catalog.open(empty_path) as catalog:
        assert catalog.counts()["tasks"] == TASKS
        assert len(catalog.latest_recommendations()) == TASKS


def test_portfolio_keeps_a_second_change_to_the_same_filter(demo_app):
    at = open_page(demo_app, "app_pages/portfolio.py")
    by_label(at.multiselect, "Domain").select("Healthcare").run()
    assert at.query_params == {"domain": "Healthcare"}
    by_label(at.multiselect, "Domain").select("Finance").run()
    assert by_label(at.multiselect, "Domain").value == ["Healthcare", "Finance"]
    assert at.query_params == {"domain": ["Healthcare", "Finance"]}


# --------------------------------------------------------------------------- task


def test_task_page_defaults_to_the_first_task(demo_app, expected):
    at = open_page(demo_app, "app_pages/task.py")
    selectbox = at.selectbox[0]
    assert selectbox.label == "Task"
    assert selectbox.options == expected.tasks["name"].tolist()
    first = expected.tasks.iloc[0]
    assert selectbox.value == first["id"]
    assert [s.value for s in at.subheader] == [literal(first["name"])]
    assert at.query_params["task"] == first["id"]


def test_task_page_honours_the_task_query_parameter_and_shows_the_stored_recommendation(demo_app, expected):
    chest = expected.task_id(CHEST)
    assert chest != expected.tasks["id"].iloc[0], "pick a task that is not the default one"
    demo_app.query_params["task"] = chest
    at = open_page(demo_app, "app_pages/task.py")
    assert at.selectbox[0].value == chest
    assert [s.value for s in at.subheader] == [CHEST]
    assert at.query_params["task"] == chest

    stored = expected.recommendation(chest)
    metric = expected.tasks.set_index("id").loc[chest, "metric"]
    assert metrics(at) == {
        "Recommended": stored["sourcing"].upper(),
        "Human share of spend": f"{stored['human_share_spend']:.0%}",
        "Human share of samples": f"{stored['human_share_samples']:.0%}",
        f"Expected {metric}": f"{stored['expected_value']:.3f}",
        "Confidence": f"{stored['confidence']:.0%}",
    }
    assert not any(deltas(at).values())  # nothing to compare with before a what-if
    assert any(m.value.startswith("**Current recommendation**") for m in at.markdown)
    assert budget_input(at).value == stored["budget"]
    assert budget_input(at).key == f"budget-{chest}-{stored['id']}"  # keyed by the stored plan too
    assert not [b for b in at.button if b.label == "Save scenario"]


def test_task_page_ignores_an_unknown_task_query_parameter(demo_app, expected):
    demo_app.query_params["task"] = "no-such-task"
    at = open_page(demo_app, "app_pages/task.py")
    assert at.selectbox[0].value == expected.tasks["id"].iloc[0]
    assert [s.value for s in at.subheader] == [literal(expected.tasks["name"].iloc[0])]


def test_choosing_another_task_updates_subheader_and_query_parameter(demo_app, expected):
    chest = expected.task_id(CHEST)
    demo_app.query_params["task"] = chest
    at = open_page(demo_app, "app_pages/task.py")
    other = expected.tasks.loc[expected.tasks["id"] != chest].iloc[-1]

    at.selectbox[0].select(other["id"]).run()
    assert_fine(at)
    assert at.selectbox[0].value == other["id"]
    assert [s.value for s in at.subheader] == [other["name"]]
    assert at.query_params["task"] == other["id"]
    evidence = by_label(at.tabs, "Evidence")
    assert len(evidence.dataframe[0].value) == int(other["outcomes"])


def test_task_page_keeps_a_second_task_switch(demo_app, expected):
    at = open_page(demo_app, "app_pages/task.py")
    second, third = expected.tasks["id"].iloc[2], expected.tasks["id"].iloc[4]
    at.selectbox[0].select(second).run()
    assert at.query_params["task"] == second
    at.selectbox[0].select(third).run()
    assert at.query_params["task"] == third


def test_task_page_tabs_explain_the_recommendation(demo_app, expected, demo_path):
    chest = expected.task_id(CHEST)
    demo_app.query_params["task"] = chest
    at = open_page(demo_app, "app_pages/task.py")
    assert [tab.label for tab in at.tabs] == TASK_TABS
    why, evidence, _quality, mix, history, profile = at.tabs
    with Catalog.open(demo_path) as catalog:
        recommendation, _ = catalog.latest_recommendation(chest)
    assert recommendation.rules, "the demo task should fire rules"
    assert [e.label for e in why.expander] == [f"{rule.id} — {rule.effect}" for rule in recommendation.rules]
    for expander, rule in zip(why.expander, recommendation.rules, strict=True):
        assert [m.value for m in expander.markdown] == [rule.rationale]
        assert [c.value for c in expander.caption] == [f"Principle: {rule.principle}"]
    # "Why" explains the number: prior, what the evidence changed, the floor, the evaluation set (issue 18).
    shown = [m.value for m in why.markdown if m.value.startswith("- ")]
    assert shown == [f"- {literal(line)}" for line in why_lines(recommendation)]
    assert shown[0].startswith("- " + literal(f"Rules' prior: {recommendation.prior_human_share:.0%}"))

    outcomes = expected.outcomes[expected.outcomes["task_id"] == chest]
    assert len(evidence.get("vega_lite_chart")) == 1
    assert sorted(evidence.dataframe[0].value["run_id"]) == sorted(outcomes["run_id"]) and len(outcomes) > 0

    assert len(mix.get("vega_lite_chart")) == 2  # mix curve and budget frontier
    assert not mix.info

    assert len(history.get("vega_lite_chart")) == 1
    assert history.dataframe[0].value["scenario_label"].tolist() == ["recomputed"]

    assert len(profile.get("vega_lite_chart")) == 1
    assert [link.label for link in profile.get("page_link")] == ["Edit this task's profile in Catalog › Tasks"]
    lines = [m.value for m in profile.markdown]
    assert [line.split("**")[1] for line in lines] == [factor.label for factor in FACTORS]


def test_task_page_for_a_rules_only_task(demo_app, demo_path):
    task = Task(name="Invoice field extraction", domain="Finance", modality="text", metric="F1", budget=5000.0,
                domain_expertise=1, volume_needed=3)
    with Catalog.open(demo_path) as catalog:
        catalog.save_tasks([task], actor="test")
        stored = recommend_task(catalog, task.id, actor="test")
    assert stored.basis == "rules"
    demo_app.query_params["task"] = task.id
    at = open_page(demo_app, "app_pages/task.py")
    assert [s.value for s in at.subheader] == [task.name]
    assert [w.value for w in at.warning] == ["Low confidence: rules only, no usable outcomes yet."]
    assert metrics(at)["Expected F1"] == "—"
    assert metrics(at)["Recommended"] == stored.sourcing.upper()
    _, evidence, _quality, mix, history, _ = at.tabs
    assert evidence.info[0].value.startswith("No usable outcomes yet")
    assert mix.info[0].value.startswith("The mix curve and the budget frontier need a fitted curve")
    assert len(history.dataframe[0].value) == 1


def test_task_page_what_if_twice_the_budget_replans_from_the_stored_fit(demo_app, expected, demo_path):
    chest = expected.task_id(CHEST)
    demo_app.query_params["task"] = chest
    at = open_page(demo_app, "app_pages/task.py")
    before = metrics(at)
    baseline = expected.recommendation(chest)

    budget_input(at).set_value(2 * baseline["budget"]).run()
    assert_fine(at)
    assert not at.error
    with Catalog.open(demo_path) as catalog:
        stored, _ = catalog.latest_recommendation(chest)
        answer, _ = whatif(catalog, chest, Scenario(budget=2 * stored.budget, costs=Costs(**stored.cost_per_sample)))
    metric = expected.tasks.set_index("id").loc[chest, "metric"]
    after = metrics(at)
    assert after == {
        "Recommended": answer.sourcing.upper(),
        "Human share of spend": f"{answer.human_share_spend:.0%}",
        "Human share of samples": f"{answer.human_share_samples:.0%}",
        f"Expected {metric}": f"{answer.expected_metric.value:.3f}",
        "Confidence": f"{answer.confidence:.0%}",
    }
    assert after != before
    assert answer.budget == 2 * baseline["budget"]
    change = deltas(at)
    assert change["Human share of spend"] == f"{answer.human_share_spend - baseline['human_share_spend']:+.0%}"
    assert change[f"Expected {metric}"] == f"{answer.expected_metric.value - baseline['expected_value']:+.3f}"
    assert any(m.value.startswith("**What-if answer**") for m in at.markdown)
    assert [b.label for b in at.button] == ["Save scenario"]
    assert by_label(at.text_input, "Scenario name").value == f"budget {money(2 * baseline['budget'])}"
    # Nothing is stored until the scenario is saved.
    with Catalog.open(demo_path) as catalog:
        assert len(catalog.recommendation_history(chest)) == 1


def test_task_page_save_scenario_stores_it_in_the_task_history(demo_app, expected, demo_path):
    chest = expected.task_id(CHEST)
    demo_app.query_params["task"] = chest
    at = open_page(demo_app, "app_pages/task.py")
    baseline = expected.recommendation(chest)
    budget_input(at).set_value(2 * baseline["budget"]).run()
    name = f"budget {money(2 * baseline['budget'])}"

    button(at, "Save scenario").click().run()
    assert_fine(at)
    # the name is shown literally: its $ is escaped so Streamlit does not read a formula into it
    assert [s.value for s in at.success] == [f"Saved the scenario '{literal(name)}' to this task's history."]
    with Catalog.open(demo_path) as catalog:
        history = catalog.recommendation_history(chest)
        latest, _ = catalog.latest_recommendation(chest)
    assert history["scenario"].tolist() == ["", name]
    saved = history.iloc[-1]
    assert saved["budget"] == 2 * baseline["budget"]
    assert f"{saved['human_share_spend']:.0%}" == metrics(at)["Human share of spend"]
    # A saved scenario is history, not the task's plan: the portfolio keeps the recomputed recommendation.
    assert latest.budget == baseline["budget"] and latest.scenario == ""
    # The History tab of the same run already lists it.
    history_tab = by_label(at.tabs, "History")
    assert history_tab.dataframe[0].value["scenario_label"].tolist() == [name, "recomputed"]


def test_task_page_scenario_name_can_be_typed(demo_app, expected, demo_path):
    chest = expected.task_id(CHEST)
    demo_app.query_params["task"] = chest
    at = open_page(demo_app, "app_pages/task.py")
    budget_input(at).set_value(3 * expected.recommendation(chest)["budget"]).run()
    by_label(at.text_input, "Scenario name").input("  board ask, triple budget ").run()
    button(at, "Save scenario").click().run()
    assert_fine(at)
    assert len(at.success) == 1
    with Catalog.open(demo_path) as catalog:
        assert catalog.recommendation_history(chest)["scenario"].tolist() == ["", "board ask, triple budget"]


def test_task_page_scenario_name_follows_the_budget(demo_app, expected):
    chest = expected.task_id(CHEST)
    demo_app.query_params["task"] = chest
    at = open_page(demo_app, "app_pages/task.py")
    base = expected.recommendation(chest)["budget"]
    budget_input(at).set_value(2 * base).run()
    budget_input(at).set_value(3 * base).run()
    assert by_label(at.text_input, "Scenario name").value == f"budget {money(3 * base)}"


def test_task_page_budget_below_the_evaluation_set_is_refused_without_crashing(demo_app, expected):
    chest = expected.task_id(CHEST)
    demo_app.query_params["task"] = chest
    at = open_page(demo_app, "app_pages/task.py")
    budget_input(at).set_value(1.0).run()
    assert_fine(at)
    assert len(at.error) == 1
    assert "evaluation set" in at.error[0].value
    assert "A budget of $1 does not cover" in at.error[0].value
    # The page stops before the card: no answer for an impossible budget, nothing to save.
    assert not at.metric and not at.tabs
    assert not [b for b in at.button if b.label == "Save scenario"]

    budget_input(at).set_value(float(expected.recommendation(chest)["budget"])).run()
    assert_fine(at)
    assert not at.error
    assert metrics(at)["Recommended"] == expected.recommendation(chest)["sourcing"].upper()


def test_task_page_compute_it_now_reports_an_impossible_budget(demo_app, demo_path):
    task = Task(name="Tiny budget task", domain="Retail", modality="text", metric="accuracy", budget=1.0)
    with Catalog.open(demo_path) as catalog:
        catalog.save_tasks([task], actor="test")
    demo_app.query_params["task"] = task.id
    at = open_page(demo_app, "app_pages/task.py")
    assert [w.value for w in at.warning] == ["No recommendation has been computed for this task yet."]
    button(at, "Compute it now").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("evaluation set" in e.value for e in at.error)


# --------------------------------------------------------------------------- catalog › tasks


@pytest.mark.parametrize(("blank", "label"), [("metric", "Metric"), ("name", "Name")])
def test_task_form_refuses_a_blank_field_with_a_red_message_and_writes_nothing(demo_app, demo_path, blank, label):
    at = open_page(demo_app, "app_pages/tasks.py")
    values = {"name": "Invoice field extraction", "domain": "Finance", "metric": "F1"}
    values[blank] = ""
    fill_task_form(at, **values)
    audit_before = read_expected(demo_path).counts["audit_log"]
    button(at, "Create task").click().run()
    assert_fine(at)

    assert [e.value for e in at.error] == ["Fix the fields marked in red; nothing was saved."]
    reds = red_messages(column_holding(at, label))
    assert len(reds) == 1 and "at least 1 character" in reds[0]
    assert red_messages(at) == reds  # the only red message is the one next to the faulty field
    assert not at.success
    # What was typed is kept, so it can be fixed.
    assert by_label(at.text_input, "Domain").value == "Finance"
    counts = read_expected(demo_path).counts
    assert counts["tasks"] == TASKS
    assert counts["audit_log"] == audit_before


def test_task_form_creates_a_task_and_its_rules_recommendation(demo_app, demo_path):
    at = open_page(demo_app, "app_pages/tasks.py")
    fill_task_form(at, name="Invoice field extraction", domain="Finance", metric="F1")
    by_label(at.selectbox, "Modality").select("tabular")
    by_label(at.number_input, "Budget (USD)").set_value(20_000.0)
    by_label(at.slider, "Volume needed (→ synthetic)").set_value(3)
    button(at, "Create task").click().run()
    assert_fine(at)
    assert not at.error

    with Catalog.open(demo_path) as catalog:
        task = catalog.task("Invoice field extraction")
        history = catalog.recommendation_history(task.id)
        assert catalog.counts()["tasks"] == TASKS + 1
    assert (task.domain, task.modality, task.metric, task.budget, task.volume_needed) == (
        "Finance", "tabular", "F1", 20_000.0, 3)
    assert len(history) == 1
    assert history["basis"].tolist() == ["rules"]
    stored = history.iloc[0]
    assert [s.value for s in at.success] == [
        f"Saved 'Invoice field extraction': recommended {stored['sourcing']} "
        f"({stored['human_share_spend']:.0%} of spend on human data)."]
    assert at.query_params["task"] == task.id

    # The new task is on the portfolio, not computed from outcomes yet (rules only).
    switch_to(at, "app_pages/portfolio.py")
    row = portfolio_table(at).set_index("task_name").loc["Invoice field extraction"]
    assert row["basis"] == "rules" and row["evidence_count"] == 0


def test_task_form_refuses_to_create_a_task_under_an_existing_name(demo_app, expected, demo_path):
    chest = expected.task_id(CHEST)
    at = open_page(demo_app, "app_pages/tasks.py")
    fill_task_form(at, name=CHEST.upper(), domain="Healthcare", metric="AUROC")
    button(at, "Create task").click().run()
    assert_fine(at)
    with Catalog.open(demo_path) as catalog:
        task = catalog.task(chest)
    before = expected.tasks.set_index("id").loc[chest]
    assert (task.name, task.domain_expertise, task.description) == (
        CHEST, before["domain_expertise"], before["description"])
    assert not at.success
    assert [e.value for e in at.error] == ["Fix the fields marked in red; nothing was saved."]
    reds = red_messages(column_holding(at, "Name"))
    assert len(reds) == 1 and "another task is already called" in reds[0]


def test_task_form_edit_of_a_profile_score_recomputes_the_task(demo_app, expected, demo_path):
    reviews = expected.task_id(REVIEWS)
    at = open_page(demo_app, "app_pages/tasks.py")
    by_label(at.selectbox, "Task to edit").select(reviews).run()
    assert_fine(at)
    assert by_label(at.text_input, "Name").value == REVIEWS
    expertise = by_label(at.slider, "Domain expertise (→ human)")
    assert expertise.value == 0
    expertise.set_value(4)
    button(at, "Save task").click().run()
    assert_fine(at)
    assert not at.error
    assert len(at.success) == 1 and at.success[0].value.startswith(f"Saved {REVIEWS!r}: recommended ")

    with Catalog.open(demo_path) as catalog:
        task = catalog.task(reviews)
        history = catalog.recommendation_history(reviews)
        assert catalog.counts()["tasks"] == TASKS
    assert task.domain_expertise == 4
    assert task.source == "demo" and task.status == "active"  # an edit keeps what the form does not show
    assert len(history) == 2
    before = expected.recommendation(reviews)
    # Picked by id, not by time: timestamps have whole seconds, and the demo may have been fitted this second.
    recomputed = Recommendation.model_validate_json(history.loc[history["id"] != before["id"], "payload_json"].item())
    assert "H-EXPERT" in [rule.id for rule in recomputed.rules]
    assert "H-EXPERT" not in [rule["id"] for rule in json.loads(
        history.loc[history["id"] == before["id"], "payload_json"].item())["rules"]]


def test_task_archive_hides_it_from_the_portfolio_and_restore_brings_it_back(demo_app, expected, demo_path):
    reviews = expected.task_id(REVIEWS)
    at = open_page(demo_app, "app_pages/tasks.py")
    by_label(at.selectbox, "Task to edit").select(reviews).run()
    button(at, "Archive task").click().run()
    assert_fine(at)
    with Catalog.open(demo_path) as catalog:
        assert catalog.task(reviews).status == "archived"
    assert REVIEWS + " (archived)" in by_label(at.selectbox, "Task to edit").options

    switch_to(at, "app_pages/portfolio.py")
    table = portfolio_table(at)
    assert REVIEWS not in set(table["task_name"])
    assert len(table) == TASKS - 1
    assert metrics(at)["Tasks shown"] == f"{TASKS - 1} of {TASKS - 1}"
    switch_to(at, "app_pages/task.py")
    assert REVIEWS not in at.selectbox[0].options

    switch_to(at, "app_pages/tasks.py")
    by_label(at.selectbox, "Task to edit").select(reviews).run()
    button(at, "Restore task").click().run()
    assert_fine(at)
    switch_to(at, "app_pages/portfolio.py")
    assert REVIEWS in set(portfolio_table(at)["task_name"])


def test_task_archive_keeps_the_task_open_in_the_editor(demo_app, expected):
    reviews = expected.task_id(REVIEWS)
    at = open_page(demo_app, "app_pages/tasks.py")
    by_label(at.selectbox, "Task to edit").select(reviews).run()
    button(at, "Archive task").click().run()
    assert by_label(at.selectbox, "Task to edit").value == reviews
    assert "Restore task" in [b.label for b in at.button]


def test_task_form_clears_the_red_message_once_the_field_is_fixed(demo_app):
    at = open_page(demo_app, "app_pages/tasks.py")
    fill_task_form(at, name="Invoice field extraction", domain="Finance", metric="")
    button(at, "Create task").click().run()
    assert red_messages(column_holding(at, "Metric"))
    fill_task_form(at, metric="F1")
    button(at, "Create task").click().run()
    assert len(at.success) == 1
    assert not red_messages(at)


def test_task_form_budget_below_the_evaluation_set_writes_nothing(demo_app, demo_path):
    at = open_page(demo_app, "app_pages/tasks.py")
    fill_task_form(at, name="Invoice field extraction", domain="Finance", metric="F1")
    by_label(at.number_input, "Budget (USD)").set_value(1.0)
    button(at, "Create task").click().run()
    assert_fine(at)
    assert [e.value for e in at.error] == ["Fix the fields marked in red; nothing was saved."]
    assert task_count(demo_path) == TASKS
    assert red_messages(column_holding(at, "Budget (USD)"))


# --------------------------------------------------------------------------- outcomes


def test_outcomes_page_shows_every_live_outcome(demo_app, expected):
    at = open_page(demo_app, "app_pages/outcomes.py")
    live = expected.outcomes
    table = at.dataframe[0].value
    assert len(table) == len(live) == OUTCOMES
    assert set(table["task_name"]) == set(live["task_name"])
    assert metrics(at)["Outcomes shown"] == f"{len(live):,}"
    tasks_filter = by_label(at.multiselect, "Tasks")
    assert tasks_filter.options == sorted(live["task_name"].unique())
    assert CHEST in tasks_filter.options


def test_outcomes_filtered_to_one_task_show_only_that_task(demo_app, expected):
    at = open_page(demo_app, "app_pages/outcomes.py")
    by_label(at.multiselect, "Tasks").select(CHEST).run()
    assert_fine(at)
    table = at.dataframe[0].value
    wanted = expected.outcomes[expected.outcomes["task_name"] == CHEST]
    assert len(table) == len(wanted) > 0
    assert set(table["task_name"]) == {CHEST}
    assert sorted(table["run_id"]) == sorted(wanted["run_id"])
    assert metrics(at)["Outcomes shown"] == f"{len(wanted):,}"


def test_outcomes_filtered_by_regime(demo_app, expected):
    at = open_page(demo_app, "app_pages/outcomes.py")
    regimes = by_label(at.multiselect, "Regime")
    assert regimes.options == sorted(expected.outcomes["regime"].unique())
    regimes.select(regimes.options[0]).run()
    assert_fine(at)
    table = at.dataframe[0].value
    assert set(table["regime"]) == {regimes.options[0]}
    assert len(table) == int((expected.outcomes["regime"] == regimes.options[0]).sum())


# --------------------------------------------------------------------------- model card


def test_model_card_runs_and_stores_the_backtest(demo_app, demo_path, expected):
    at = open_page(demo_app, "app_pages/model_card.py")
    assert [info.value for info in at.info] == ["No backtest stored yet."]
    # The card names the engine it describes, and how synthetic data's harm may arrive under it.
    assert any(f"**{ENGINE_VERSION}**" in text.value and "building with the synthetic count" in text.value
               for text in at.markdown)
    assert metrics(at) == {
        "Outcomes behind the fits": str(OUTCOMES),
        "Tasks fitted by the model": str(int((expected.recommendations["basis"] == "rules+model").sum())),
        "Tasks on rules only": str(int((expected.recommendations["basis"] == "rules").sum())),
        "Pooled prior": f"{TASKS} tasks",
    }

    button(at, "Run the backtest now").click().run(timeout=BACKTEST_TIMEOUT)
    assert_fine(at)
    assert not at.info and not at.error
    with Catalog.open(demo_path) as catalog:
        card = model_card(catalog)
    assert card["backtest"] is not None
    errors = card["backtest"]["summary"]["relative_error"]
    shown = metrics(at)
    assert {label: shown[label] for label in ("Model", "Rules only", "Task mean")} == {
        "Model": f"{errors['model']:.3f}", "Rules only": f"{errors['rules']:.3f}", "Task mean": f"{errors['mean']:.3f}"}
    assert len(at.dataframe[0].value) == card["backtest"]["summary"]["tasks"] > 0
    # The demo's intervals over-cover as fitted: the backtest narrows them, says so, and re-plans every task
    summary = card["backtest"]["summary"]
    scale = summary["interval_calibration"]["scale"]
    assert scale < 1 and shown["80% intervals covered"] == f"{summary['coverage_80_calibrated']:.0%}"
    assert calibration_sentence(summary).sentence in [caption.value for caption in at.caption]
    assert f"now drawn {scale:.2f}× as wide" in calibration_sentence(summary).sentence
    with Catalog.open(demo_path) as catalog:
        fits = [catalog.latest_recommendation(task_id).fit for task_id in catalog.tasks()["id"]]
    assert {fit["interval_scale"] for fit in fits if fit} == {scale}


# --------------------------------------------------------------------------- catalog pages


def test_profiles_page_lists_all_tasks_and_every_factor(demo_app, expected):
    at = open_page(demo_app, "app_pages/profiles.py")
    assert [s.value for s in at.subheader] == ["Tasks", "The factors"]
    tasks, factors = at.dataframe[0].value, at.dataframe[1].value
    assert tasks["name"].tolist() == expected.all_tasks["name"].tolist()
    assert factors["Factor"].tolist() == [factor.label for factor in FACTORS]
    assert len(at.get("vega_lite_chart")) == 1


def test_datasets_page_lists_every_dataset_and_filters_by_source(demo_app, expected):
    at = open_page(demo_app, "app_pages/datasets.py")
    table = at.dataframe[0].value
    assert sorted(table["name"]) == sorted(expected.datasets["name"])
    assert CHEST in set(table["task_name"])
    assert set(table["task_name"]) <= set(expected.all_tasks["name"])

    at.multiselect[0].select("human").run()
    assert_fine(at)
    human = at.dataframe[0].value
    assert set(human["source_kind"]) == {"human"}
    assert sorted(human["name"]) == sorted(expected.datasets.loc[expected.datasets["source_kind"] == "human", "name"])


def test_datasets_page_registers_a_dataset(demo_app, expected, demo_path):
    chest = expected.task_id(CHEST)
    at = open_page(demo_app, "app_pages/datasets.py")
    assert by_label(at.selectbox, "Dataset").value == "+ New dataset"
    by_label(at.text_input, "Name").input("Radiologist second reads")
    by_label(at.selectbox, "Task").select(chest)
    by_label(at.selectbox, "Source").select("human")
    by_label(at.selectbox, "Modality").select("image")
    by_label(at.number_input, "Samples").set_value(1200)
    by_label(at.number_input, "Cost per sample (USD)").set_value(4.5)
    by_label(at.text_input, "Licence").input("internal")
    button(at, "Register dataset").click().run()
    assert_fine(at)
    assert not at.error
    assert len(at.success) == 1 and at.success[0].value.startswith("Saved 'Radiologist second reads'.")
    # The price reached the task at once: it is recomputed and the page shows before → after.
    assert f"{CHEST} now plans with its price, recomputed just now." in at.success[0].value
    assert "What the new price changed" in [m.value.strip("*") for m in at.markdown]
    assert at.dataframe[-1].value["task"].tolist() == [CHEST]

    with Catalog.open(demo_path) as catalog:
        datasets = catalog.datasets()
        latest = catalog.latest_recommendation(chest).recommendation
    assert len(datasets) == len(expected.datasets) + 1
    row = datasets[datasets["name"] == "Radiologist second reads"].iloc[0]
    assert (row["task_id"], row["source_kind"], row["modality"], row["samples"], row["cost_per_sample"],
            row["licence"]) == (chest, "human", "image", 1200, 4.5, "internal")
    priced = datasets[(datasets["task_id"] == chest) & (datasets["source_kind"] == "human")]["cost_per_sample"]
    assert latest.cost_per_sample["human"] == pytest.approx(float(priced[priced > 0].mean()))

    at.run()  # the table above the form is drawn before the save; the next run lists the new row
    assert_fine(at)
    table = at.dataframe[0].value
    assert len(table) == len(expected.datasets) + 1
    assert table.set_index("name").loc["Radiologist second reads", "task_name"] == CHEST


def test_datasets_page_refuses_a_nameless_dataset(demo_app, expected, demo_path):
    at = open_page(demo_app, "app_pages/datasets.py")
    by_label(at.number_input, "Samples").set_value(10)
    button(at, "Register dataset").click().run()
    assert_fine(at)
    assert len(at.error) == 1 and at.error[0].value.startswith("name:")
    assert not at.success
    with Catalog.open(demo_path) as catalog:
        assert len(catalog.datasets()) == len(expected.datasets)


def test_costs_page_lists_every_cost_tier(demo_app, expected):
    at = open_page(demo_app, "app_pages/costs.py")
    assert len(at.data_editor) == 1
    table = at.data_editor[0].value
    assert table["name"].tolist() == expected.cost_tiers["name"].tolist()
    assert set(table["kind"]) == set(expected.cost_tiers["kind"])


def test_costs_page_saving_an_edited_price_replans_every_task(demo_app, expected, demo_path):
    at = open_page(demo_app, "app_pages/costs.py")
    button(at, "Save cost assumptions").click().run()
    assert [info.value for info in at.info] == ["Nothing changed."]

    names = at.data_editor[0].value["name"].tolist()
    row = names.index("crowd")
    # AppTest does not type into a data editor; a keyed editor's edit state is set the way the browser sends it.
    at.session_state["tiers"] = {"edited_rows": {row: {"cost_per_sample": 0.5}}, "added_rows": [],
                                 "deleted_rows": []}
    at.run()
    button(at, "Save cost assumptions").click().run()
    assert_fine(at)
    assert not at.error
    assert [s.value for s in at.success] == [f"Saved 1 tier(s); re-planned {TASKS} tasks."]
    with Catalog.open(demo_path) as catalog:
        tiers = catalog.cost_tiers().set_index("name")
        counts = catalog.counts()
    assert tiers.loc["crowd", "cost_per_sample"] == 0.5
    untouched = expected.cost_tiers.set_index("name").drop(index="crowd")["cost_per_sample"]
    assert tiers.drop(index="crowd")["cost_per_sample"].to_dict() == untouched.to_dict()
    assert counts["recommendations"] == expected.counts["recommendations"] + TASKS


def test_rulebook_lists_every_rule_and_saving_a_weight_bumps_the_version(demo_app, expected, demo_path):
    rulebook = default_rulebook()
    at = open_page(demo_app, "app_pages/rulebook.py")
    table = at.data_editor[0].value
    assert table["id"].tolist() == [rule.id for rule in rulebook.rules]
    assert table["weight"].tolist() == [rule.weight for rule in rulebook.rules]
    assert at.caption[0].value.startswith(f"Version {rulebook.version}.")
    assert button(at, "Save weights").disabled  # nothing edited yet

    row = table["id"].tolist().index("H-EXPERT")
    at.session_state["rule_weights"] = {"edited_rows": {row: {"weight": 2.0}}, "added_rows": [],
                                        "deleted_rows": []}
    at.run()
    assert not button(at, "Save weights").disabled
    button(at, "Save weights").click().run()
    assert_fine(at)
    assert not at.error
    version = f"{rulebook.version}+w1"
    assert [s.value for s in at.success] == [f"Rulebook is now version {version}; every task was re-planned."]
    with Catalog.open(demo_path) as catalog:
        current = current_rulebook(catalog)
        counts = catalog.counts()
    assert current.version == version
    assert {rule.id: rule.weight for rule in current.rules}["H-EXPERT"] == 2.0
    assert counts["recommendations"] == expected.counts["recommendations"] + TASKS

    at.run()
    assert at.caption[0].value.startswith(f"Version {version}.")
    assert at.data_editor[0].value.set_index("id").loc["H-EXPERT", "weight"] == 2.0


def test_audit_page_shows_the_demo_seed_writes(demo_app, expected):
    at = open_page(demo_app, "app_pages/audit.py")
    table = at.dataframe[0].value
    assert len(table) == len(expected.audit_log) == min(500, expected.counts["audit_log"])
    assert set(table["actor"]) == set(expected.audit_log["actor"])
    assert "demo seed" in set(table["actor"])
    assert at.multiselect[0].options == sorted(expected.audit_log["actor"].unique())

    at.multiselect[0].select("demo seed").run()
    assert_fine(at)
    assert set(at.dataframe[0].value["actor"]) == {"demo seed"}


def test_export_page_offers_csv_and_json_per_table(demo_app, expected):
    at = open_page(demo_app, "app_pages/export.py")
    labels = download_labels(at)
    assert labels[len(SUMMARY_FORMATS):] == [f"{table} as {kind}" for table in EXPORT_TABLES
                                             for kind in ("CSV", "JSON")]
    for button_ in at.get("download_button")[len(SUMMARY_FORMATS):]:
        suffix = ".csv" if button_.proto.label.endswith("CSV") else ".json"
        assert button_.proto.url.endswith(suffix)
    headings = [markdown.value for markdown in at.markdown if markdown.value.endswith(" rows")]
    rows = {"Tasks": len(expected.all_tasks), "Outcomes": len(expected.outcomes),
            "Datasets": len(expected.datasets), "Cost assumptions": len(expected.cost_tiers)}
    assert headings == [f"**{table}** — {rows[table]:,} rows" for table in EXPORT_TABLES]


def _without_generated_line(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if not line.startswith("Generated ")]


def test_export_page_previews_the_summary_it_downloads(demo_app, demo_path):
    at = open_page(demo_app, "app_pages/export.py")
    assert download_labels(at)[:len(SUMMARY_FORMATS)] == ["Markdown", "HTML", "PDF (A4)", "CSV", "JSON"]
    assert all(button_.proto.ignore_rerun for button_ in at.get("download_button"))
    with Catalog.open(demo_path) as catalog:
        first = catalog.tasks().iloc[0]
        expected = to_markdown(build_summary(catalog, task_ids=[first["id"]]))
    preview = next(m.value for m in at.markdown if m.value.startswith("# Data-sourcing strategy"))
    assert _without_generated_line(preview) == _without_generated_line(expected)
    assert f"## {first['name']}" in preview

    at.radio(key="export_scope").set_value("A filtered set").run()
    at.multiselect(key="export_domains").set_value(["Healthcare"]).run()
    assert_fine(at)
    preview = next(m.value for m in at.markdown if m.value.startswith("# Data-sourcing strategy"))
    with Catalog.open(demo_path) as catalog:
        tasks = catalog.tasks()
    for name in tasks["name"]:
        assert (f"## {name}" in preview) == (name in set(tasks[tasks["domain"] == "Healthcare"]["name"]))

    at.multiselect(key="export_classes").set_value(["synthetic"]).run()
    assert [w.value for w in at.warning] == ["Nothing to export: no active task matches."]
    assert download_labels(at) == [f"{table} as {kind}" for table in EXPORT_TABLES for kind in ("CSV", "JSON")]


# --------------------------------------------------------------------------- catalogs that are not catalogs


def test_foreign_duckdb_file_is_refused_with_an_error(monkeypatch, tmp_path):
    foreign = tmp_path / "people.duckdb"
    with duckdb.connect(str(foreign)) as connection:
        connection.execute("CREATE TABLE people (name VARCHAR, born DATE)")
        connection.execute("INSERT INTO people VALUES ('Ada', DATE '1815-12-10')")

    at = make_app(monkeypatch, foreign)
    at.run()
    assert_fine(at)
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
    assert_fine(at)
    assert len(at.error) == 1
    assert "is not a DuckDB database" in at.error[0].value
    assert not at.title
    assert junk.read_bytes() == content


def test_the_suite_scans_for_streamlit_components_once_and_finds_what_a_fresh_scan_finds(
        streamlit_components_scanned_once):
    """The session fixture memoises Streamlit's scan of installed packages; what it serves must be what a
    fresh scan returns, and a page run must go through it rather than scanning again."""
    from streamlit.components.v2 import manifest_scanner
    fresh = streamlit_components_scanned_once
    assert fresh is not None, "Streamlit's component scanner moved: the page tests rescan on every run"
    memo = manifest_scanner.scan_component_manifests
    assert memo is not fresh
    assert [(m.name, str(root)) for m, root in memo()] == [(m.name, str(root)) for m, root in fresh()]
    before = memo.cache_info().hits
    AppTest.from_string("import streamlit as st\nst.write('hello')").run()
    assert memo.cache_info().hits > before
