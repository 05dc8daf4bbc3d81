"""Outcomes: explore, download, correct and delete the logged experiments every recommendation rests on."""

import datetime as dt

import streamlit as st

import dashboard
from strategy import charts, export
from strategy.access import Permission
from strategy.errors import ImportRejected
from strategy.outcomes import changes_table, delete, edit, filter_outcomes

location = dashboard.catalog_location()
show_deleted = st.session_state.get("show_deleted", False)
outcomes = dashboard.outcomes(location, include_deleted=show_deleted)

st.title("Outcomes")
st.caption("Each row is one experiment: a metric measured after training on a given human/synthetic mix.")
if outcomes.empty:
    st.info("No outcomes logged yet: use Evidence › Log outcomes.", icon=":material/info:")
    st.stop()

with st.container(border=True):
    first = st.columns(3)
    picked_tasks = first[0].multiselect("Tasks", sorted(outcomes["task_name"].unique()), placeholder="All tasks")
    datasets = dashboard.datasets(location)
    dataset_names = dict(zip(datasets["id"], datasets["name"], strict=True))
    picked_datasets = first[1].multiselect("Datasets used", list(dataset_names), format_func=dataset_names.get,
                                           placeholder="Any dataset")
    picked_regimes = first[2].multiselect("Regime", sorted(outcomes["regime"].unique()), placeholder="Any regime")
    second = st.columns(3)
    picked_people = second[0].multiselect("Logged by", sorted(outcomes["created_by"].unique()), placeholder="Anyone")
    earliest, latest = outcomes["created_at"].min().date(), outcomes["created_at"].max().date()
    dates = second[1].date_input("Logged between", value=(earliest, latest))
    second[2].toggle("Show deleted", key="show_deleted")

shown = filter_outcomes(outcomes, tasks=picked_tasks, datasets=picked_datasets, regimes=picked_regimes,
                                  people=picked_people,
                                  dates=dates if isinstance(dates, tuple) and len(dates) == 2 else None)

top = st.columns([1, 1, 2])
top[0].metric("Outcomes shown", f"{len(shown):,}")
top[1].metric("Tasks", shown["task_name"].nunique())
top[2].download_button("Download these rows (CSV)", export.to_csv(shown), file_name="outcomes.csv",
                       mime="text/csv", on_click="ignore", icon=":material/download:")

if len(picked_tasks) == 1 and not shown.empty:
    st.altair_chart(charts.outcomes_by_mix(shown, shown["metric"].iloc[0]), width="stretch")
elif not shown.empty:
    st.altair_chart(charts.outcomes_per_task(shown), width="stretch")
st.dataframe(
    shown[["task_name", "run_id", "n_human", "n_synthetic", "human_share", "regime", "metric", "value",
           "higher_is_better", "human_eval", "cost", "source", "deleted", "notes", "created_by", "created_at", "id"]],
    hide_index=True, width="stretch",
    column_config={
        "task_name": "Task",
        "human_share": st.column_config.NumberColumn("Human share", format="percent"),
        "value": st.column_config.NumberColumn("Value", format="%.4f"),
        "cost": st.column_config.NumberColumn("Cost (USD)", format="$%.2f"),
        "id": st.column_config.TextColumn("Outcome id"),
    },
)

st.subheader("Correct or delete an outcome")
st.caption("Deleting is soft: the row is kept, marked deleted and left out of fits. Every change is in the audit "
           "log and recomputes the task.")
if not dashboard.needs(Permission.LOG_OUTCOMES):
    st.stop()
live = shown[~shown["deleted"]]
if live.empty:
    st.info("No outcome to correct in this selection.")
    st.stop()
labels = {row.id: f"{row.task_name} · {row.run_id or 'no run id'} · {row.n_human:,} human + "
                  f"{row.n_synthetic:,} synthetic → {row.value:.4f}" for row in live.itertuples()}
chosen = st.selectbox("Outcome", list(labels), format_func=labels.get)
row = live[live["id"] == chosen].iloc[0]
with st.form("edit_outcome"):
    cols = st.columns(4)
    value = cols[0].number_input("Value", value=float(row["value"]), format="%.4f")
    n_human = cols[1].number_input("Human samples", value=int(row["n_human"]), min_value=0, step=100)
    n_synthetic = cols[2].number_input("Synthetic samples", value=int(row["n_synthetic"]), min_value=0, step=100)
    human_eval = cols[3].toggle("Evaluated on human data", value=bool(row["human_eval"]))
    notes = st.text_area("Notes", value=row["notes"] or "")
    save, remove = st.columns(2)
    saved = save.form_submit_button("Save correction", type="primary")
    removed = remove.form_submit_button("Delete this outcome", icon=":material/delete:")

try:
    changes = None
    if saved:
        changes = edit(dashboard.catalog(), chosen, {"value": value, "n_human": int(n_human),
                                                      "n_synthetic": int(n_synthetic), "human_eval": human_eval,
                                                      "notes": notes})
        st.success("Outcome corrected.", icon=":material/check:")
    elif removed:
        changes = delete(dashboard.catalog(), [chosen])
        st.success("Outcome deleted (kept, marked, left out of fits).", icon=":material/check:")
    if changes is not None:
        dashboard.clear_reads()
        st.dataframe(changes_table(changes), hide_index=True, width="stretch")
        st.caption(f"Done at {dt.datetime.now(dt.UTC):%H:%M:%S} UTC.")
except ImportRejected as error:
    st.error(str(error), icon=":material/error:")
