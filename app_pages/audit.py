"""Audit log: every write to the catalog, who made it and when; admins filter it."""

import datetime as dt
import json

import streamlit as st

import dashboard
from strategy.access import Permission

location = dashboard.catalog_location()

st.title("Audit log")
if not dashboard.needs(Permission.ADMINISTER_THE_CATALOG):
    st.stop()
facets = dashboard.audit_facets(location)
if not facets["actor"]:
    st.info("Nothing has been written yet.", icon=":material/info:")
    st.stop()

who, what, which = st.columns(3)
actors = who.multiselect("Who", facets["actor"], placeholder="Everyone")
actions = what.multiselect("Action", facets["action"], placeholder="Every action")
entities = which.multiselect("Record", facets["entity"], placeholder="Every kind of record")
when, text, size = st.columns([2, 2, 1])
today = dt.datetime.now(dt.UTC).date()
period = when.date_input("Between (UTC)", value=(), max_value=today, help="Leave empty for all time.")
containing = text.text_input("Record id or details contain")
limit = size.number_input("Show at most", min_value=10, max_value=100_000, value=500, step=100)

filters = {"actors": actors, "actions": actions, "entities": entities, "containing": containing.strip()}
if len(period) >= 1:
    filters["since"] = dt.datetime.combine(period[0], dt.time.min).isoformat()
    filters["until"] = dt.datetime.combine(period[-1], dt.time.max).isoformat()
log = dashboard.audit_log(location, int(limit), json.dumps(filters, sort_keys=True))

st.caption(f"{len(log):,} entries, newest first" + (" (the limit)" if len(log) == limit else "") + ".")
st.dataframe(log[["changed_at", "actor", "action", "entity", "entity_id", "details"]],
             hide_index=True, width="stretch",
             column_config={"changed_at": st.column_config.DatetimeColumn("When (UTC)"),
                            "actor": "Who", "action": "Action", "entity": "Record", "entity_id": "Record id",
                            "details": "Details"})
