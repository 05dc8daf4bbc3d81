"""Log outcomes: one from a form or many from a file, then see what the evidence changed."""

import pandas as pd
import streamlit as st

import dashboard
from strategy.access import Permission
from strategy.errors import ImportRejected, StrategyError
from strategy.models import REGIMES
from strategy.outcomes import (
    COLUMNS,
    log_checked,
    read_outcome_file,
    template_csv,
    upload_limit_bytes,
    validate,
)

location = dashboard.catalog_location()
tasks = dashboard.tasks(location)

st.title("Log outcomes")
st.caption("An outcome is a metric measured after training on a given number of human and synthetic samples. "
           "Each one refits its task's learning curve and updates the recommendation.")
dashboard.stop_unless_tasks_and(tasks, Permission.LOG_OUTCOMES)


one, many = st.tabs(["One outcome", "From a file"])

with one:
    errors = st.session_state.setdefault("outcome_form_errors", {})
    ids = tasks["id"].tolist()
    names = dict(zip(tasks["id"], tasks["name"], strict=True))
    task_id = st.selectbox("Task", ids, format_func=names.get, key="outcome_task")
    task = tasks[tasks["id"] == task_id].iloc[0]
    datasets = dashboard.datasets(location)
    own_datasets = datasets[datasets["task_id"] == task_id]

    # Each field's message sits in a slot of its own, so a successful submission can clear the messages of
    # the previous attempt, already drawn above it in this run (issue 18 #3).
    error_slots = []

    def field_error(name: str) -> None:
        slot = st.empty()
        error_slots.append(slot)
        if name in errors:
            slot.markdown(f":red[{errors[name]}]")

    with st.form("outcome_form", clear_on_submit=False):
        counts = st.columns(3)
        with counts[0]:
            n_human = st.number_input("Human samples (n_human)", min_value=None, value=0, step=100)
            field_error("n_human")
        with counts[1]:
            n_synthetic = st.number_input("Synthetic samples (n_synthetic)", min_value=None, value=0, step=100)
            field_error("n_synthetic")
        with counts[2]:
            regime = st.selectbox("Regime", ["(from the counts)", *REGIMES])
            field_error("regime")
        measured = st.columns(3)
        with measured[0]:
            metric = st.text_input("Metric", value=task["metric"])
            field_error("metric")
        with measured[1]:
            value = st.number_input("Value", value=None, format="%.4f", placeholder="e.g. 0.83")
            field_error("value")
        with measured[2]:
            higher = st.toggle("Higher is better", value=bool(task["higher_is_better"]))
            field_error("higher_is_better")
        extra = st.columns(3)
        with extra[0]:
            human_eval = st.toggle("Evaluated on human data", value=True,
                                   help="Outcomes measured on synthetic data are kept but not fitted.")
        with extra[1]:
            cost = st.number_input("Cost (USD)", min_value=None, value=0.0, step=100.0)
            field_error("cost")
        with extra[2]:
            run_id = st.text_input("Run id", help="Logging the same run id twice adds it once.")
            field_error("run_id")
        used = st.multiselect("Datasets used", own_datasets["id"].tolist(),
                              format_func=dict(zip(own_datasets["id"], own_datasets["name"], strict=True)).get)
        notes = st.text_area("Notes")
        field_error("notes")
        submitted = st.form_submit_button("Log outcome", type="primary")

    if submitted:
        row = {"task": task_id, "n_human": n_human, "n_synthetic": n_synthetic, "metric": metric,
               "value": "" if value is None else value, "higher_is_better": str(higher).lower(),
               "regime": "" if regime.startswith("(") else regime, "human_eval": str(human_eval).lower(),
               "cost": cost, "run_id": run_id, "notes": notes, "dataset_ids": ",".join(used)}
        checked = validate(dashboard.catalog(), pd.DataFrame([row], columns=COLUMNS).astype(str), "form")
        if checked.problems:
            st.session_state["outcome_form_errors"] = {p.field: p.reason for p in checked.problems}
            st.rerun()
        errors.clear()
        for slot in error_slots:
            slot.empty()
        if checked.count == 0:
            st.info("This run is already logged; nothing was added.", icon=":material/info:")
        else:
            logged = log_checked(dashboard.catalog(), checked, label="form")
            dashboard.clear_reads()
            st.success("Outcome logged.", icon=":material/check:")
            dashboard.show_changes(logged.changes)
    if errors:
        st.error("Fix the fields marked in red; nothing was saved.", icon=":material/error:")

with many:
    try:
        limit_mb = f"{upload_limit_bytes() / 1024 ** 2:,.0f} MB"
    except StrategyError as error:  # a bad STRATEGY_MAX_UPLOAD_MB: say which, never a traceback
        st.error(str(error), icon=":material/error:")
        st.stop()
    st.markdown(f"CSV, Parquet or JSON lines, up to {limit_mb}. Columns: "
                f"`{'`, `'.join(COLUMNS)}`; only the first five are required. `task` is a task's id or name.")
    st.download_button("Download the template (CSV)", template_csv(), file_name="outcomes_template.csv",
                       mime="text/csv", on_click="ignore", icon=":material/download:")
    upload = st.file_uploader("Outcome file", type=["csv", "parquet", "jsonl", "json", "ndjson"])
    if upload is not None:
        try:
            label, table = read_outcome_file(upload, label=upload.name, size=upload.size)
            checked = validate(dashboard.catalog(), table, label)
        except ImportRejected as error:
            checked, table = None, None
            st.error(str(error), icon=":material/error:")
        if checked is not None:
            st.markdown(f"**Preview** — {table.num_rows:,} rows in {dashboard.literal(label)}")
            st.dataframe(table.slice(0, 20).to_pandas(), hide_index=True, width="stretch")
            if checked.problems:
                st.error(f"Nothing can be imported: {len(checked.problems)} problem(s). Fix the file and upload it "
                         "again.", icon=":material/error:")
                st.dataframe(pd.DataFrame([{"row": p.row, "field": p.field, "reason": p.reason}
                                           for p in checked.problems]), hide_index=True, width="stretch")
            else:
                repeated = (f", {checked.duplicates:,} repeated in the file (written once)"
                            if checked.duplicates else "")
                st.success(f"All {table.num_rows:,} rows are valid: {checked.count:,} new, {checked.skipped:,} "
                           f"already logged (they will be skipped){repeated}.", icon=":material/task_alt:")
                if st.button(f"Import {checked.count:,} outcomes", type="primary", disabled=checked.count == 0):
                    with st.spinner("Importing, then recomputing the affected tasks…"):
                        logged = log_checked(dashboard.catalog(), checked, label=label)
                    dashboard.clear_reads()
                    st.success(f"Imported {logged.written:,} outcomes; skipped {checked.skipped:,} already logged.",
                               icon=":material/check:")
                    dashboard.show_changes(logged.changes)
