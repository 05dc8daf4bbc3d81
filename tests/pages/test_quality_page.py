"""AppTest of Evidence › Data quality, the task page's quality tab, and dataset locations in Catalog › Datasets.

Expected scores come from strategy.quality run directly on the same samples (the page uses seed 0 too)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import dashboard
from strategy.assessments import find_dataset
from strategy.catalog import Catalog
from strategy.quality import assess, present
from strategy.quality.samples import dataset_sample, load_sample

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGE = "app_pages/data_quality.py"
SYNTHETIC, HUMAN = "Synthetic fraud transactions", "Confirmed fraud cases"


def human_reference(app):
    """The human reference box: keyed by the synthetic dataset chosen, so it is found by its label."""
    return next(box for box in app.selectbox if box.label == "Human reference")


def open_app(location: Path, monkeypatch, script: str = PAGE) -> AppTest:
    monkeypatch.setenv("STRATEGY_CATALOG", str(location))
    app = AppTest.from_file(APP, default_timeout=90).run()
    app.switch_page(script).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


@pytest.fixture(autouse=True)
def fresh_streamlit_caches():
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def csv_upload(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


def test_catalog_datasets_are_assessed_as_the_library_assesses_them(demo_path, monkeypatch):
    app = open_app(demo_path, monkeypatch)
    with Catalog.open(demo_path) as catalog:
        synthetic = find_dataset(catalog, SYNTHETIC)
        human = find_dataset(catalog, HUMAN)
        expected = assess(dataset_sample(human), dataset_sample(synthetic))
    assert app.radio(key="dq_source").value == "Catalog datasets"
    app.selectbox(key="dq_synthetic_ds").set_value(synthetic["id"]).run()
    human_reference(app).set_value(human["id"]).run()
    app.button[0].click().run()
    assert not app.exception and not app.error
    shown = metrics(app)
    assert shown["Humanness"] == f"{expected.humanness:.1f} / 100"
    assert shown["Grade"] == expected.grade
    assert shown["Human against itself"] == f"{expected.floor:.1f}"
    captions = [c.value for c in app.caption]
    assert any(line in c for c in captions for line in expected.detectors("tabular"))


def test_saving_stores_the_report_audits_it_and_recomputes_the_task(demo_path, monkeypatch):
    app = open_app(demo_path, monkeypatch)
    with Catalog.open(demo_path) as catalog:
        synthetic = find_dataset(catalog, SYNTHETIC)
        human = find_dataset(catalog, HUMAN)
        before = catalog.counts()["quality_reports"]
        history = len(catalog.recommendation_history(synthetic["task_id"]))
    app.selectbox(key="dq_synthetic_ds").set_value(synthetic["id"]).run()
    human_reference(app).set_value(human["id"]).run()
    app.button[0].click().run()
    stored_rows = len(app.dataframe[-1].value)
    app.button(key="FormSubmitter:dq_save-Save the report").click().run()
    assert not app.exception and not app.error
    assert app.success and app.success[0].value.startswith(f"Saved: {SYNTHETIC} scores")
    with Catalog.open(demo_path) as catalog:
        reports = catalog.quality_reports(dataset_id=synthetic["id"])
        assert catalog.counts()["quality_reports"] == before + 1
        latest = reports.iloc[-1]
        assert (latest["task_id"], latest["reference_dataset_id"]) == (synthetic["task_id"], human["id"])
        assert len(catalog.recommendation_history(synthetic["task_id"])) == history + 1
        audit = catalog.audit_log()
        assert "assess" in set(audit[audit["entity"] == "quality report"]["action"])
    assert len(app.dataframe[-1].value) == stored_rows + 1


def test_uploaded_files_are_assessed_and_bad_files_named(demo_path, monkeypatch):
    app = open_app(demo_path, monkeypatch)
    app.radio(key="dq_source").set_value("Upload files").run()
    rng = np.random.default_rng(0)
    human = pd.DataFrame({"x": rng.normal(size=300), "k": rng.choice(["a", "b"], 300)})
    synthetic = pd.DataFrame({"x": rng.normal(1, 1, size=300), "k": rng.choice(["a", "b"], 300)})
    app.file_uploader(key="dq_human_file").set_value(("human.csv", csv_upload(human), "text/csv")).run()
    app.file_uploader(key="dq_synthetic_file").set_value(("synthetic.csv", csv_upload(synthetic), "text/csv")).run()
    app.button[0].click().run()
    assert not app.exception and not app.error
    expected = assess(load_sample(io.BytesIO(csv_upload(human)), label="human.csv"),
                      load_sample(io.BytesIO(csv_upload(synthetic)), label="synthetic.csv"))
    assert metrics(app)["Humanness"] == f"{expected.humanness:.1f} / 100"

    unrelated = pd.DataFrame({"y": [1, 2, 3]})
    app.file_uploader(key="dq_synthetic_file").set_value(("other.csv", csv_upload(unrelated), "text/csv")).run()
    # No shared column: the page says so at once, with nothing to run.
    assert [e.value for e in app.error][0].startswith("Cannot assess these samples")
    assert not [b for b in app.button if b.label == "Run the assessment"]
    assert "other.csv, field 'columns': shares no column with human.csv" in app.error[0].value

    app.file_uploader(key="dq_synthetic_file").set_value(("latin.csv", "x\ncafé\n".encode("latin-1"),
                                                          "text/csv")).run()
    assert "latin.csv, field 'file': is not UTF-8 text" in app.error[0].value


def test_a_report_is_not_shown_for_a_different_file_of_the_same_name(demo_path, monkeypatch):
    app = open_app(demo_path, monkeypatch)
    app.radio(key="dq_source").set_value("Upload files").run()
    rng = np.random.default_rng(1)
    human = pd.DataFrame({"x": rng.normal(size=300)})
    close, far = pd.DataFrame({"x": rng.normal(size=300)}), pd.DataFrame({"x": rng.normal(5, 1, size=300)})
    app.file_uploader(key="dq_human_file").set_value(("human.csv", csv_upload(human), "text/csv")).run()
    app.file_uploader(key="dq_synthetic_file").set_value(("synthetic.csv", csv_upload(close), "text/csv")).run()
    app.button[0].click().run()
    first = metrics(app)["Humanness"]
    # Same name, other rows: the report of the first file must not be shown as this one's.
    app.file_uploader(key="dq_synthetic_file").set_value(("synthetic.csv", csv_upload(far), "text/csv")).run()
    assert "Humanness" not in metrics(app)
    app.button[0].click().run()
    assert not app.exception and not app.error
    expected = assess(load_sample(io.BytesIO(csv_upload(human)), label="human.csv"),
                      load_sample(io.BytesIO(csv_upload(far)), label="synthetic.csv"))
    assert metrics(app)["Humanness"] == f"{expected.humanness:.1f} / 100" != first


def test_a_segment_column_scores_each_of_its_values(demo_path, monkeypatch):
    app = open_app(demo_path, monkeypatch)
    with Catalog.open(demo_path) as catalog:
        synthetic = find_dataset(catalog, SYNTHETIC)
        human = find_dataset(catalog, HUMAN)
        values = dataset_sample(human).frame["country"]
    app.selectbox(key="dq_synthetic_ds").set_value(synthetic["id"]).run()
    human_reference(app).set_value(human["id"]).run()
    segment = next(box for box in app.selectbox if box.label == "Segment by")
    segment.set_value("country").run()
    app.button[0].click().run()
    assert not app.exception
    # The segments table is headed by the segment column's own name (issue 18: "The report speaks one scale").
    tables = [frame.value for frame in app.dataframe if "country" in frame.value.columns]
    assert tables, "no segment table"
    assert sorted(tables[0]["country"]) == sorted(v for v, n in values.value_counts().items() if n >= 20)


def test_an_empty_catalog_offers_uploads_and_explains_catalog_datasets(empty_path, monkeypatch):
    app = open_app(empty_path, monkeypatch)
    assert app.radio(key="dq_source").value == "Upload files"
    assert [i.value for i in app.info][0].startswith("Upload a human and a synthetic sample")
    assert not app.dataframe
    app.radio(key="dq_source").set_value("Catalog datasets").run()
    assert any(i.value.startswith("Assessing catalog datasets needs") for i in app.info)


def test_choosing_another_synthetic_dataset_offers_its_own_tasks_human_reference(demo_path, monkeypatch):
    app = open_app(demo_path, monkeypatch)
    with Catalog.open(demo_path) as catalog:
        fraud, fraud_human = find_dataset(catalog, SYNTHETIC), find_dataset(catalog, HUMAN)
        reviews, reviews_human = find_dataset(catalog, "LLM-labelled reviews"), find_dataset(catalog,
                                                                                               "Crowd-labelled reviews")
    app.selectbox(key="dq_synthetic_ds").set_value(fraud["id"]).run()
    assert human_reference(app).value == fraud_human["id"]
    human_reference(app).set_value(reviews_human["id"]).run()  # a deliberate cross-task choice stays
    assert human_reference(app).value == reviews_human["id"]
    app.selectbox(key="dq_synthetic_ds").set_value(reviews["id"]).run()
    assert human_reference(app).value == reviews_human["id"]
    app.selectbox(key="dq_synthetic_ds").set_value(fraud["id"]).run()
    assert human_reference(app).value == fraud_human["id"]
    assert not app.exception


def test_the_task_page_shows_the_latest_report_and_every_stored_one(demo_path, monkeypatch):
    with Catalog.open(demo_path) as catalog:
        synthetic = find_dataset(catalog, SYNTHETIC)
        reports = catalog.quality_reports(task_id=synthetic["task_id"])
        bare = next(t for t in catalog.tasks()["id"] if catalog.quality_reports(task_id=t).empty)
    monkeypatch.setenv("STRATEGY_CATALOG", str(demo_path))
    app = AppTest.from_file(APP, default_timeout=90).run()
    app.switch_page("app_pages/task.py")
    app.query_params["task"] = synthetic["task_id"]
    app.run()
    tab = next(t for t in app.tabs if t.label == "Synthetic data quality")
    assert f"scores **{reports.iloc[-1]['humanness']:.1f} / 100**" in tab.markdown[0].value
    assert len(tab.dataframe[0].value) == len(reports)

    app.query_params["task"] = bare
    app.run()
    tab = next(t for t in app.tabs if t.label == "Synthetic data quality")
    assert tab.info[0].value.startswith("No humanness report for this task")


def test_a_dataset_location_saved_in_the_catalog_is_offered_for_assessment(demo_path, monkeypatch, tmp_path):
    monkeypatch.setenv("STRATEGY_SAMPLE_ROOTS", str(tmp_path))  # an admin allowed this folder
    sample_file = tmp_path / "generated.csv"
    pd.DataFrame({"amount": [1.0, 2.0, 3.0], "country": ["GB", "FR", "GB"]}).to_csv(sample_file, index=False)
    app = open_app(demo_path, monkeypatch, "app_pages/datasets.py")
    with Catalog.open(demo_path) as catalog:
        target = catalog.datasets().set_index("name").loc["Cyberbullying messages labelled by counsellors"]
    chooser = next(box for box in app.selectbox if box.label == "Dataset")
    chooser.set_value(target["id"]).run()
    location = next(box for box in app.text_input if box.label == "Sample of its rows (file path)")
    location.set_value(str(sample_file))
    app.button(key="FormSubmitter:dataset_form-Save dataset").click().run()
    assert not app.exception and not app.error
    with Catalog.open(demo_path) as catalog:
        assert catalog.datasets().set_index("name").loc[target.name, "location"] == str(sample_file)
    app.switch_page(PAGE).run()
    human_choices = human_reference(app).options
    assert target.name in human_choices


def test_text_files_are_compared_as_text(demo_path, monkeypatch):
    app = open_app(demo_path, monkeypatch)
    app.radio(key="dq_source").set_value("Upload files").run()
    human = "\n".join(f"order {i} arrived late but support was kind" if i % 2 else f"great value, item {i}"
                      for i in range(80)).encode()
    synthetic = "\n".join("This product is great and I recommend it." for _ in range(80)).encode()
    app.file_uploader(key="dq_human_file").set_value(("human.txt", human, "text/plain")).run()
    app.file_uploader(key="dq_synthetic_file").set_value(("synthetic.txt", synthetic, "text/plain")).run()
    text_box = next(box for box in app.selectbox if box.label == "Text column")
    assert text_box.value == "text"
    app.button[0].click().run()
    assert not app.exception and not app.error
    assert any(c.value.startswith("Compared: text · human 80 rows") for c in app.caption)


def test_saving_an_uploaded_report_needs_an_explicit_dataset(demo_path, monkeypatch):
    """Issue 18 #7: the save form preselected the first synthetic dataset, unrelated to the uploaded files."""
    app = open_app(demo_path, monkeypatch)
    app.radio(key="dq_source").set_value("Upload files").run()
    rng = np.random.default_rng(3)
    human = pd.DataFrame({"amount": rng.normal(50, 10, 200), "country": rng.choice(["GB", "FR"], 200)})
    synthetic = pd.DataFrame({"amount": rng.normal(52, 11, 200), "country": rng.choice(["GB", "FR"], 200)})
    app.file_uploader(key="dq_human_file").set_value(("human.csv", csv_upload(human), "text/csv")).run()
    app.file_uploader(key="dq_synthetic_file").set_value(("synthetic.csv", csv_upload(synthetic), "text/csv")).run()
    app.button[0].click().run()
    measured = next(box for box in app.selectbox if box.label == "Synthetic dataset measured")
    assert measured.value is None
    with Catalog.open(demo_path) as catalog:
        before = catalog.counts()["quality_reports"]
        target = find_dataset(catalog, SYNTHETIC)
    app.button(key="FormSubmitter:dq_save-Save the report").click().run()
    assert [e.value for e in app.error] == ["Choose the synthetic dataset this report measured; nothing was saved."]
    with Catalog.open(demo_path) as catalog:
        assert catalog.counts()["quality_reports"] == before
    measured = next(box for box in app.selectbox if box.label == "Synthetic dataset measured")
    measured.set_value(target["id"])
    app.button(key="FormSubmitter:dq_save-Save the report").click().run()
    assert not app.error and app.success[0].value.startswith(f"Saved: {SYNTHETIC} scores")
    with Catalog.open(demo_path) as catalog:
        assert catalog.counts()["quality_reports"] == before + 1


# ----------------------------------------------------------------------------- issue 18: one scale
LONG_NUMBER = re.compile(r"\d\.\d{4,}")


def unescaped(text: str) -> str:
    """Markdown as the reader sees it: the page backslash-escapes user text (dashboard.literal)."""
    return re.sub(r"\\(.)", r"\1", text)


def tab(app: AppTest, label: str):
    return next(t for t in app.tabs if t.label == label)


def fraud_report(demo_path, monkeypatch, segment: str | None = None):
    """The page after running the demo's fraud pair (optionally by segment), and the library's own report."""
    app = open_app(demo_path, monkeypatch)
    with Catalog.open(demo_path) as catalog:
        synthetic, human = find_dataset(catalog, SYNTHETIC), find_dataset(catalog, HUMAN)
        expected = assess(dataset_sample(human), dataset_sample(synthetic), segment_column=segment)
    app.selectbox(key="dq_synthetic_ds").set_value(synthetic["id"]).run()
    human_reference(app).set_value(human["id"]).run()
    if segment:
        next(box for box in app.selectbox if box.label == "Segment by").set_value(segment).run()
    app.button[0].click().run()
    assert not app.exception and not app.error, [e.value for e in app.exception]
    return app, expected


def test_every_score_on_the_report_reads_0_to_100_with_one_decimal_and_no_long_float(demo_path, monkeypatch):
    app, expected = fraud_report(demo_path, monkeypatch, segment="country")
    frames = [frame.value for frame in app.dataframe]
    scored = [frame for frame in frames if any(c.endswith("(0–100)") for c in frame.columns)]
    # The metrics, shapes, pairs, coverage, segments and stored-reports tables all speak 0–100.
    assert len(scored) >= 6, [frame.columns.tolist() for frame in frames]
    for frame in scored:
        values = frame[[c for c in frame.columns if c.endswith("(0–100)")]].stack().dropna().astype(float)
        assert values.between(0, 100).all(), frame.columns.tolist()
        assert (values.round(1) == values).all(), f"more than one decimal in {frame.columns.tolist()}"
    for frame in frames:  # and no table anywhere on the page carries a long float
        for column in frame.select_dtypes("number").columns:
            numbers = frame[column].dropna().astype(float)
            assert (numbers.round(2) == numbers).all(), f"{column}: {numbers.tolist()[:5]}"
    texts = [e.value for e in [*app.markdown, *app.caption, *app.warning, *app.info]]
    assert not [t for t in texts if LONG_NUMBER.search(t)]

    shapes = next(frame for frame in frames if "Kind" in frame.columns).set_index("Column")
    stored = expected.table("shapes").set_index("column")
    assert shapes["Score (0–100)"].to_dict() == {c: round(100 * v, 1) for c, v in stored["score"].items()}
    assert "Sampling alone reaches (0–100)" in shapes.columns and "Human vs human (0–100)" in shapes.columns
    segments = next(frame for frame in frames if "country" in frame.columns)
    assert segments["Human rows"].tolist() == [row["human_rows"] for row in expected.data["segments"]["rows"]]
    formats = json.loads(next(f for f in app.dataframe if "country" in f.value.columns).proto.columns)
    assert formats["Human rows"]["type_config"]["format"] == "%,d"  # counts with thousands separators
    coverage = next(frame for frame in frames if "Covered (%)" in frame.columns)
    assert coverage["Covered (%)"].tolist() == [round(100 * row["covered"])
                                                for row in expected.data["modalities"]["tabular"]["metrics"]["coverage"]]


def test_the_weakest_columns_and_pairs_are_named_in_words_above_the_tables(demo_path, monkeypatch):
    app, expected = fraud_report(demo_path, monkeypatch)
    said = [unescaped(m.value) for m in app.markdown]
    section = expected.data["modalities"]["tabular"]
    floors = {row["column"]: row["score"] for row in section["floor_metrics"]["shapes"]}
    lowest = sorted(section["metrics"]["shapes"], key=lambda row: row["score"])[:3]
    columns = next(line for line in said if line.startswith("Weakest columns: "))
    named = re.findall(r"(\w+) \((\d+\.\d), human vs human (\d+\.\d)", columns)
    assert named == [(row["column"], f"{100 * row['score']:.1f}", f"{100 * floors[row['column']]:.1f}")
                     for row in lowest]
    assert columns == present.weakest_columns(expected)
    pair_floors = {row["pair"]: row["score"] for row in section["floor_metrics"]["pairs"]}
    weakest_pairs = sorted(section["metrics"]["pairs"], key=lambda row: row["score"])[:3]
    pairs = next(line for line in said if line.startswith("Weakest pairs: "))
    assert pairs == "Weakest pairs: " + ", ".join(
        f"{row['left']} × {row['right']} ({100 * row['score']:.1f}, human vs human {100 * pair_floors[row['pair']]:.1f})"
        for row in weakest_pairs) + "."
    # Above the tables: the sentences come before the tabs that hold the column and pair tables.
    children = list(app.main.children.values())
    said_at = [i for i, child in enumerate(children) if child.type == "markdown"
               and unescaped(child.value).startswith(("Weakest columns: ", "Weakest pairs: "))]
    assert len(said_at) == 2 and max(said_at) < [child.type for child in children].index("tab_container")


def test_close_samples_are_said_to_be_within_sampling_noise(demo_path, monkeypatch):
    app = open_app(demo_path, monkeypatch)
    app.radio(key="dq_source").set_value("Upload files").run()
    rng = np.random.default_rng(0)
    human = pd.DataFrame({"x": rng.normal(size=400), "k": rng.choice(["a", "b"], 400)})
    synthetic = pd.DataFrame({"x": rng.normal(size=400), "k": rng.choice(["a", "b"], 400)})
    app.file_uploader(key="dq_human_file").set_value(("human.csv", csv_upload(human), "text/csv")).run()
    app.file_uploader(key="dq_synthetic_file").set_value(("synthetic.csv", csv_upload(synthetic), "text/csv")).run()
    app.button[0].click().run()
    assert not app.exception and not app.error
    expected = assess(load_sample(io.BytesIO(csv_upload(human)), label="human.csv"),
                      load_sample(io.BytesIO(csv_upload(synthetic)), label="synthetic.csv"))
    said = [unescaped(m.value) for m in app.markdown]
    assert "All 2 columns are within sampling noise of human data; the lowest is " in "".join(said)
    assert present.weakest_columns(expected) in said
    assert not any(line.startswith("Weakest columns") for line in said)


PRIVACY_COLUMNS = ["Measure", "Value", "What is safe", "Verdict", "Meaning"]


def test_the_privacy_tab_is_a_table_of_measures_with_verdicts(demo_path, monkeypatch):
    app, expected = fraud_report(demo_path, monkeypatch)
    privacy = tab(app, "Privacy")
    assert not privacy.json and not app.json  # no raw JSON any more
    table = privacy.dataframe[0].value
    assert table.columns.tolist() == PRIVACY_COLUMNS
    assert table["Measure"].tolist() == ["Exact copies of human rows", "Distance to the closest human row (median)",
                                         "Distance to the closest human row (closest 5%)"]
    found = expected.data["privacy"]
    shown = table.set_index("Measure")
    assert shown.loc["Exact copies of human rows", "Value"] == \
        f"{found['exact_copies']:,} of {expected.data['synthetic']['rows']:,} rows (0%)"
    assert shown.loc["Distance to the closest human row (median)", "Value"] == f"{found['dcr_median']:.3g}"
    assert set(table["Verdict"]) <= {"ok", "check", "flagged"} and not found["flags"]
    assert "flagged" not in set(table["Verdict"])
    assert any(c.value.startswith("Memorisation is checked only with a human holdout") for c in privacy.caption)


def test_a_memorising_generator_is_flagged_in_the_verdicts_and_still_warned_about(demo_path, monkeypatch):
    app = open_app(demo_path, monkeypatch)
    app.radio(key="dq_source").set_value("Upload files").run()
    rng = np.random.default_rng(7)
    human = pd.DataFrame({"amount": rng.normal(50, 10, 300).round(2), "country": rng.choice(["GB", "FR"], 300)})
    holdout = pd.DataFrame({"amount": rng.normal(50, 10, 300).round(2), "country": rng.choice(["GB", "FR"], 300)})
    copied = human.sample(n=1_200, replace=True, random_state=2)
    app.file_uploader(key="dq_human_file").set_value(("human.csv", csv_upload(human), "text/csv")).run()
    app.file_uploader(key="dq_synthetic_file").set_value(("synthetic.csv", csv_upload(copied), "text/csv")).run()
    app.file_uploader(key="dq_holdout_file").set_value(("holdout.csv", csv_upload(holdout), "text/csv")).run()
    app.button[0].click().run()
    assert not app.exception and not app.error
    expected = assess(*(load_sample(io.BytesIO(csv_upload(frame)), label=name)
                        for frame, name in ((human, "human.csv"), (copied, "synthetic.csv"), (holdout, "holdout.csv"))))
    flags = expected.data["privacy"]["flags"]
    assert flags and [w.value for w in app.warning] == flags  # the warnings stay
    table = tab(app, "Privacy").dataframe[0].value.set_index("Measure")
    assert table.loc["Exact copies of human rows", "Value"] == "1,200 of 1,200 rows (100%; 95%: >99%–100%)"
    assert table.loc["Exact copies of human rows", "Verdict"] == "flagged"
    assert table.loc["Closer to the training rows than to the holdout", "Verdict"] == "flagged"
    assert (table["Verdict"] == "flagged").sum() == len(flags)


def test_the_text_tab_shows_its_metrics_as_a_small_table(demo_path, monkeypatch):
    app = open_app(demo_path, monkeypatch)
    app.radio(key="dq_source").set_value("Upload files").run()
    human = "\n".join(f"order {i} arrived late but support was kind" if i % 2 else f"great value, item {i}"
                      for i in range(80)).encode()
    synthetic = "\n".join("This product is great and I recommend it." for _ in range(80)).encode()
    app.file_uploader(key="dq_human_file").set_value(("human.txt", human, "text/plain")).run()
    app.file_uploader(key="dq_synthetic_file").set_value(("synthetic.txt", synthetic, "text/plain")).run()
    app.button[0].click().run()
    assert not app.exception and not app.error
    text = tab(app, "Text")
    assert not text.json and not app.json
    table = text.dataframe[0].value
    assert table["Metric"].tolist() == ["Length and structure", "Lexical diversity", "Repetition", "Detection",
                                        "Fidelity and diversity (k-NN)"]
    expected = assess(load_sample(io.BytesIO(human), label="human.txt"),
                      load_sample(io.BytesIO(synthetic), label="synthetic.txt"), text_column="text")
    scores = expected.data["modalities"]["text"]["scores"]
    assert table["Score (0–100)"].tolist() == [round(100 * scores[name], 1) for name in
                                               ("structure", "lexical", "repetition", "detection", "fidelity")]
    assert not any(LONG_NUMBER.search(line) for line in table["What it found"])
    assert table.set_index("Metric").loc["Repetition", "What it found"].startswith("exact duplicates ")


# ---------------------------------------------------------------- several synthetic samples ranked
def _ranking_frames():
    rng = np.random.default_rng(21)

    def frame(n, shift=0.0, spread=1.0):
        return pd.DataFrame({"amount": rng.normal(50 + shift, 10 * spread, n).round(4),
                             "age": rng.normal(40 + shift, 8 * spread, n).round(4),
                             "country": rng.choice(["GB", "FR", "DE"], n)})
    return frame(300), frame(300), frame(300, shift=15, spread=2.0)


def test_uploaded_samples_are_ranked_as_the_library_ranks_them(demo_path, monkeypatch):
    from strategy.quality.ranking import assess_candidates

    human, close, far = _ranking_frames()
    app = open_app(demo_path, monkeypatch)
    app.radio(key="dq_mode").set_value("Rank several synthetic samples").run()
    app.radio(key="dq_rank_source").set_value("Upload files").run()
    app.file_uploader(key="dq_rank_human_file").set_value(("human.csv", csv_upload(human), "text/csv")).run()
    app.file_uploader(key="dq_rank_synthetic_files").set_value([("far.csv", csv_upload(far), "text/csv"),
                                                                ("close.csv", csv_upload(close), "text/csv")]).run()
    next(b for b in app.button if b.label == "Rank the samples").click().run()
    assert not app.exception and not app.error
    expected = assess_candidates(load_sample(io.BytesIO(csv_upload(human)), label="human.csv"),
                                 [load_sample(io.BytesIO(csv_upload(frame)), label=name)
                                  for frame, name in ((far, "far.csv"), (close, "close.csv"))])
    shown = app.dataframe[0].value
    assert shown[present.SAMPLE].tolist() == ["close.csv", "far.csv"]
    pd.testing.assert_frame_equal(shown.reset_index(drop=True), present.ranking_frame(expected))
    assert dashboard.literal(present.ranking_sentence(expected)) in [m.value for m in app.markdown]
    assert "rank catalog datasets to save" in " ".join(c.value for c in app.caption)


def test_ranked_catalog_datasets_are_saved_with_the_chosen_one_used_by_the_decision(demo_path, monkeypatch,
                                                                                 tmp_path):
    from strategy.models import Dataset

    monkeypatch.setenv("STRATEGY_SAMPLE_ROOTS", str(tmp_path))
    human, close, far = _ranking_frames()
    with Catalog.open(demo_path) as catalog:
        task = catalog.datasets().set_index("name").loc[SYNTHETIC, "task_id"]
        made = []
        for name, frame in (("Vendor close", close), ("Vendor far", far), ("Reference people", human)):
            path = tmp_path / f"{name.replace(' ', '_')}.csv"
            frame.to_csv(path, index=False)
            made.append(Dataset(name=name, task_id=task, source_kind="human" if "people" in name else "synthetic",
                                modality="tabular", samples=300, location=str(path)))
        catalog.add_records("datasets", made, actor="tester")
        before = catalog.counts()["quality_reports"]
    app = open_app(demo_path, monkeypatch)
    app.radio(key="dq_mode").set_value("Rank several synthetic samples").run()
    assert app.radio(key="dq_rank_source").value == "Catalog datasets"
    app.multiselect(key="dq_rank_synthetic").set_value([made[1].id, made[0].id]).run()
    app.selectbox(key="dq_rank_human").set_value(made[2].id).run()
    next(b for b in app.button if b.label == "Rank the samples").click().run()
    assert not app.exception and not app.error
    assert app.dataframe[0].value[present.SAMPLE].tolist() == ["Vendor close", "Vendor far"]
    box = next(b for b in app.selectbox if b.label == "The decision uses")
    assert box.value == "Vendor close"
    box.set_value("Vendor far")
    app.button(key="FormSubmitter:dq_rank_save-Save the ranked reports").click().run()
    assert not app.exception and not app.error
    assert "the decision uses Vendor far" in app.success[0].value
    with Catalog.open(demo_path) as catalog:
        assert catalog.counts()["quality_reports"] == before + 2
        reports = catalog.quality_reports(task_id=task).set_index("dataset_name")
        assert catalog.task_humanness()[task] == pytest.approx(
            (reports.loc["Vendor far", "humanness"]
             + catalog.quality_reports(dataset_id=find_dataset(catalog, SYNTHETIC)["id"])["humanness"].iloc[-1]) / 2)


def test_the_subsample_size_and_drift_are_asked_for_and_stated(demo_path, monkeypatch):
    human, close, _ = _ranking_frames()
    app = open_app(demo_path, monkeypatch)
    app.radio(key="dq_source").set_value("Upload files").run()
    app.file_uploader(key="dq_human_file").set_value(("human.csv", csv_upload(human), "text/csv")).run()
    app.file_uploader(key="dq_synthetic_file").set_value(("synthetic.csv", csv_upload(close), "text/csv")).run()
    assert app.number_input(key="dq_drift_draws").value == 1  # small samples: no drift unless asked
    app.number_input(key="dq_sample_rows").set_value(200)
    app.number_input(key="dq_drift_draws").set_value(3)
    next(b for b in app.button if b.label == "Run the assessment").click().run()
    assert not app.exception and not app.error
    expected = assess(load_sample(io.BytesIO(csv_upload(human)), label="human.csv"),
                      load_sample(io.BytesIO(csv_upload(close)), label="synthetic.csv"), sample_rows=200,
                      drift_draws=3)
    found = expected.data["modalities"]["tabular"]["subsample"]
    assert metrics(app)["Humanness"] == f"{expected.humanness:.1f} / 100"
    sentence = f"over 3 subsamples the score moved by {found['drift']:.2f} points"
    assert any(sentence in c.value and "200 rows per side" in c.value for c in app.caption)
