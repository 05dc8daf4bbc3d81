"""Portfolio: every task at a glance, with the evidence behind it."""

import streamlit as st

import dashboard
from strategy.models import profile_pulls

location = dashboard.catalog_location()
tasks = dashboard.tasks(location)

st.title("Portfolio")
st.caption("Each AI task the team sources data for, how its profile pulls, and how much evidence it has.")

if tasks.empty:
    st.info("The catalog has no tasks yet. Load the demo with `strategy init --demo`, "
            "or add tasks from a file with `strategy tasks add FILE`.", icon=":material/info:")
    st.stop()

outcome_count = int(tasks["outcomes"].sum())
left, middle, right = st.columns(3)
left.metric("Tasks", len(tasks))
middle.metric("Outcomes behind them", f"{outcome_count:,}")
right.metric("Tasks with no outcomes", int((tasks["outcomes"] == 0).sum()))

table = tasks.join(profile_pulls(tasks)).assign(open=lambda f: "task?task=" + f["id"])
st.dataframe(
    table[["name", "domain", "modality", "metric", "human_pull", "synthetic_pull", "outcomes", "open"]],
    hide_index=True,
    width="stretch",
    column_config={
        "name": st.column_config.TextColumn("Task"),
        "domain": "Domain",
        "modality": "Modality",
        "metric": "Metric",
        "human_pull": st.column_config.ProgressColumn(
            "Pull toward human data", help="Mean score (0–4) of the factors that favour human data.",
            min_value=0, max_value=4, format="%.1f"),
        "synthetic_pull": st.column_config.ProgressColumn(
            "Pull toward synthetic data", help="Mean score (0–4) of the factors that favour synthetic data.",
            min_value=0, max_value=4, format="%.1f"),
        "outcomes": st.column_config.NumberColumn("Outcomes", help="Logged experiment outcomes (not deleted)."),
        "open": st.column_config.LinkColumn("Details", display_text="Open"),
    },
)
st.caption("Demo outcomes are illustrative (simulated), not measured results.")
