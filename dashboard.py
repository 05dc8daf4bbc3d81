"""What every page of the app shares: the one catalog connection of this process and cached reads.

Streamlit-specific on purpose, so that strategy/ stays free of Streamlit. Reads
are cached per catalog location and cleared after every write, so browsing
never queries more than it must and never shows stale rows after a change.
"""

from __future__ import annotations

import sys

import pandas as pd
import streamlit as st

from strategy.catalog import Catalog, resolve_location

READ_TTL_SECONDS = 60


def catalog_location() -> str:
    """--catalog after `streamlit run app.py --`, else $STRATEGY_CATALOG, else the default."""
    args = sys.argv[1:]
    for position, arg in enumerate(args):
        if arg == "--catalog" and position + 1 < len(args):
            return resolve_location(args[position + 1])
        if arg.startswith("--catalog="):
            return resolve_location(arg.split("=", 1)[1])
    return resolve_location()


@st.cache_resource(show_spinner=False)
def _open_catalog(location: str) -> Catalog:
    return Catalog.open(location)


def catalog() -> Catalog:
    """The process-wide catalog for the configured location."""
    return _open_catalog(catalog_location())


@st.cache_data(ttl=READ_TTL_SECONDS, max_entries=16, show_spinner=False)
def counts(location: str) -> dict[str, int]:
    return _open_catalog(location).counts()


@st.cache_data(ttl=READ_TTL_SECONDS, max_entries=16, show_spinner=False)
def tasks(location: str, include_archived: bool = False) -> pd.DataFrame:
    return _open_catalog(location).tasks(include_archived=include_archived)


@st.cache_data(ttl=READ_TTL_SECONDS, max_entries=64, show_spinner=False)
def outcomes(location: str, task_id: str | None = None) -> pd.DataFrame:
    return _open_catalog(location).outcomes(task_id)


@st.cache_data(ttl=READ_TTL_SECONDS, max_entries=16, show_spinner=False)
def datasets(location: str) -> pd.DataFrame:
    return _open_catalog(location).datasets()


@st.cache_data(ttl=READ_TTL_SECONDS, max_entries=16, show_spinner=False)
def cost_tiers(location: str) -> pd.DataFrame:
    return _open_catalog(location).cost_tiers()


@st.cache_data(ttl=READ_TTL_SECONDS, max_entries=16, show_spinner=False)
def audit_log(location: str, limit: int = 500) -> pd.DataFrame:
    return _open_catalog(location).audit_log(limit)


def clear_reads() -> None:
    """Call after any write so every page reads fresh rows."""
    st.cache_data.clear()
