"""Task: one task's profile, its datasets and the outcomes logged for it."""

import streamlit as st

import dashboard
from strategy import charts
from strategy.models import FACTORS

location = dashboard.catalog_location()
tasks = dashboard.tasks(location)

st.title("Task")
if tasks.empty:
    st.info("No tasks yet: load the demo with `strategy init --demo`.", icon=":material/info:")
    st.stop()

ids = tasks["id"].tolist()
names = dict(zip(tasks["id"], tasks["name"], strict=True))
wanted = st.query_params.get("task")
chosen = st.selectbox("Task", ids, index=ids.index(wanted) if wanted in ids else 0, format_func=names.get)
st.query_params["task"] = chosen
task = tasks[tasks["id"] == chosen]
row = task.iloc[0]

st.subheader(row["name"])
st.write(row["description"] or "_No description._")
facts = st.columns(4)
facts[0].metric("Domain", row["domain"])
facts[1].metric("Modality", row["modality"])
facts[2].metric("Metric", row["metric"], help="Higher is better." if row["higher_is_better"] else "Lower is better.")
facts[3].metric("Outcomes", int(row["outcomes"]))

profile_tab, evidence_tab, data_tab = st.tabs(["Profile", "Evidence", "Datasets"])
with profile_tab:
    st.altair_chart(charts.task_profile(task), width="stretch")
    with st.expander("What the scores mean"):
        for factor in FACTORS:
            st.markdown(f"**{factor.label}** ({int(row[factor.name])}) — {factor.help}")

with evidence_tab:
    outcomes = dashboard.outcomes(location, chosen)
    if outcomes.empty:
        st.info("No outcomes logged for this task yet.", icon=":material/info:")
    else:
        if (outcomes["source"] == "illustrative").any():
            st.caption("Illustrative outcomes are simulated demo content, not measured results.")
        st.altair_chart(charts.outcomes_by_mix(outcomes, row["metric"]), width="stretch")
        st.dataframe(
            outcomes[["run_id", "n_human", "n_synthetic", "regime", "value", "human_eval", "cost", "source",
                      "created_by", "created_at"]],
            hide_index=True, width="stretch",
            column_config={"value": st.column_config.NumberColumn(row["metric"], format="%.4f"),
                           "cost": st.column_config.NumberColumn("Cost (USD)", format="$%.2f")},
        )

with data_tab:
    datasets = dashboard.datasets(location)
    own = datasets[datasets["task_id"] == chosen]
    if own.empty:
        st.info("No datasets registered for this task.", icon=":material/info:")
    else:
        st.dataframe(
            own[["name", "source_kind", "modality", "samples", "cost_per_sample", "provenance", "licence",
                 "cost_source"]],
            hide_index=True, width="stretch",
            column_config={"cost_per_sample": st.column_config.NumberColumn("USD per sample", format="$%.4f")},
        )
