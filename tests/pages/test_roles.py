"""AppTest per role: what a viewer, a researcher and an admin can and cannot do in the app, in local mode
($STRATEGY_ROLE) and with sign-in configured (an [auth] section, roles from the [roles] mapping)."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from strategy.catalog import Catalog
from tests.seed_counts import OUTCOMES

APP = str(Path(__file__).resolve().parents[2] / "app.py")
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "not-a-real-secret",
        "client_id": "strategy", "client_secret": "not-a-real-secret",
        "server_metadata_url": "https://login.example.com/.well-known/openid-configuration"}
ROLES = {"admin": ["ada@lab.org"], "researcher": ["@lab.org"], "viewer": ["@partner.com"]}


@pytest.fixture(autouse=True)
def fresh_caches():
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def app_as(monkeypatch, location, *, role: str | None = None, email: str | None = None,
           signed_in: bool = True) -> AppTest:
    """The app in local mode with this role, or, given an email, with sign-in configured."""
    monkeypatch.setenv("STRATEGY_CATALOG", str(location))
    if role:
        monkeypatch.setenv("STRATEGY_ROLE", role)
    app = AppTest.from_file(APP, default_timeout=60)
    if email is not None:
        app.secrets["auth"] = AUTH
        app.secrets["roles"] = ROLES
        app.user = {"is_logged_in": signed_in, "email": email}
    return app.run()


def page(app: AppTest, script: str) -> AppTest:
    app.switch_page(script).run()
    assert not app.exception, app.exception
    return app


def locked(app: AppTest) -> list[str]:
    return [i.value for i in app.info if "needs the" in i.value]


def outcome_count(location) -> int:
    with Catalog.open(location) as catalog:
        return catalog.counts()["outcomes"]


def test_a_viewer_browses_and_exports_but_cannot_log_or_edit(monkeypatch, demo_path):
    app = app_as(monkeypatch, demo_path, role="viewer")
    assert any("Local mode: single user, viewer rights." in c.value for c in app.sidebar.caption)
    assert len(app.dataframe) >= 1  # the portfolio is there
    log = page(app, "app_pages/log_outcomes.py")
    assert locked(log) == ["You are working as a viewer, who cannot log outcomes: that needs the researcher role. "
                           "Ask an admin if you need it."]
    assert not log.get("form")
    tasks = page(app, "app_pages/tasks.py")
    assert any("cannot edit tasks: that needs the admin role" in m for m in locked(tasks))
    export = page(app, "app_pages/export.py")
    assert not locked(export) and len(export.get("download_button")) >= 1
    audit = page(app, "app_pages/audit.py")
    assert any("cannot administer the catalog: that needs the admin role" in m for m in locked(audit))
    assert outcome_count(demo_path) == OUTCOMES


def test_a_researcher_logs_outcomes_but_cannot_edit_tasks_or_costs(monkeypatch, demo_path):
    app = app_as(monkeypatch, demo_path, role="researcher")
    log = page(app, "app_pages/log_outcomes.py")
    assert not locked(log)
    log.number_input[0].set_value(800)
    log.number_input[1].set_value(3000)
    log.number_input[2].set_value(0.5)
    log.button(key="FormSubmitter:outcome_form-Log outcome").click().run()
    assert [s.value for s in log.success] == ["Outcome logged."]
    assert outcome_count(demo_path) == OUTCOMES + 1
    tasks = page(app, "app_pages/tasks.py")
    assert any("cannot edit tasks: that needs the admin role" in m for m in locked(tasks))
    datasets = page(app, "app_pages/datasets.py")
    assert any("cannot edit datasets: that needs the admin role" in m for m in locked(datasets))
    costs = page(app, "app_pages/costs.py")
    assert not [b for b in costs.button if b.label == "Save cost assumptions"]


def test_an_admin_edits_and_filters_the_audit_log(monkeypatch, demo_path):
    app = app_as(monkeypatch, demo_path, role="admin")
    tasks = page(app, "app_pages/tasks.py")
    assert not locked(tasks) and tasks.get("form")
    costs = page(app, "app_pages/costs.py")
    assert [b for b in costs.button if b.label == "Save cost assumptions"]
    audit = page(app, "app_pages/audit.py")
    everything = audit.dataframe[0].value
    assert not everything.empty
    audit.multiselect[1].set_value(["seed demo"]).run()  # Action
    seeded = audit.dataframe[0].value
    assert 0 < len(seeded) < len(everything) and set(seeded["action"]) == {"seed demo"}
    audit.text_input[0].set_value("no such record anywhere").run()
    assert audit.dataframe[0].value.empty


def test_with_sign_in_configured_nothing_shows_until_someone_signs_in(monkeypatch, demo_path):
    app = app_as(monkeypatch, demo_path, email="", signed_in=False)
    assert [b.label for b in app.button] == ["Sign in"]
    assert not app.dataframe  # no portfolio for a stranger


def test_a_signed_in_person_without_a_role_is_told_to_ask_an_admin(monkeypatch, demo_path):
    app = app_as(monkeypatch, demo_path, email="eve@elsewhere.net")
    assert "eve@elsewhere.net has no role in this workspace" in app.warning[0].value
    assert [b.label for b in app.button] == ["Sign out"]
    assert not app.dataframe


@pytest.mark.parametrize(("email", "role", "can_log"), [
    ("pat@partner.com", "viewer", False),
    ("rami@lab.org", "researcher", True),
    ("ada@lab.org", "admin", True),
])
def test_signed_in_roles_come_from_the_mapping(monkeypatch, demo_path, email, role, can_log):
    app = app_as(monkeypatch, demo_path, email=email)
    assert any(f"Signed in as {email} ({role})." in c.value for c in app.sidebar.caption)
    log = page(app, "app_pages/log_outcomes.py")
    assert bool(log.get("form")) is can_log
    assert bool(locked(log)) is not can_log
