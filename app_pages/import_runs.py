"""Import runs: outcomes from MLflow, W&B, DVC or a run table, previewed with the mapping applied, then written all
or nothing."""

import streamlit as st

import dashboard
from strategy.access import Permission
from strategy.errors import ImportRejected, StrategyError
from strategy.imports import KINDS, import_runs, mapping_for, offered_keys, preview_runs, read_uploaded_runs
from strategy.trackers import RunMapping
from strategy.trackers.runs import STEP_CHOICES, tags_as_text, tags_from_text

SOURCES = {"mlflow": "MLflow tracking store", "wandb": "Weights & Biases (offline runs archive or runs CSV)",
           "dvc": "DVC (dvc exp show --json)", "table": "Run table (CSV, Parquet, JSON lines)"}
UPLOAD_TYPES = {"wandb": ["zip", "tgz", "gz", "tar", "csv"], "dvc": ["json"],
                "table": ["csv", "parquet", "jsonl", "ndjson", "json"]}
FROM_RUN, TASK_METRIC = "(each run's own key)", "(the task's metric)"

location = dashboard.catalog_location()
tasks = dashboard.tasks(location)

st.title("Import runs")
st.caption("Bring in outcomes from where your training runs are already logged. A run's id becomes the outcome's "
           "run id, so importing again adds only new runs; a run whose values changed since it was logged is "
           "shown, never written over.")
dashboard.stop_unless_tasks_and(tasks, Permission.LOG_OUTCOMES)

source = st.segmented_control("Source", list(SOURCES), format_func=SOURCES.get, default="mlflow",
                              key="import_source") or "mlflow"
state = st.session_state.setdefault("import_runs", {})

if source == "mlflow":
    with st.form("mlflow_source"):
        left, right = st.columns([3, 2])
        uri = left.text_input("Tracking URI", placeholder="http://mlflow.internal:5000 or sqlite:///data/mlflow.db",
                              help="A tracking server, or a local store inside the folders the app may read.")
        experiment = right.text_input("Experiment", placeholder="name or id")
        read = st.form_submit_button("Read runs", type="primary", icon=":material/cloud_download:")
    if read:
        from strategy.trackers.mlflow_runs import check_store_allowed, read_mlflow_runs
        try:
            if not uri.strip() or not experiment.strip():
                raise StrategyError("Give the tracking URI and the experiment.")
            check_store_allowed(uri)
            with st.spinner("Reading runs through MLflow's client…"):
                # Every metric's history, so the mapping's step can change without reading again.
                runs = read_mlflow_runs(uri.strip(), experiment.strip(), RunMapping(step="best"))
            state.update(source="mlflow", name=experiment.strip(), runs=runs,
                         label=f"mlflow experiment {experiment.strip()!r}")
        except StrategyError as error:
            state.clear()
            st.error(dashboard.literal(str(error)), icon=":material/error:")
        except Exception as error:  # a tracker's own failure we have not met yet: said in words, not a traceback
            state.clear()
            st.error(dashboard.literal(f"MLflow could not be read at {uri.strip()!r}: {type(error).__name__}: "
                                       f"{str(error).splitlines()[0] if str(error) else ''}"),
                     icon=":material/error:")
else:
    upload = st.file_uploader(f"{SOURCES[source]} file", type=UPLOAD_TYPES[source], key=f"import_file_{source}")
    if upload is not None and state.get("upload") != (source, upload.file_id):
        try:
            label, runs = read_uploaded_runs(source, upload.getvalue(), upload.name)
            state.update(source=source, name="", runs=runs, label=label, upload=(source, upload.file_id))
        except StrategyError as error:
            state.clear()
            st.error(dashboard.literal(str(error)), icon=":material/error:")

runs = state.get("runs") if state.get("source") == source else None
if not runs:
    if runs is not None:
        st.warning("The source holds no runs.", icon=":material/warning:")
    st.stop()

catalog = dashboard.catalog()
saved = mapping_for(catalog, source, state["name"])
keys = offered_keys(runs)
st.subheader("Mapping")
st.caption(f"{len(runs):,} runs read from {dashboard.literal(state['label'])}. Choose which key gives each "
           "field; the default needs none: parameters n_human, n_synthetic and task, and the task's metric.")


def key_choice(label: str, current: str, choices: list[str], *, first: str | None = None, widget: str) -> str:
    options = ([first] if first else []) + sorted(set(choices) | ({current} if current else set()))
    index = options.index(current) if current in options else 0
    chosen = st.selectbox(label, options, index=index, key=widget)
    return "" if chosen == first else chosen


names = dict(zip(tasks["id"], tasks["name"], strict=True))
plain = keys["params"] + keys["tags"]
left, middle, right = st.columns(3)
with left:
    fixed = st.selectbox("Task", [FROM_RUN, *tasks["id"]], format_func=lambda t: names.get(t, t),
                         index=([FROM_RUN, *tasks["id"]].index(saved.task) if saved.task in names else 0),
                         key=f"map_task_{source}")
    task_key = key_choice("Task key", saved.task_key, plain, widget=f"map_task_key_{source}")
with middle:
    n_human_key = key_choice("Human samples (n_human)", saved.n_human_key, plain + keys["metrics"],
                             widget=f"map_human_{source}")
    n_synthetic_key = key_choice("Synthetic samples (n_synthetic)", saved.n_synthetic_key, plain + keys["metrics"],
                                 widget=f"map_synthetic_{source}")
with right:
    metric_key = key_choice("Metric", saved.metric_key, keys["metrics"] + plain, first=TASK_METRIC,
                            widget=f"map_metric_{source}")
    step = st.selectbox("Value of a metric logged per step", STEP_CHOICES, index=STEP_CHOICES.index(saved.step),
                        format_func={"last": "last logged", "best": "best", "step": "at a step"}.get,
                        key=f"map_step_{source}")
    at_step = (st.number_input("Step", min_value=0, value=saved.at_step or 0, key=f"map_at_step_{source}")
               if step == "step" else None)
seen_states = sorted({run.state for run in runs} | set(saved.states))
states = st.multiselect("Runs in these states", seen_states, default=list(saved.states), key=f"map_states_{source}")
NONE, DIRECTIONS = "(none)", {"task": "the task's direction", "higher": "higher is better", "lower": "lower is better"}
with st.expander("More of the mapping: a share and a total instead of counts, cost, direction, tags",
                 expanded=bool(saved.share_key or saved.cost_key or saved.tags or saved.higher_is_better is not None)):
    share_key = key_choice("Human share (0–1), instead of the counts", saved.share_key, plain + keys["metrics"],
                           first=NONE, widget=f"map_share_{source}")
    total_key = (key_choice("Total samples", saved.total_key, plain + keys["metrics"], first=NONE,
                            widget=f"map_total_{source}") if share_key else "")
    cost_key = key_choice("Cost (USD)", saved.cost_key, plain + keys["metrics"], first=NONE, widget=f"map_cost_{source}")
    saved_direction = "task" if saved.higher_is_better is None else "higher" if saved.higher_is_better else "lower"
    direction = st.selectbox("Direction of the metric", list(DIRECTIONS), format_func=DIRECTIONS.get,
                             index=list(DIRECTIONS).index(saved_direction), key=f"map_direction_{source}")
    tag_text = st.text_input("Only runs with these tags", value=tags_as_text(saved.tags), key=f"map_tags_{source}",
        help="Comma-separated: stage=final takes runs whose tag stage is final; a name alone takes any value.")
try:
    mapping = RunMapping(**{**saved.model_dump(), "task": "" if fixed == FROM_RUN else fixed, "task_key": task_key,
                            "n_human_key": n_human_key, "n_synthetic_key": n_synthetic_key,
                            "metric_key": metric_key, "step": step, "at_step": at_step, "states": tuple(states),
                            "share_key": share_key, "total_key": total_key, "cost_key": cost_key,
                            "higher_is_better": None if direction == "task" else direction == "higher",
                            "tags": tags_from_text(tag_text)})
except ValueError as error:
    st.error(dashboard.literal(str(error)), icon=":material/error:")
    st.stop()

preview = preview_runs(catalog, runs, mapping, source=source, label=state["label"])
st.subheader("Preview")
counts = preview.counts
for column, kind in zip(st.columns(len(KINDS)), KINDS, strict=True):
    column.metric({"import": "To import", "skip": "Already logged", "changed": "Changed since logged",
                   "refused": "Refused", "left out": "Left out by filters"}[kind], f"{counts[kind]:,}")
st.dataframe(preview.runs, hide_index=True, width="stretch",
             column_config={"value": st.column_config.TextColumn("value"), "reason": st.column_config.TextColumn(
                 "reason", width="large")})
if preview.refused:
    st.error(f"Nothing can be imported while {counts['refused']:,} run(s) are refused: fix them in the tracker or "
             "change the mapping.", icon=":material/error:")

save, write = st.columns(2)
if save.button("Save this mapping", icon=":material/save:",
               help="Use it the next time runs come from this source" + (f" ({state['name']})" if state["name"] else "")):
    catalog.save_run_mapping(source, state["name"], mapping)
    dashboard.clear_reads()
    st.success(f"Mapping saved: {dashboard.literal(mapping.described())}.", icon=":material/check:")
if write.button(f"Import {counts['import']:,} {'run' if counts['import'] == 1 else 'runs'}", type="primary",
                icon=":material/upload:",
                disabled=bool(preview.refused) or counts["import"] == 0):
    try:
        with st.spinner("Importing, then recomputing the affected tasks…"):
            result = import_runs(catalog, preview)
    except ImportRejected as error:
        st.error(dashboard.literal(str(error)), icon=":material/error:")
    else:
        dashboard.clear_reads()
        written = result.logged.written
        st.success(f"Imported {written:,} {'run' if written == 1 else 'runs'}; {counts['skip']:,} were already "
                   "logged.", icon=":material/check:")
        dashboard.show_changes(result.logged.changes)
