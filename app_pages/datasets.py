"""Catalog › Datasets: the human and synthetic data the team owns or can buy, with costs and sources."""

import streamlit as st
from pydantic import ValidationError

import dashboard
from strategy import charts
from strategy.access import Permission
from strategy.datasets import save_dataset
from strategy.errors import StrategyError
from strategy.locations import LocationRefused
from strategy.models import MODALITIES, SOURCE_KINDS, describe_errors

location = dashboard.catalog_location()
datasets = dashboard.datasets(location)
tasks = dashboard.tasks(location)

st.title("Datasets")
st.caption("A task's registered dataset prices are the per-sample costs its recommendation plans with.")

if not datasets.empty:
    kinds = st.multiselect("Source", ["human", "synthetic", "mixed"], placeholder="All sources")
    shown = datasets[datasets["source_kind"].isin(kinds)] if kinds else datasets
    st.altair_chart(charts.dataset_costs(shown), width="stretch")
    st.dataframe(
        shown[["name", "task_name", "source_kind", "modality", "samples", "cost_per_sample", "provenance",
               "licence", "cost_source", "location"]],
        hide_index=True, width="stretch",
        column_config={
            "name": "Dataset", "task_name": "Task", "source_kind": "Source",
            "samples": st.column_config.NumberColumn("Samples", format="localized"),
            "cost_per_sample": st.column_config.NumberColumn("USD per sample", format="$%.4f"),
            "cost_source": "Where the cost comes from",
            "location": "Sample of its rows",
        },
    )
else:
    st.info("No datasets registered yet.", icon=":material/info:")

st.subheader("Register or edit a dataset")
NEW = "+ New dataset"
choices = [NEW, *datasets["id"].tolist()]
labels = dict(zip(datasets["id"], datasets["name"], strict=True))
chosen = st.selectbox("Dataset", choices, format_func=lambda v: v if v == NEW else labels[v])
existing = None if chosen == NEW else datasets[datasets["id"] == chosen].iloc[0].to_dict()
task_ids = [None, *tasks["id"].tolist()]
task_names = dict(zip(tasks["id"], tasks["name"], strict=True))


def value(name, fallback):
    if existing is None or existing.get(name) is None or existing.get(name) != existing.get(name):
        return fallback
    return existing[name]


if not dashboard.needs(Permission.EDIT_DATASETS):
    st.stop()
with st.form("dataset_form"):
    first = st.columns(3)
    name = first[0].text_input("Name", value=value("name", ""))
    task_id = first[1].selectbox("Task", task_ids, index=task_ids.index(value("task_id", None))
                                 if value("task_id", None) in task_ids else 0,
                                 format_func=lambda v: "— none —" if v is None else task_names[v])
    source_kind = first[2].selectbox("Source", SOURCE_KINDS, index=SOURCE_KINDS.index(value("source_kind", "human")))
    second = st.columns(3)
    modality = second[0].selectbox("Modality", MODALITIES, index=MODALITIES.index(value("modality", "text")))
    samples = second[1].number_input("Samples", min_value=0, value=int(value("samples", 0)), step=100)
    cost = second[2].number_input("Cost per sample (USD)", min_value=0.0, value=float(value("cost_per_sample", 0.0)),
                                  format="%.4f")
    provenance = st.text_area("Provenance", value=value("provenance", ""))
    third = st.columns(3)
    licence = third[0].text_input("Licence", value=value("licence", ""))
    cost_source = third[1].text_input("Where the cost comes from", value=value("cost_source", ""))
    sample_location = third[2].text_input(
        "Sample of its rows (file path)", value=value("location", ""),
        help="A CSV, Parquet, JSON-lines or .txt file holding rows of this dataset, inside a folder the app may "
             "read (data/ unless an admin sets STRATEGY_SAMPLE_ROOTS): the Data quality page assesses it from there.")
    submitted = st.form_submit_button("Save dataset" if existing else "Register dataset", type="primary")

if submitted:
    fields = dict(name=name, task_id=task_id, source_kind=source_kind, modality=modality, samples=samples,
                  cost_per_sample=cost, provenance=provenance, licence=licence, cost_source=cost_source,
                  location=sample_location.strip())
    try:
        saved = save_dataset(dashboard.catalog(), fields, dataset_id=None if existing is None else existing["id"])
    except ValidationError as error:
        for field, reason in describe_errors(error):
            st.error(f"{field}: {reason}", icon=":material/error:")
    except LocationRefused as error:
        st.error(dashboard.literal(error), icon=":material/error:")
    except StrategyError as error:  # a clash (an unknown task, a dataset removed meanwhile): nothing was written
        st.error(str(error), icon=":material/error:")
    else:
        dashboard.clear_reads()
        recomputed = [change.task_name for change in saved.changes]
        plan = "plans" if len(recomputed) == 1 else "plan"
        reach = (f" {dashboard.literal(' and '.join(recomputed))} now {plan} with its price, recomputed just now."
                 if recomputed else "")
        st.success(f"Saved '{dashboard.literal(name)}'.{reach}", icon=":material/check:")
        dashboard.show_changes(saved.changes, "What the new price changed")
