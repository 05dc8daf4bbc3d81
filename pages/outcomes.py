"""Outcomes: the logged experiments every recommendation rests on."""

import streamlit as st

import dashboard
from strategy import charts

location = dashboard.catalog_location()
outcomes = dashboard.outcomes(location)

st.title("Outcomes")
st.caption("Each row is one experiment: a metric measured after training on a given human/synthetic mix.")

if outcomes.empty:
    st.info("No outcomes logged yet.", icon=":material/info:")
    st.stop()

task_names = sorted(outcomes["task_name"].unique())
picked = st.multiselect("Tasks", task_names, placeholder="All tasks")
sources = st.multiselect("Source", sorted(outcomes["source"].unique()), placeholder="Measured and illustrative")
shown = outcomes
if picked:
    shown = shown[shown["task_name"].isin(picked)]
if sources:
    shown = shown[shown["source"].isin(sources)]

st.metric("Outcomes shown", f"{len(shown):,}")
if len(picked) == 1 and not shown.empty:
    st.altair_chart(charts.outcomes_by_mix(shown, shown["metric"].iloc[0]), width="stretch")
elif not shown.empty:
    st.altair_chart(charts.outcomes_per_task(shown), width="stretch")
st.dataframe(
    shown[["task_name", "run_id", "n_human", "n_synthetic", "human_share", "regime", "metric", "value",
           "higher_is_better", "human_eval", "cost", "source", "notes", "created_by", "created_at"]],
    hide_index=True, width="stretch",
    column_config={
        "task_name": "Task",
        "human_share": st.column_config.NumberColumn("Human share", format="percent"),
        "value": st.column_config.NumberColumn("Value", format="%.4f"),
        "cost": st.column_config.NumberColumn("Cost (USD)", format="$%.2f"),
    },
)
