"""AppTest: sign-in that is configured but broken stops the app (never local admin mode), and a person whose
provider has not verified their email is not admitted. A secrets file on disk is used where the case is the
file itself (a TOML syntax error, a folder in its place); the others set the secrets as the app would read them."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit import config as st_config
from streamlit.runtime.secrets import Secrets, secrets_singleton
from streamlit.testing.v1 import AppTest

from dashboard import literal
from strategy.catalog import Catalog

APP = str(Path(__file__).resolve().parents[2] / "app.py")
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "not-a-real-secret",
        "client_id": "strategy", "client_secret": "not-a-real-secret",
        "server_metadata_url": "https://login.example.com/.well-known/openid-configuration"}
ROLES = {"admin": ["ada@lab.org"], "researcher": ["@lab.org"]}
BROKEN_TOML = ('[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\ncookie_secret = "unterminated\n'
               'client_id = "strategy"\n')


@pytest.fixture(autouse=True)
def fresh_state():
    secrets_singleton._reset()
    yield
    secrets_singleton._reset()
    st.cache_data.clear()
    st.cache_resource.clear()


def use_secrets_path(monkeypatch, path: Path) -> None:
    """Make Streamlit read its secrets from this one path (file or folder), with nothing parsed yet."""
    original = st_config.get_option
    monkeypatch.setattr(st_config, "get_option",
                        lambda name: [str(path)] if name == "secrets.files" else original(name))
    fresh = Secrets()
    fresh._file_watchers_installed = True  # no file watcher thread for a test's temporary file
    monkeypatch.setattr(st, "secrets", fresh)


def run(monkeypatch, location, *, secrets: dict | None = None, user: dict | None = None) -> AppTest:
    monkeypatch.setenv("STRATEGY_CATALOG", str(location))
    monkeypatch.delenv("STRATEGY_ROLE", raising=False)
    app = AppTest.from_file(APP, default_timeout=60)
    for section, values in (secrets or {}).items():
        app.secrets[section] = values
    if user is not None:
        app.user = user
    return app.run()


def counts(location) -> dict[str, int]:
    with Catalog.open(location) as catalog:
        return catalog.counts()


def shows_nothing_of_the_app(app: AppTest) -> None:
    assert not app.exception, app.exception
    assert not app.sidebar.children, "the sidebar (catalog, role, counts) must stay empty"
    assert not app.dataframe and not app.tabs and not app.metric
    captions = [c.value for c in app.caption]
    assert not any("Local mode" in c or "admin rights" in c for c in captions), captions


def test_a_secrets_file_with_a_toml_syntax_error_stops_the_app(monkeypatch, demo_path, tmp_path):
    path = tmp_path / "secrets.toml"
    path.write_text(BROKEN_TOML, encoding="utf-8")
    use_secrets_path(monkeypatch, path)
    before = counts(demo_path)
    app = run(monkeypatch, demo_path)
    shows_nothing_of_the_app(app)
    assert [t.value for t in app.title] == ["Data-sourcing strategy"]
    [error] = [e.value for e in app.error]
    assert error.startswith(literal("Sign-in is configured but broken, so the app is stopped (it never falls back "
                                    "to local mode): the secrets file cannot be read ("))
    assert "line 3" in error
    assert "unterminated" not in error  # the file's text is not shown, only where it breaks
    assert not app.button  # no sign-in either: it could not work
    assert counts(demo_path) == before


def test_a_broken_secrets_file_without_auth_still_stops_the_app(monkeypatch, demo_path, tmp_path):
    # The file might have held the [auth] section: unreadable is never read as "no sign-in".
    path = tmp_path / "secrets.toml"
    path.write_text('api_key = "abc\n', encoding="utf-8")
    use_secrets_path(monkeypatch, path)
    app = run(monkeypatch, demo_path)
    shows_nothing_of_the_app(app)
    assert app.error[0].value.startswith(literal("Sign-in is configured but broken"))


def test_a_folder_where_the_secrets_file_should_be_stops_the_app(monkeypatch, demo_path, tmp_path):
    path = tmp_path / "secrets.toml"
    path.mkdir()
    use_secrets_path(monkeypatch, path)
    app = run(monkeypatch, demo_path)
    shows_nothing_of_the_app(app)
    [error] = [e.value for e in app.error]
    assert literal("the secrets file cannot be read (Is a directory).") in error
    assert literal(str(tmp_path)) not in error and tmp_path.name not in error  # no server path for visitors


def test_a_valid_secrets_file_without_auth_keeps_local_mode(monkeypatch, demo_path, tmp_path):
    # The control case: a readable file without [auth] or [roles] is local mode, as the README says.
    path = tmp_path / "secrets.toml"
    path.write_text('[service]\napi_key = "abc"\n', encoding="utf-8")
    use_secrets_path(monkeypatch, path)
    app = run(monkeypatch, demo_path)
    assert not app.exception and not app.error
    assert app.sidebar.children  # what the stopped cases assert to be empty is there when the app runs
    assert any("Local mode: single user, admin rights." in c.value for c in app.sidebar.caption)


@pytest.mark.parametrize(("auth", "missing"), [
    ({k: v for k, v in AUTH.items() if k != "client_secret"}, "client_secret"),
    ({k: v for k, v in AUTH.items() if k not in ("redirect_uri", "cookie_secret")}, "redirect_uri, cookie_secret"),
    ({**AUTH, "server_metadata_url": "  "}, "server_metadata_url"),
], ids=["no-client-secret", "no-redirect-or-cookie-secret", "blank-metadata-url"])
def test_an_auth_section_missing_keys_stops_the_app(monkeypatch, demo_path, auth, missing):
    app = run(monkeypatch, demo_path, secrets={"auth": auth, "roles": ROLES},
              user={"is_logged_in": True, "email": "ada@lab.org"})
    shows_nothing_of_the_app(app)
    [error] = [e.value for e in app.error]
    assert literal(f"[auth] section lacks {missing}: nobody can sign in") in error


def test_roles_without_an_auth_section_stop_the_app(monkeypatch, demo_path):
    app = run(monkeypatch, demo_path, secrets={"roles": ROLES})
    shows_nothing_of_the_app(app)
    assert literal("has a [roles] mapping but no [auth] section") in app.error[0].value


def test_a_roles_mapping_naming_an_unknown_role_stops_the_app(monkeypatch, demo_path):
    app = run(monkeypatch, demo_path, secrets={"auth": AUTH, "roles": {"superuser": ["ada@lab.org"]}},
              user={"is_logged_in": True, "email": "ada@lab.org"})
    shows_nothing_of_the_app(app)
    assert literal("Unknown role in the roles mapping 'superuser'") in app.error[0].value


@pytest.mark.parametrize("verified", [False, "false"], ids=["boolean-false", "text-false"])
def test_an_unverified_email_is_not_admitted_even_with_the_admin_role(monkeypatch, demo_path, verified):
    before = counts(demo_path)
    app = run(monkeypatch, demo_path, secrets={"auth": AUTH, "roles": ROLES},
              user={"is_logged_in": True, "email": "ada@lab.org", "email_verified": verified})
    shows_nothing_of_the_app(app)
    [warning] = [w.value for w in app.warning]
    assert warning.startswith("ada@lab.org is not verified by the sign-in provider")
    assert [b.label for b in app.button] == ["Sign out"]
    assert counts(demo_path) == before


@pytest.mark.parametrize("verified", [True, None], ids=["verified", "provider-sends-no-claim"])
def test_a_verified_admin_is_admitted_with_the_role(monkeypatch, demo_path, verified):
    user = {"is_logged_in": True, "email": "ada@lab.org"}
    if verified is not None:
        user["email_verified"] = verified
    app = run(monkeypatch, demo_path, secrets={"auth": AUTH, "roles": ROLES}, user=user)
    assert not app.exception and not app.error
    assert any("Signed in as ada@lab.org (admin)." in c.value for c in app.sidebar.caption)
    assert len(app.dataframe) >= 1  # the portfolio


def test_with_sign_in_on_a_visitor_not_signed_in_sees_only_the_sign_in_button(monkeypatch, demo_path):
    app = run(monkeypatch, demo_path, secrets={"auth": AUTH, "roles": ROLES}, user={"is_logged_in": False})
    shows_nothing_of_the_app(app)
    assert [b.label for b in app.button] == ["Sign in"]
