"""Audit log: every write to the catalog, who made it and when."""

import streamlit as st

import dashboard

location = dashboard.catalog_location()
log = dashboard.audit_log(location)

st.title("Audit log")
st.caption("The latest 500 writes, newest first.")
if log.empty:
    st.info("Nothing has been written yet.", icon=":material/info:")
    st.stop()

actors = st.multiselect("Who", sorted(log["actor"].unique()), placeholder="Everyone")
shown = log[log["actor"].isin(actors)] if actors else log
st.dataframe(shown[["changed_at", "actor", "action", "entity", "entity_id", "details"]],
             hide_index=True, width="stretch",
             column_config={"changed_at": st.column_config.DatetimeColumn("When (UTC)")})
