"""Datasets: the human and synthetic data the team owns or can buy, with costs and where they come from."""

import streamlit as st

import dashboard
from strategy import charts

location = dashboard.catalog_location()
datasets = dashboard.datasets(location)

st.title("Datasets")
if datasets.empty:
    st.info("No datasets registered yet.", icon=":material/info:")
    st.stop()

kinds = st.multiselect("Source", ["human", "synthetic", "mixed"], placeholder="All sources")
shown = datasets[datasets["source_kind"].isin(kinds)] if kinds else datasets

st.altair_chart(charts.dataset_costs(shown), width="stretch")
st.dataframe(
    shown[["name", "task_name", "source_kind", "modality", "samples", "cost_per_sample", "provenance", "licence",
           "cost_source"]],
    hide_index=True, width="stretch",
    column_config={
        "name": "Dataset", "task_name": "Task", "source_kind": "Source",
        "samples": st.column_config.NumberColumn("Samples", format="localized"),
        "cost_per_sample": st.column_config.NumberColumn("USD per sample", format="$%.4f"),
        "cost_source": "Where the cost comes from",
    },
)
