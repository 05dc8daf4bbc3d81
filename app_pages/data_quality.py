"""Data quality: how human-like a synthetic dataset is, read against what human data scores against itself."""

import pandas as pd
import streamlit as st

import dashboard
from strategy import charts
from strategy.access import Permission
from strategy.assessments import save_assessment, save_ranking
from strategy.errors import StrategyError
from strategy.quality import present
from strategy.quality.columns import Sample, likely_text_column, plan_columns, text_columns
from strategy.quality.metrics import SAMPLE_ROWS
from strategy.quality.ranking import assess_candidates, rank
from strategy.quality.report import (
    Assessment,
    assess,
    assessable,
    distribution,
    is_numeric_column,
    subsample_sentence,
)
from strategy.quality.subsample import MAX_DRIFT_DRAWS, MAX_SAMPLE_ROWS, MIN_SAMPLE_ROWS, draw_count


def table(frame: pd.DataFrame) -> None:
    """A display frame from strategy.quality.present, its numbers formatted by their headings."""
    st.dataframe(frame, hide_index=True, width="stretch",
                 column_config={column: st.column_config.NumberColumn(format=fmt, help=present.HELP.get(column))
                                for column, fmt in present.number_formats(frame).items()})


location = dashboard.catalog_location()
datasets = dashboard.datasets(location)

st.title("Data quality")
st.caption("Compare a synthetic sample with a human reference sample. Every score (0–100, higher is more human-like) "
           "is shown beside the same score for two halves of the human sample, so a score is read against what "
           "human data achieves against itself at this size.")

synthetic_ids, human_ids = assessable(datasets)
names = dict(zip(datasets["id"], datasets["name"], strict=True))
RANK_MODE = "Rank several synthetic samples"
mode = st.radio("Assess", ["One synthetic sample", RANK_MODE], horizontal=True, key="dq_mode",
                help="Ranking assesses several synthetic samples (vendors, generator versions, prompts) against the "
                     "same human sample, on the same columns, and orders them by humanness and privacy risk.")


def stored_reports() -> None:
    st.subheader("Stored reports")
    history = dashboard.quality_history(location)
    if history.empty:
        st.caption("No report stored yet.")
    else:
        st.altair_chart(charts.humanness_trend(history), width="stretch")
        table(present.history_frame(history))


def ranking_mode() -> None:
    """Several synthetic samples ranked against one human sample; catalog datasets can be stored, one chosen."""
    st.subheader("1. Samples")
    source = st.radio("Where are the samples?", ["Upload files", "Catalog datasets"], horizontal=True,
                      key="dq_rank_source", index=1 if len(synthetic_ids) > 1 and human_ids else 0)
    candidates, dataset_of = [], {}
    if source == "Catalog datasets":
        if len(synthetic_ids) < 2 or not human_ids:
            st.info("Ranking catalog datasets needs two or more synthetic datasets and a human one with a location. "
                    "Set locations in Catalog › Datasets, or upload files.", icon=":material/info:")
            return
        left, middle, right = st.columns(3)
        chosen_ids = left.multiselect("Synthetic datasets to rank", synthetic_ids, format_func=names.get,
                                      key="dq_rank_synthetic", placeholder="Choose two or more")
        human_id = middle.selectbox("Human reference", human_ids, format_func=names.get, key="dq_rank_human")
        holdout_id = right.selectbox("Human holdout (optional)", [None] + [i for i in human_ids if i != human_id],
                                     format_func=lambda i: "none" if i is None else names[i],
                                     key=f"dq_rank_holdout_{human_id}")
        try:
            human = dashboard.dataset_sample(location, human_id)
            holdout = dashboard.dataset_sample(location, holdout_id) if holdout_id else None
            for dataset_id in chosen_ids:
                label = names[dataset_id] if list(names.values()).count(names[dataset_id]) == 1 else \
                    f"{names[dataset_id]} ({dataset_id[:8]})"
                candidates.append(Sample(label, dashboard.dataset_sample(location, dataset_id).frame))
                dataset_of[label] = dataset_id
        except StrategyError as error:
            st.error(dashboard.literal(error), icon=":material/error:")
            return
        subject = ("catalog", human_id, holdout_id, *chosen_ids)
    else:
        kinds = ["csv", "parquet", "jsonl", "json", "txt"]
        left, middle, right = st.columns(3)
        human_file = left.file_uploader("Human sample", type=kinds, key="dq_rank_human_file")
        synthetic_files = middle.file_uploader("Synthetic samples (two or more)", type=kinds,
                                               accept_multiple_files=True, key="dq_rank_synthetic_files")
        holdout_file = right.file_uploader("Human holdout (optional)", type=kinds, key="dq_rank_holdout_file")
        try:
            human = dashboard.uploaded_sample(human_file.getvalue(), human_file.name) if human_file else None
            holdout = dashboard.uploaded_sample(holdout_file.getvalue(), holdout_file.name) if holdout_file else None
            candidates = [dashboard.uploaded_sample(f.getvalue(), f.name) for f in synthetic_files or []]
        except StrategyError as error:
            st.error(str(error), icon=":material/error:")
            return
        subject = ("upload", *(f.file_id for f in [human_file, holdout_file, *(synthetic_files or [])] if f))
        if human is None:
            st.info("Upload a human sample and two or more synthetic ones.", icon=":material/upload_file:")
            return
    allowed = dashboard.needs(Permission.ASSESS_DATASETS)
    if st.button("Rank the samples", type="primary", icon=":material/leaderboard:",
                 disabled=len(candidates) < 2 or not allowed):
        bar = st.progress(0.0, text="Starting…")
        try:
            ranked = assess_candidates(human, candidates, holdout, progress=lambda fraction, message: bar.progress(
                min(fraction, 1.0), text=dashboard.literal(message)))
        except StrategyError as error:
            st.error(str(error), icon=":material/error:")
            return
        finally:
            bar.empty()
        st.session_state["dq_ranking"] = [(r.label, r.assessment.to_json()) for r in ranked]
        st.session_state["dq_ranking_for"] = subject
    if not st.session_state.get("dq_ranking") or st.session_state.get("dq_ranking_for") != subject:
        return
    ranked = rank({label: Assessment.from_json(text) for label, text in st.session_state["dq_ranking"]})
    st.subheader("2. Ranking")
    st.markdown(dashboard.literal(present.ranking_sentence(ranked)))
    frame = present.ranking_frame(ranked)
    st.altair_chart(charts.generator_ranking(frame), width="stretch")
    table(frame)
    st.caption("Order: samples that cross no privacy threshold first, then by humanness. Privacy risk: 0 is what "
               "no memorisation gives, 1 is a threshold reached. Open one sample in “One synthetic sample” for "
               "its full report.")
    for item in ranked:
        for flag in item.assessment.data["privacy"].get("flags", []):
            st.warning(f"{dashboard.literal(item.label)}: {dashboard.literal(flag)}", icon=":material/privacy_tip:")
    st.subheader("3. Save")
    if not dataset_of:
        st.caption("Saving a ranking stores each report against its catalog dataset: rank catalog datasets to save.")
        return
    if not dashboard.can(Permission.ASSESS_DATASETS):
        st.caption("Saving reports takes the researcher role.")
        return
    with st.form("dq_rank_save"):
        labels = [r.label for r in ranked]
        use = st.selectbox("The decision uses", labels, index=0, format_func=dashboard.literal,
                           help="Every report is stored; the task's decision reads the chosen sample's humanness.")
        saved = st.form_submit_button("Save the ranked reports", type="primary", icon=":material/save:")
    if saved:
        try:
            records = save_ranking(dashboard.catalog(), ranked, dataset_of, chosen=use, reference_dataset_id=human_id)
        except StrategyError as error:
            st.error(str(error), icon=":material/error:")
        else:
            dashboard.clear_reads()
            st.success(f"Saved {len(records)} reports; the decision uses {dashboard.literal(use)} "
                       f"(humanness {next(r for r in ranked if r.label == use).humanness:.1f}).",
                       icon=":material/check_circle:")


if mode == RANK_MODE:
    ranking_mode()
    stored_reports()
    st.stop()

# ---------------------------------------------------------------- 1. the samples
st.subheader("1. Samples")
choice = st.radio("Where are the samples?", ["Upload files", "Catalog datasets"], horizontal=True,
                  key="dq_source", index=1 if synthetic_ids and human_ids else 0)
samples = {}
if choice == "Catalog datasets":
    if not synthetic_ids or not human_ids:
        st.info("Assessing catalog datasets needs a synthetic and a human dataset with a location (where a sample "
                "of their rows lives). Set one in Catalog › Datasets, or upload files.", icon=":material/info:")
        st.stop()
    left, middle, right = st.columns(3)
    # Another synthetic dataset brings its own task's human references first, in a widget of its own (keyed
    # by the synthetic dataset): dropping the old choice from the session state was not enough in a browser,
    # whose widget kept showing and sending the previous task's reference (issue 18 #1).
    synthetic_id = left.selectbox("Synthetic dataset", synthetic_ids, format_func=names.get, key="dq_synthetic_ds")
    human_id = middle.selectbox("Human reference", assessable(datasets, synthetic_id)[1], format_func=names.get,
                                key=f"dq_human_ds_{synthetic_id}")
    holdout_id = right.selectbox("Human holdout (optional)", [None] + [i for i in human_ids if i != human_id],
                                 format_func=lambda i: "none" if i is None else names[i],
                                 key=f"dq_holdout_ds_{human_id}")
    try:
        samples["human"] = dashboard.dataset_sample(location, human_id) if human_id else None
        samples["synthetic"] = dashboard.dataset_sample(location, synthetic_id) if synthetic_id else None
        samples["holdout"] = dashboard.dataset_sample(location, holdout_id) if holdout_id else None
    except StrategyError as error:  # a location outside the allowed folders, or a file that is not a sample
        st.error(dashboard.literal(error), icon=":material/error:")
        st.stop()
    default_link, default_reference = synthetic_id, human_id
    # A report belongs to exactly these datasets (labels alone would let two same-named ones share it).
    subject = ("catalog", human_id, synthetic_id, holdout_id)
else:
    kinds = ["csv", "parquet", "jsonl", "json", "txt"]
    left, middle, right = st.columns(3)
    uploads = {
        "human": left.file_uploader("Human sample", type=kinds, key="dq_human_file"),
        "synthetic": middle.file_uploader("Synthetic sample", type=kinds, key="dq_synthetic_file"),
        "holdout": right.file_uploader("Human holdout (optional)", type=kinds, key="dq_holdout_file",
                                       help="Human rows the generator never saw; enables the memorisation check."),
    }
    try:
        for role, upload in uploads.items():
            samples[role] = dashboard.uploaded_sample(upload.getvalue(), upload.name) if upload else None
    except StrategyError as error:
        st.error(str(error), icon=":material/error:")
        st.stop()
    default_link, default_reference = None, None
    subject = ("upload", *(upload.file_id if upload else None for upload in uploads.values()))
    if samples["human"] is None or samples["synthetic"] is None:
        st.info("Upload a human and a synthetic sample: CSV, Parquet, JSON lines, or .txt with one text per line.",
                icon=":material/upload_file:")

human, synthetic, holdout = samples.get("human"), samples.get("synthetic"), samples.get("holdout")

# ---------------------------------------------------------------- 2. column roles and run
if human is not None and synthetic is not None:
    st.subheader("2. Columns")
    shared = [c for c in human.frame.columns if c in set(synthetic.frame.columns)]
    if not shared:
        try:
            plan_columns(human, synthetic)
        except StrategyError as error:
            st.error(str(error), icon=":material/error:")
        st.stop()
    st.caption(f"{dashboard.literal(human.label)}: {len(human.frame):,} rows · {dashboard.literal(synthetic.label)}: "
               f"{len(synthetic.frame):,} rows"
               + (f" · holdout {dashboard.literal(holdout.label)}: {len(holdout.frame):,} rows" if holdout is not None
                  else "")
               + f" · {len(shared)} shared columns")
    texty = [c for c in text_columns(human.frame) if c in shared]
    suggested = likely_text_column(human.frame)
    left, middle, right = st.columns([3, 1, 1])
    compared = left.multiselect("Columns to compare", shared, default=shared, key=f"dq_columns_{human.label}",
                                help="Identifiers and free text are skipped automatically unless chosen as text.")
    text_column = middle.selectbox("Text column", [None] + texty, key=f"dq_text_{human.label}",
                                   index=0 if suggested is None else 1 + texty.index(suggested),
                                   format_func=lambda c: "none" if c is None else c)
    segment_column = right.selectbox("Segment by", [None] + [c for c in compared if c != text_column],
                                     key=f"dq_segment_{human.label}", format_func=lambda c: "none" if c is None else c,
                                     help="Also score within each value of this column.")
    with st.expander("Subsample (large samples)"):
        left, right = st.columns(2)
        sample_rows = left.number_input("Rows per side for detection and k-NN", min_value=MIN_SAMPLE_ROWS,
                                        max_value=MAX_SAMPLE_ROWS, value=SAMPLE_ROWS, step=1_000, key="dq_sample_rows",
                                        help="More rows: a steadier score, a slower report.")
        drift_draws = right.number_input("Subsamples scored for the drift", min_value=1, max_value=MAX_DRIFT_DRAWS,
                                         value=draw_count(None, max(len(human.frame), len(synthetic.frame))),
                                         key="dq_drift_draws",
                                         help="The drift is how far the score moves between subsamples; 1 skips it.")
    allowed = dashboard.needs(Permission.ASSESS_DATASETS)
    if st.button("Run the assessment", type="primary", icon=":material/play_arrow:",
                 disabled=not compared or not allowed):
        bar = st.progress(0.0, text="Starting…")
        try:
            found = assess(human, synthetic, holdout, columns=compared, text_column=text_column,
                           segment_column=segment_column, sample_rows=int(sample_rows), drift_draws=int(drift_draws),
                           progress=lambda fraction, message: bar.progress(min(fraction, 1.0), text=message))
        except StrategyError as error:
            bar.empty()
            st.error(str(error), icon=":material/error:")
        else:
            bar.empty()
            st.session_state["dq_report"] = found.to_json()
            st.session_state["dq_report_for"] = subject

# ---------------------------------------------------------------- 3. the report
stored_json = st.session_state.get("dq_report")
if stored_json and human is not None and synthetic is not None \
        and st.session_state.get("dq_report_for") == subject:
    report = Assessment.from_json(stored_json)
    st.subheader("3. Report")
    floor = report.floor
    cards = st.columns(3)
    cards[0].metric("Humanness", "–" if report.humanness is None else f"{report.humanness:.1f} / 100",
                    delta=None if floor is None or report.humanness is None else f"{report.humanness - floor:+.1f} "
                                                                                  "vs human data",
                    help="Weighted score of the metrics below; the delta is the gap to the noise floor.")
    cards[1].metric("Grade", report.grade, help="A: within 2.5 points of the noise floor; B: 7.5; C: 15; D: 25; "
                                                "F beyond. Without a floor, graded on the score (A ≥ 90 … D ≥ 60).")
    cards[2].metric("Human against itself", "–" if floor is None else f"{floor:.1f}")
    compared_count = len(report.data["modalities"].get("tabular", {}).get("columns", {}))
    what = [f"{compared_count} column{'' if compared_count == 1 else 's'}"] if compared_count else []
    what += ["text"] if "text" in report.data["modalities"] else []
    st.caption(f"Compared: {' + '.join(what)} · human {report.data['human']['rows']:,} rows · synthetic "
               f"{report.data['synthetic']['rows']:,} rows")
    if report.data.get("floor_note"):
        st.info(report.data["floor_note"], icon=":material/info:")
    subsample = report.data["modalities"].get("tabular", {}).get("subsample")
    if subsample:
        st.caption(dashboard.literal(subsample_sentence(subsample)))
    for flag in report.data["privacy"].get("flags", []):
        st.warning(flag, icon=":material/privacy_tip:")
    metrics = report.metrics_table()
    st.altair_chart(charts.humanness_metrics(metrics), width="stretch")
    table(present.metrics_frame(report))
    for modality in report.data["modalities"]:
        for line in report.detectors(modality):
            st.caption(f"Detection ({modality}) · {line}")
    sentences = [s for s in (present.weakest_columns(report), present.weakest_pairs(report)) if s]
    for sentence in sentences:
        st.markdown(dashboard.literal(sentence))
    if sentences:
        st.caption(present.NOISE_NOTE)
    if report.data["skipped"]:
        st.markdown("**Skipped columns**")
        st.dataframe(pd.DataFrame({"Column": list(report.data["skipped"]),
                                   "Reason": list(report.data["skipped"].values())}), hide_index=True,
                     width="stretch")

    tabs = st.tabs(["Columns", "Pairs", "Coverage", "Privacy", "Segments", "Text"])
    with tabs[0]:
        shapes = report.table("shapes")
        if shapes.empty:
            st.caption("No table column was compared.")
        else:
            st.altair_chart(charts.column_scores(shapes), width="stretch")
            table(present.shapes_frame(report))
            column = st.selectbox("Distribution of", shapes["column"].tolist(), key="dq_overlay")
            st.altair_chart(charts.distribution_overlay(distribution(human, synthetic, column), column,
                                                        is_numeric_column(human, column),
                                                        human=human.frame[column], synthetic=synthetic.frame[column]),
                            width="stretch")
    with tabs[1]:
        pairs = present.pairs_frame(report)
        if pairs.empty:
            st.caption("Pair trends need at least two compared table columns.")
        else:
            table(pairs)
    with tabs[2]:
        covered = present.coverage_frame(report)
        if covered.empty:
            st.caption("No table column was compared.")
        else:
            table(covered)
    with tabs[3]:
        table(present.privacy_frame(report))
        for note in present.privacy_notes(report):
            st.caption(dashboard.literal(note))
    with tabs[4]:
        segments = report.segments_table()
        if segments.empty:
            st.caption("Choose a column under “Segment by” and run again to score each of its values.")
        else:
            st.altair_chart(charts.segment_scores(segments, report.data["segments"]["column"]), width="stretch")
            table(present.segments_frame(report))
            for note in present.segments_notes(report):
                st.caption(dashboard.literal(note))
    with tabs[5]:
        text = present.text_frame(report)
        if text.empty:
            st.caption("No text column was assessed.")
        else:
            st.caption(dashboard.literal(present.text_caption(report)))
            table(text)

    # ------------------------------------------------------------ 4. save
    st.subheader("4. Save")
    synthetic_choices = datasets[datasets["source_kind"] != "human"]["id"].tolist()
    human_choices = [None] + datasets[datasets["source_kind"] != "synthetic"]["id"].tolist()
    if not dashboard.can(Permission.ASSESS_DATASETS):
        st.caption("Saving a report takes the researcher role.")
    elif not synthetic_choices:
        st.info("Register the synthetic dataset in Catalog › Datasets to store this report against it.",
                icon=":material/info:")
    else:
        with st.form("dq_save"):
            left, right = st.columns(2)
            # Uploaded samples name no dataset: the one measured must be chosen, never preselected (the first
            # in the list was an unrelated dataset, issue 18 #7).
            link = left.selectbox("Synthetic dataset measured", synthetic_choices, format_func=names.get,
                                  index=synthetic_choices.index(default_link) if default_link in synthetic_choices
                                  else None, placeholder="Choose the synthetic dataset these samples come from")
            reference = right.selectbox("Human reference dataset", human_choices,
                                        format_func=lambda i: "not in the catalog" if i is None else names[i],
                                        index=human_choices.index(default_reference)
                                        if default_reference in human_choices else 0)
            saved = st.form_submit_button("Save the report", type="primary", icon=":material/save:")
        if saved and link is None:
            st.error("Choose the synthetic dataset this report measured; nothing was saved.", icon=":material/error:")
        elif saved:
            try:
                record = save_assessment(dashboard.catalog(), report, dataset_id=link, reference_dataset_id=reference)
            except StrategyError as error:
                st.error(str(error), icon=":material/error:")
            else:
                dashboard.clear_reads()
                st.success(f"Saved: {dashboard.literal(names[link])} scores {record.humanness:.1f} (grade {record.grade}); its task's "
                           "recommendation was recomputed.", icon=":material/check_circle:")
                if record.task_id:
                    st.page_link("app_pages/task.py", label="Open the task", icon=":material/open_in_new:",
                                 query_params={"task": record.task_id})

# ---------------------------------------------------------------- history
stored_reports()
