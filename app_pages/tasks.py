"""Catalog › Tasks: create, edit and archive tasks; every change recomputes the task's recommendation."""

import streamlit as st
from pydantic import ValidationError

import dashboard
from strategy.access import Permission
from strategy.errors import ImportRejected, StrategyError
from strategy.models import FACTORS, MODALITIES, Task, describe_errors
from strategy.tasks import save_task_and_recommend

location = dashboard.catalog_location()
tasks = dashboard.tasks(location, include_archived=True)
errors = st.session_state.setdefault("task_form_errors", {})

st.title("Tasks")
st.caption("A task's profile drives the rules; its budget is what the portfolio plans with.")

saved = st.session_state.pop("task_saved", None)
if saved:
    st.success(saved, icon=":material/check:")

NEW = "+ New task"
choices = [NEW, *tasks["id"].tolist()]
names = dict(zip(tasks["id"], tasks["name"] + tasks["status"].map({"archived": " (archived)", "active": ""}),
                 strict=True))
dashboard.from_url("task_edit_pick", st.query_params.get("task"), lambda v: v if v in choices else NEW)
chosen = st.selectbox("Task to edit", choices, key="task_edit_pick",
                      format_func=lambda value: value if value == NEW else names[value])
dashboard.to_url("task_edit_pick", "task", None if chosen == NEW else chosen)
existing = None if chosen == NEW else tasks[tasks["id"] == chosen].iloc[0]


def field_error(name: str) -> None:
    """The validation message for a field, shown right under it."""
    if name in errors:
        st.markdown(f":red[{errors[name]}]")


def default(name, fallback):
    if existing is None:
        return fallback
    value = existing[name]
    return fallback if value is None or value != value else value


if not dashboard.needs(Permission.EDIT_TASKS):
    st.stop()
with st.form("task_form"):
    top = st.columns(3)
    with top[0]:
        name = st.text_input("Name", value=default("name", ""), max_chars=200)
        field_error("name")
    with top[1]:
        domain = st.text_input("Domain", value=default("domain", ""), max_chars=200)
        field_error("domain")
    with top[2]:
        modality = st.selectbox("Modality", MODALITIES, index=MODALITIES.index(default("modality", "text")))
        field_error("modality")
    middle = st.columns(3)
    with middle[0]:
        metric = st.text_input("Metric", value=default("metric", ""), help="e.g. accuracy, AUROC, word error rate")
        field_error("metric")
    with middle[1]:
        higher_is_better = st.toggle("Higher is better", value=bool(default("higher_is_better", True)))
    with middle[2]:
        budget = st.number_input("Budget (USD)", value=float(default("budget", 10000.0)), step=1000.0,
                                 help="Total, the human evaluation set included.")
        field_error("budget")
    description = st.text_area("Description", value=default("description", ""))
    st.markdown("**Profile** (0–4; hover a factor for what 0 and 4 mean)")
    scores = {}
    for index, column in enumerate(st.columns(2)):
        with column:
            for factor in [f for f in FACTORS if (f.leans == "human") == (index == 0)]:
                scores[factor.name] = st.slider(f"{factor.label} (→ {factor.leans})", 0, 4,
                                                int(default(factor.name, 0)), help=factor.help)
                field_error(factor.name)
    opt_out = st.text_input("Opt out of the collapse guard (reason)", value=default("collapse_guard_opt_out", ""),
                            help="Leave empty to keep fresh human data and a human evaluation set (recommended).")
    submitted = st.form_submit_button("Save task" if existing is not None else "Create task", type="primary")

if submitted:
    values = dict(name=name, domain=domain, modality=modality, metric=metric, higher_is_better=higher_is_better,
                  budget=budget, description=description, collapse_guard_opt_out=opt_out, **scores)
    if existing is not None:
        values["id"] = existing["id"]
    try:
        task = Task(**values)
    except ValidationError as error:
        st.session_state["task_form_errors"] = dict(describe_errors(error))
        st.rerun()
    try:
        recommendation = save_task_and_recommend(dashboard.catalog(), task, create=existing is None)
    except (ImportRejected, StrategyError) as error:
        problems = getattr(error, "problems", [])
        st.session_state["task_form_errors"] = {p.field: p.reason for p in problems} or {"budget": str(error)}
        st.rerun()
    errors.clear()
    dashboard.clear_reads()
    st.session_state["task_saved"] = (f"Saved {task.name!r}: recommended {recommendation.sourcing} "
                                      f"({recommendation.human_share_spend:.0%} of spend on human data).")
    st.query_params["task"] = task.id  # the picker follows the URL on the next run
    st.rerun()

if errors:
    st.error("Fix the fields marked in red; nothing was saved.", icon=":material/error:")

if existing is not None:
    archived = existing["status"] == "archived"
    if st.button("Restore task" if archived else "Archive task", icon=":material/archive:"):
        dashboard.catalog().set_task_status(existing["id"], "active" if archived else "archived")
        dashboard.clear_reads()
        st.rerun()
