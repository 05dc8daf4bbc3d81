"""What every page of the app shares: the one catalog connection of this process and cached reads.

Streamlit-specific on purpose, so that strategy/ stays free of Streamlit. Reads
are cached per catalog location and cleared after every write, so browsing
never queries more than it must and never shows stale rows after a change.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from dataclasses import dataclass

import pandas as pd
import streamlit as st
from streamlit import config as st_config
from streamlit.errors import StreamlitSecretNotFoundError

from strategy import assessments, export, recommend, summary, views
from strategy.access import (
    NEEDS,
    Identity,
    RoleMap,
    SignInBroken,
    email_unverified,
    local_identity,
    sign_in_roles,
)
from strategy.catalog import Catalog, resolve_data_path, resolve_location
from strategy.ingest import upload_limit_bytes
from strategy.outcomes import changes_table
from strategy.quality import samples
from strategy.quality.columns import Sample

READ_TTL_SECONDS = 60


def _argument(name: str) -> str | None:
    args = sys.argv[1:]
    for position, arg in enumerate(args):
        if arg == name and position + 1 < len(args):
            return args[position + 1]
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
    return None


def catalog_location() -> str:
    """--catalog after `streamlit run app.py --`, else $STRATEGY_CATALOG, else the default."""
    return resolve_location(_argument("--catalog"))


@st.cache_resource(show_spinner=False)
def _open_catalog(location: str) -> Catalog:
    # A lake's data path matters only when the lake is new; --data-path, else $STRATEGY_DATA_PATH.
    return Catalog.open(location, data_path=resolve_data_path(_argument("--data-path")))


def catalog() -> Catalog:
    """The process-wide catalog for the configured location, acting as this session's person: every write
    is checked against their role and credited to them. Nobody admitted (sign-in configured, nobody with a
    role signed in) acts as a guest without write rights, never as the local admin."""
    return _open_catalog(catalog_location()).acting_as(identity() or GUEST)


# Who acts when sign-in is configured and nobody with a role is signed in: no right to write.
GUEST = Identity("guest (not signed in)", "viewer")


@dataclass(frozen=True)
class SignIn:
    """What .streamlit/secrets.toml says about sign-in: off (local mode), on with a role mapping, or configured
    but broken, in which case the app stops with ``problem`` and nobody gets in."""

    configured: bool
    roles: RoleMap | None = None
    problem: str | None = None


def _secrets_source_exists() -> bool:
    return any(os.path.exists(path) for path in st_config.get_option("secrets.files"))


def _broken(reason: str) -> SignIn:
    return SignIn(True, problem=f"Sign-in is configured but broken, so the app is stopped (it never falls back to "
                                f"local mode): {reason} Fix .streamlit/secrets.toml and restart the app.")


def sign_in() -> SignIn:
    """Sign-in is on when .streamlit/secrets.toml has an [auth] section (Streamlit's OIDC login). A secrets file
    that exists but cannot be read, an [auth] section without the keys the login needs, or a malformed [roles]
    mapping is a broken set-up: it stops the app instead of opening it in local (admin) mode."""
    try:
        secrets = st.secrets.to_dict()
    except Exception as error:  # noqa: BLE001 - whatever stops a present secrets file from loading is a broken set-up
        if isinstance(error, StreamlitSecretNotFoundError) and not _secrets_source_exists():
            return SignIn(False)  # no secrets file at all: local mode
        # Where it breaks (a TOML error's line and column, or the system's reason), never the file's text or path.
        detail = getattr(error, "exec_kwargs", {}).get("error") or getattr(error, "strerror", None) or \
            type(error).__name__
        return _broken(f"the secrets file cannot be read ({detail}).")
    if "auth" not in secrets and "roles" not in secrets:
        return SignIn(False)
    try:
        return SignIn(True, roles=sign_in_roles(secrets.get("auth"), secrets.get("roles")))
    except SignInBroken as error:
        return _broken(str(error))


def sign_in_configured() -> bool:
    """True when sign-in is on, or configured but broken (then nobody is admitted)."""
    return sign_in().configured


def signed_in() -> bool:
    return bool(st.user.get("is_logged_in", False))


def email_not_verified() -> bool:
    """A signed-in person whose provider says the email is unverified: not admitted, whatever the mapping."""
    return sign_in().configured and signed_in() and email_unverified(st.user)


def identity() -> Identity | None:
    """Who this session is: the signed-in person with the role the [roles] mapping gives them (None when
    nobody is signed in, the provider has not verified their email, the mapping gives them no role or the
    sign-in set-up is broken), or, with no sign-in configured, the local single user."""
    settings = sign_in()
    if not settings.configured:
        return local_identity()
    if settings.problem or not signed_in() or email_unverified(st.user):
        return None
    email = str(st.user.get("email") or "")
    role = settings.roles.role_for(email)
    return Identity(email, role, signed_in=True) if role else None


def can(permission: str) -> bool:
    person = identity()
    return person is not None and person.can(permission)


def stop_unless_tasks_and(tasks: pd.DataFrame, permission: str) -> None:
    """End the page here when there is no task to log against yet (saying how to make one), or when this
    session may not do what the page is for (saying which role it takes)."""
    if tasks.empty:
        st.info("Create a task first (Catalog › Tasks), or load the demo from the Portfolio page.",
                icon=":material/info:")
        st.stop()
    if not needs(permission):
        st.stop()


def needs(permission: str) -> bool:
    """True when this session may do it; otherwise says, in place of the controls, which role it takes."""
    if can(permission):
        return True
    person = identity()
    who = "You are signed in as" if person and person.signed_in else "You are working as"
    st.info(f"{who} a {person.role if person else 'guest'}, who cannot {permission}: that needs the "
            f"{NEEDS[permission]} role. Ask an admin if you need it.", icon=":material/lock:")
    return False


@st.cache_data(ttl=READ_TTL_SECONDS, max_entries=16, show_spinner=False)
def counts(location: str) -> dict[str, int]:
    return _open_catalog(location).counts()


@st.cache_data(ttl=READ_TTL_SECONDS, max_entries=16, show_spinner=False)
def tasks(location: str, include_archived: bool = False) -> pd.DataFrame:
    return _open_catalog(location).tasks(include_archived=include_archived)


@st.cache_data(ttl=READ_TTL_SECONDS, max_entries=64, show_spinner=False)
def outcomes(location: str, task_id: str | None = None, include_deleted: bool = False) -> pd.DataFrame:
    return _open_catalog(location).outcomes(task_id, include_deleted=include_deleted)


@st.cache_data(ttl=READ_TTL_SECONDS, max_entries=16, show_spinner=False)
def datasets(location: str) -> pd.DataFrame:
    return _open_catalog(location).datasets()


@st.cache_data(ttl=READ_TTL_SECONDS, max_entries=16, show_spinner=False)
def cost_tiers(location: str) -> pd.DataFrame:
    return _open_catalog(location).cost_tiers()


@st.cache_data(ttl=READ_TTL_SECONDS, max_entries=16, show_spinner=False)
def audit_log(location: str, limit: int = 500, filters: str = "{}") -> pd.DataFrame:
    return _open_catalog(location).audit_log(limit, **json.loads(filters))


@st.cache_data(ttl=READ_TTL_SECONDS, max_entries=16, show_spinner=False)
def audit_facets(location: str) -> dict[str, list[str]]:
    return _open_catalog(location).audit_facets()


def clear_reads() -> None:
    """Call after any write so every page reads fresh rows."""
    st.cache_data.clear()


@st.cache_data(ttl=READ_TTL_SECONDS, max_entries=16, show_spinner=False)
def portfolio_view(location: str) -> pd.DataFrame:
    return views.portfolio_view(_open_catalog(location))


@st.cache_data(ttl=READ_TTL_SECONDS, max_entries=64, show_spinner=False)
def history(location: str, task_id: str) -> pd.DataFrame:
    return _open_catalog(location).recommendation_history(task_id)


def query_list(name: str) -> list[str]:
    """A multi-valued filter kept in the URL (?domain=A&domain=B), so a view can be shared as a link."""
    return st.query_params.get_all(name)


def from_url(widget_key: str, url_value, to_widget=lambda value: value) -> None:
    """Seed a keyed widget from the URL when the URL says something new (a shared link, a page link), and
    otherwise leave what the person picked: an unkeyed widget whose default follows the URL would be reset
    each time the URL changes, dropping the person's next change."""
    marker = f"_url_{widget_key}"
    if widget_key not in st.session_state or st.session_state.get(marker) != url_value:
        st.session_state[widget_key] = to_widget(url_value)
        st.session_state[marker] = url_value


def to_url(widget_key: str, name: str, url_value) -> None:
    """Write a widget's value to the URL, remembering it so the next run does not re-seed the widget."""
    # Only a change is written: a write on the first run after a page link made the browser put the address
    # of the page it came from back (Chromium, Streamlit 1.67), so a shared or reloaded link lost the task.
    if url_value in (None, "", []):
        if name in st.query_params:
            st.query_params.pop(name, None)
    elif (st.query_params.get_all(name) if isinstance(url_value, list) else st.query_params.get(name)) != url_value:
        st.query_params[name] = url_value
    st.session_state[f"_url_{widget_key}"] = url_value if url_value not in ("", None) else (
        [] if isinstance(url_value, list) else None)


@st.cache_data(ttl=READ_TTL_SECONDS, max_entries=64, show_spinner=False)
def _stored_recommendation(location: str, task_id: str) -> tuple[str, dict | None] | None:
    # Cached as JSON, not as objects: a pickled Recommendation breaks when Streamlit reloads edited modules.
    stored = _open_catalog(location).latest_recommendation(task_id)
    return (stored.recommendation.model_dump_json(), stored.fit) if stored else None


def stored_recommendation(location: str, task_id: str):
    """The task's stored recommendation and fit (as a JSON-ready dict), or None."""
    cached = _stored_recommendation(location, task_id)
    return (recommend.Recommendation.model_validate_json(cached[0]), cached[1]) if cached else None


def evidence(location: str, task_id: str):
    """One task's usable outcomes: a small query, not cached (its result holds live objects)."""
    return recommend.gather(catalog(), [task_id])[0]




@st.cache_data(ttl=READ_TTL_SECONDS, max_entries=8, show_spinner="Reading the sample…")
def _dataset_frame(location: str, dataset_id: str) -> tuple[str, pd.DataFrame]:
    sample = samples.dataset_sample(assessments.find_dataset(_open_catalog(location), dataset_id))
    return sample.label, sample.frame


def dataset_sample(location: str, dataset_id: str) -> Sample:
    """The rows behind a catalog dataset, read from its location (cached: samples can be large)."""
    return Sample(*_dataset_frame(location, dataset_id))


@st.cache_data(max_entries=6, show_spinner="Reading the file…")
def _uploaded_frame(data: bytes, name: str) -> tuple[str, pd.DataFrame]:
    sample = samples.load_sample(io.BytesIO(data), label=name, limit=upload_limit_bytes())
    return sample.label, sample.frame


def uploaded_sample(data: bytes, name: str) -> Sample:
    """An uploaded sample, read once per distinct file."""
    return Sample(*_uploaded_frame(data, name))


@st.cache_data(ttl=READ_TTL_SECONDS, max_entries=16, show_spinner=False)
def quality_history(location: str, task_id: str | None = None) -> pd.DataFrame:
    return assessments.reports_with_scores(_open_catalog(location), task_id=task_id)


# Characters Streamlit's Markdown would turn into emphasis, code, links, HTML, colours, icons, formulas, strikes,
# headings or tables; backslash-escaped, user text shows exactly as typed.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_<>\[\]():$~#|!])")


def literal(text) -> str:
    """User text for st.markdown, st.caption, st.subheader, messages: shown literally, never interpreted."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def frozen(filters: dict | None) -> str:
    """Filters as a hashable cache key."""
    return json.dumps(filters or {}, sort_keys=True)


@st.cache_data(ttl=READ_TTL_SECONDS, max_entries=16, show_spinner="Preparing the summary…")
def summary_markdown(location: str, task_ids: tuple[str, ...], filters: str) -> str:
    bundle = summary.build_summary(_open_catalog(location), task_ids=list(task_ids) or None,
                                   filters=json.loads(filters) or None)
    return export.to_markdown(bundle)


def summary_file(location: str, fmt: str, paper: str, bundle_args: dict):
    """A callable that makes the export file when its download button is clicked (it runs outside the script
    run, so it touches no Streamlit state: only the catalog and the arguments captured here)."""
    catalog_ = _open_catalog(location)

    def make() -> bytes:
        return export.render(summary.build_summary(catalog_, **bundle_args), fmt, paper=paper)

    return make


def summary_file_name(location: str, fmt: str, bundle_args: dict) -> str:
    if bundle_args.get("task_ids"):
        name = _open_catalog(location).task(bundle_args["task_ids"][0]).name
        return export.file_name_for("task" if len(bundle_args["task_ids"]) == 1 else "selection", name, fmt)
    return export.file_name_for("selection" if bundle_args.get("filters") else "portfolio", "", fmt)


def show_changes(changes, heading: str = "What the evidence changed") -> None:
    """Before → after for every task a write recomputed, with a link to each task that has an answer."""
    if not changes:
        return
    st.markdown(f"**{heading}**")
    st.dataframe(changes_table(changes), hide_index=True, width="stretch")
    for change in changes:
        if change.after is not None:
            st.page_link("app_pages/task.py", label=f"Open {change.task_name}", icon=":material/open_in_new:",
                         query_params={"task": change.task_id})
