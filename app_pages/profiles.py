"""Task profiles: how every task scores on the factors that pull toward human or synthetic data."""

import pandas as pd
import streamlit as st

import dashboard
from strategy import charts
from strategy.models import FACTORS

location = dashboard.catalog_location()
tasks = dashboard.tasks(location, include_archived=True)

st.title("Task profiles")
if tasks.empty:
    st.info("No tasks yet: load the demo with `strategy init --demo` or `strategy tasks add FILE`.",
            icon=":material/info:")
    st.stop()

st.altair_chart(charts.profile_matrix(tasks), width="stretch")

st.subheader("Tasks")
st.dataframe(
    tasks[["name", "domain", "modality", "metric", "higher_is_better", "status", "source", "updated_by",
           "updated_at"]],
    hide_index=True, width="stretch",
)

st.subheader("The factors")
st.dataframe(
    pd.DataFrame([{"Factor": f.label, "Pulls toward": f.leans, "0 means": f.at_zero, "4 means": f.at_four}
                  for f in FACTORS]),
    hide_index=True, width="stretch",
)
