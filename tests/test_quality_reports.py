"""Humanness reports in the catalog: stored by the demo, saved from an assessment, read back for trends, and
fed to the pooled model as a feature (strategy/quality/report.py measures, strategy/assessments.py stores and recomputes)."""

from __future__ import annotations

import json
import re

import duckdb
import numpy as np
import pandas as pd
import pytest

from strategy.assessments import find_dataset, reports_with_scores, save_assessment
from strategy.catalog import LATEST_VERSION, MIGRATIONS, Catalog
from strategy.demo import SEED_DIR
from strategy.errors import StrategyError
from strategy.learning import PooledPrior
from strategy.models import Dataset, QualityReport, Task, utc_now
from strategy.quality import assess, frame_sample, present
from strategy.quality.privacy import privacy_flags
from strategy.quality.report import Assessment, distribution
from strategy.quality.samples import dataset_sample
from strategy.recommend import FEATURE_COUNT, POOLED_KIND, gather, load_pooled, refit_portfolio

DEMO_PAIRS = pd.read_csv(SEED_DIR / "assessments.csv", keep_default_na=False)


def _two_samples(shift: float, rows: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    human = pd.DataFrame({"x": rng.normal(0, 1, rows), "group": rng.choice(["a", "b"], rows)})
    synthetic = pd.DataFrame({"x": rng.normal(shift, 1, rows), "group": rng.choice(["a", "b"], rows)})
    return frame_sample(human, "human.csv"), frame_sample(synthetic, "synthetic.csv")


def test_the_demo_stores_one_report_per_seeded_pair_as_a_fresh_assessment_scores_it(demo_catalog):
    reports = demo_catalog.quality_reports(with_metrics=True)
    assert sorted(reports["dataset_name"]) == sorted(DEMO_PAIRS["synthetic"])
    datasets = demo_catalog.datasets().set_index("name")
    for pair in DEMO_PAIRS.itertuples():
        stored = reports[reports["dataset_name"] == pair.synthetic].iloc[0]
        assert stored["reference_name"] == pair.human
        assert stored["task_id"] == datasets.loc[pair.synthetic, "task_id"]
        fresh = assess(dataset_sample(find_dataset(demo_catalog, pair.human)),
                       dataset_sample(find_dataset(demo_catalog, pair.synthetic)),
                       text_column=pair.text_column or None, segment_column=pair.segment or None)
        assert stored["humanness"] == pytest.approx(fresh.humanness, abs=1e-4)
        assert stored["grade"] == fresh.grade
        assert json.loads(stored["metrics_json"])["segments"]["column"] == pair.segment
    assert set(reports["modality"]) == {"tabular", "multimodal"}


def test_saving_links_the_report_audits_it_and_recomputes_the_task(demo_catalog):
    dataset = find_dataset(demo_catalog, "LLM-labelled reviews")
    history = len(demo_catalog.recommendation_history(dataset["task_id"]))
    human, synthetic = _two_samples(0.5)
    report = save_assessment(demo_catalog, assess(human, synthetic), dataset_id="llm-labelled REVIEWS",
                             reference_dataset_id="Crowd-labelled reviews", actor="tester")
    assert report.dataset_id == dataset["id"] and report.task_id == dataset["task_id"]
    assert len(demo_catalog.recommendation_history(dataset["task_id"])) == history + 1
    audit = demo_catalog.audit_log()
    entry = audit[(audit["entity_id"] == report.id)].iloc[0]
    assert (entry["actor"], entry["action"], entry["entity"]) == ("tester", "assess", "quality report")
    restored = Assessment.from_json(demo_catalog.quality_report_json(report.id))
    assert restored.humanness == pytest.approx(report.humanness, abs=1e-4)


def test_saving_against_an_unknown_dataset_writes_nothing(demo_catalog):
    before = demo_catalog.counts()
    human, synthetic = _two_samples(0.0)
    with pytest.raises(StrategyError, match="Unknown dataset 'nope'"):
        save_assessment(demo_catalog, assess(human, synthetic), dataset_id="nope")
    assert demo_catalog.counts() == before


def test_task_humanness_is_the_mean_of_each_datasets_latest_report(empty_catalog):
    task = Task(name="T", domain="D", modality="tabular", metric="F1")
    first = Dataset(name="gen A", task_id=task.id, source_kind="synthetic", modality="tabular", samples=10)
    second = Dataset(name="gen B", task_id=task.id, source_kind="synthetic", modality="tabular", samples=10)
    empty_catalog.write_batch({"tasks": [task], "datasets": [first, second]}, actor="t")
    stamps = [utc_now() for _ in range(3)]
    reports = [QualityReport(dataset_id=first.id, task_id=task.id, modality="tabular", humanness=40.0,
                             created_at=stamps[0]),
               QualityReport(dataset_id=first.id, task_id=task.id, modality="tabular", humanness=70.0,
                             created_at=stamps[1]),
               QualityReport(dataset_id=second.id, task_id=task.id, modality="tabular", humanness=90.0,
                             created_at=stamps[2])]
    for report in reports:  # one write each, so each keeps its own time
        empty_catalog.add_records("quality_reports", [report], actor="t")
    assert empty_catalog.task_humanness() == {task.id: pytest.approx(80.0)}
    trend = reports_with_scores(empty_catalog, task_id=task.id)
    assert trend["humanness"].tolist() == [40.0, 70.0, 90.0]


def test_gather_gives_each_task_its_humanness_as_the_last_feature(demo_catalog):
    measured = demo_catalog.task_humanness()
    assert len(measured) == len(DEMO_PAIRS)
    for item in gather(demo_catalog):
        features = item.features()
        assert len(features) == FEATURE_COUNT
        if item.task.id in measured:
            assert features[-1] == pytest.approx(measured[item.task.id] / 100)
        else:
            assert item.humanness is None and np.isnan(features[-1])


def test_the_pooled_prior_fills_a_missing_humanness_with_the_mean_of_the_measured():
    rng = np.random.default_rng(4)
    profile = rng.integers(0, 5, size=(12, 13)).astype(float)
    humanness = rng.uniform(0.2, 0.9, 12)
    humanness[[0, 5]] = np.nan
    features = np.column_stack([profile, humanness])
    # The synthetic worth w (second shape coordinate) follows humanness, as the pooled model should learn.
    shapes = np.column_stack([np.full(12, 0.5), np.nan_to_num(humanness, nan=0.5), np.zeros(12), np.zeros(12),
                              np.zeros(12)])
    pooled = PooledPrior(ridge_alpha=0.1).fit(features, shapes)
    assert pooled.fill_[-1] == pytest.approx(np.nanmean(humanness))
    low, high = features[1].copy(), features[1].copy()
    low[-1], high[-1] = 0.2, 0.9
    assert pooled.predict(high).mean[1] > pooled.predict(low).mean[1]
    unknown = features[1].copy()
    unknown[-1] = np.nan
    filled = features[1].copy()
    filled[-1] = np.nanmean(humanness)
    assert pooled.predict(unknown).mean == pytest.approx(pooled.predict(filled).mean)
    restored = PooledPrior.from_dict(json.loads(json.dumps(pooled.to_dict())))
    assert restored.predict(unknown).mean == pytest.approx(pooled.predict(unknown).mean)


def test_a_pooled_prior_stored_before_humanness_was_a_feature_waits_for_a_refit(demo_catalog):
    version, payload = demo_catalog.latest_model_state(POOLED_KIND)
    old = {k: v for k, v in payload.items() if k != "fill"}
    old |= {"mean": old["mean"][:-1], "scale": old["scale"][:-1]}
    demo_catalog.save_model_state(POOLED_KIND, "old", old, actor="t")
    assert load_pooled(demo_catalog) == (None, "")
    refit_portfolio(demo_catalog, workers=1)
    pooled, version = load_pooled(demo_catalog)
    assert pooled is not None and len(pooled.fill_) == FEATURE_COUNT


def test_a_version_1_catalog_gains_dataset_locations_and_keeps_its_rows(tmp_path):
    path = tmp_path / "v1.duckdb"
    connection = duckdb.connect(str(path))
    connection.execute("CREATE TABLE schema_version (version INTEGER, description VARCHAR, applied_at TIMESTAMP)")
    for statement in MIGRATIONS[0][2]:
        connection.execute(statement)
    connection.execute("INSERT INTO schema_version VALUES (1, 'v1', now()::TIMESTAMP)")
    connection.execute("INSERT INTO datasets (id, name, source_kind, modality, samples) "
                       "VALUES ('d1', 'old data', 'human', 'text', 5)")
    connection.close()
    with Catalog.open(path) as catalog:
        assert catalog.schema_version == LATEST_VERSION >= 2
        datasets = catalog.datasets()
        assert datasets["name"].tolist() == ["old data"]
        assert datasets["location"].isna().all()
        with pytest.raises(StrategyError, match="Dataset 'old data' has no location"):
            dataset_sample(find_dataset(catalog, "d1"))


def test_distribution_gives_each_sample_shares_that_sum_to_one():
    human, synthetic = _two_samples(2.0)
    numeric = distribution(human, synthetic, "x", bins=12)
    for _, shares in numeric.groupby("sample"):
        assert shares["share"].sum() == pytest.approx(1.0)
        assert len(shares) == 12
    assert numeric["bin_start"].min() <= min(human.frame["x"].min(), synthetic.frame["x"].min())
    categories = distribution(human, synthetic, "group")
    expected = human.frame["group"].value_counts(normalize=True)
    got = categories[categories["sample"] == "human"].set_index("value")["share"]
    assert got.to_dict() == pytest.approx(expected.to_dict())


# ----------------------------------------------------------------------------- the report as a reader sees it
LONG_NUMBER = re.compile(r"\d\.\d{4,}")


def _shifted_samples(rows: int = 400, seed: int = 0):
    """Columns that differ by how far the synthetic side drifts: y most, x a little, group not at all."""
    rng = np.random.default_rng(seed)
    human = pd.DataFrame({"x": rng.normal(0, 1, rows), "y": rng.normal(0, 1, rows),
                          "group": rng.choice(["a", "b", "c"], rows)})
    synthetic = pd.DataFrame({"x": rng.normal(0.3, 1, rows), "y": rng.normal(1.5, 1, rows),
                              "group": rng.choice(["a", "b", "c"], rows)})
    return frame_sample(human, "human.csv"), frame_sample(synthetic, "synthetic.csv")


def _crafted(shapes: list[dict], floors: list[dict] | None = None, pairs: list[dict] | None = None,
             floor_pairs: list[dict] | None = None) -> Assessment:
    section = {"metrics": {"shapes": shapes, "pairs": pairs or []}}
    if floors is not None:
        section["floor_metrics"] = {"shapes": floors, "pairs": floor_pairs or []}
    return Assessment({"modalities": {"tabular": section}})


def _score_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.endswith("(0–100)")]


def test_display_tables_show_scores_on_0_to_100_with_one_decimal_and_the_report_keeps_its_units():
    human, synthetic = _shifted_samples()
    report = assess(human, synthetic, segment_column="group")
    stored = report.to_json()
    frames = {"metrics": present.metrics_frame(report), "shapes": present.shapes_frame(report),
              "pairs": present.pairs_frame(report), "coverage": present.coverage_frame(report),
              "segments": present.segments_frame(report)}
    for name, frame in frames.items():
        columns = _score_columns(frame)
        assert present.SCORE in columns or name == "segments", name
        assert columns, name
        values = frame[columns].stack().dropna()
        assert not values.empty and values.between(0, 100).all(), name
        assert (values.round(1) == values).all(), f"{name}: more than one decimal"
    shapes = report.table("shapes").set_index("column")
    shown = frames["shapes"].set_index("Column")
    for column, row in shapes.iterrows():
        assert 0 <= row["score"] <= 1  # the stored report keeps 0–1
        assert shown.loc[column, present.SCORE] == round(100 * row["score"], 1)
        assert shown.loc[column, present.BAND] == round(100 * row["noise_band"], 1) or pd.isna(row["noise_band"])
    floor = pd.DataFrame(report.data["modalities"]["tabular"]["floor_metrics"]["shapes"]).set_index("column")
    assert shown[present.FLOOR].to_dict() == {c: round(100 * v, 1) for c, v in floor["score"].items()}
    assert report.to_json() == stored  # presenting changed nothing
    coverage = frames["coverage"]
    assert coverage["Covered (%)"].dtype == "Int64" and coverage["Outside (%)"].dtype == "Int64"
    segments = frames["segments"]
    assert segments.columns[0] == "group" and segments["Human rows"].dtype == "Int64"
    assert present.number_formats(segments)["Human rows"] == "%,d"
    assert present.number_formats(segments)["Humanness (0–100)"] == "%.1f"
    assert present.number_formats(coverage)["Covered (%)"] == "%d"


def test_the_weakest_columns_are_named_lowest_first_beside_their_floor_and_noise_band():
    report = _crafted(
        shapes=[{"column": "amount", "score": 0.6123, "noise_band": 0.9571},
                {"column": "country", "score": 0.745},
                {"column": "day", "score": 0.99, "noise_band": 0.9571},
                {"column": "hour", "score": 0.801, "noise_band": 0.9571},
                {"column": "empty", "score": None, "note": "no value left in one sample"}],
        floors=[{"column": "amount", "score": 0.93}, {"column": "country", "score": 0.97},
                {"column": "day", "score": 0.95}, {"column": "hour", "score": 0.96}],
        pairs=[{"pair": "amount|country", "left": "amount", "right": "country", "score": 0.70},
               {"pair": "amount|hour", "left": "amount", "right": "hour", "score": 0.985}],
        floor_pairs=[{"pair": "amount|country", "score": 0.95}, {"pair": "amount|hour", "score": 0.98}])
    assert present.weakest_columns(report) == (
        "Weakest columns: amount (61.2, human vs human 93.0, sampling alone reaches 95.7), "
        "country (74.5, human vs human 97.0), hour (80.1, human vs human 96.0, sampling alone reaches 95.7).")
    assert present.weakest_pairs(report) == (
        "Weakest pairs: amount × country (70.0, human vs human 95.0), "
        "amount × hour (98.5, human vs human 98.0, within sampling noise).")


def test_a_sentence_says_when_every_column_is_within_sampling_noise():
    # Numbers by their noise band (amount is within it, though below its floor); categories within 2.5 points
    # of their floor (the grade's A), so group, a point below it, is within noise too.
    report = _crafted(shapes=[{"column": "amount", "score": 0.97, "noise_band": 0.957},
                              {"column": "country", "score": 0.95}, {"column": "group", "score": 0.96}],
                      floors=[{"column": "amount", "score": 0.995}, {"column": "country", "score": 0.94},
                              {"column": "group", "score": 0.97}])
    assert present.weakest_columns(report) == (
        "All 3 columns are within sampling noise of human data; the lowest is country (95.0, human vs human 94.0).")
    nearly = _crafted(shapes=[{"column": "group", "score": 0.94}], floors=[{"column": "group", "score": 0.97}])
    assert present.weakest_columns(nearly) == "Weakest column: group (94.0, human vs human 97.0)."
    assert present.weakest_pairs(report) is None  # no pair was compared


def test_without_a_noise_floor_the_weakest_are_named_by_score_alone():
    report = _crafted(shapes=[{"column": c, "score": s} for c, s in (("a", 0.5), ("b", 0.9), ("c", 0.7),
                                                                     ("d", 0.8))])
    assert present.weakest_columns(report) == "Weakest columns: a (50.0), c (70.0), d (80.0)."
    assert present.weakest_columns(Assessment({"modalities": {}})) is None


def test_shares_read_as_whole_percents_and_never_round_to_a_false_zero():
    assert [present.percent(v) for v in (0, 0.004, 0.005, 0.4349, 0.996, 1, None)] == \
        ["0%", "<1%", "1%", "43%", ">99%", "100%", "–"]
    assert present.whole_percent(0.4349) == 43 and present.points(0.93456) == 93.5
    assert present.points(None) is None and present.points(float("nan")) is None


PRIVATE = {"exact_copies": 0, "exact_copy_share": 0.0, "baseline_copy_share": 0.0, "dcr_median": 0.9,
           "dcr_baseline_median": 0.5, "dcr_fifth_percentile": 0.2, "dcr_baseline_fifth_percentile": 0.15,
           "closer_to_training_share": 0.51}


@pytest.mark.parametrize("changes, verdicts", [
    ({}, ["ok", "ok", "ok", "ok"]),
    ({"exact_copies": 3, "exact_copy_share": 0.0015}, ["check", "ok", "ok", "ok"]),
    ({"exact_copies": 60, "exact_copy_share": 0.03}, ["flagged", "ok", "ok", "ok"]),
    ({"dcr_median": 0.4}, ["ok", "check", "ok", "ok"]),
    ({"dcr_median": 0.2, "dcr_fifth_percentile": 0.01}, ["ok", "flagged", "check", "ok"]),
    ({"closer_to_training_share": 0.57}, ["ok", "ok", "ok", "check"]),
    ({"closer_to_training_share": 0.7, "exact_copies": 60, "exact_copy_share": 0.03},
     ["flagged", "ok", "ok", "flagged"]),
])
def test_privacy_verdicts_flag_exactly_what_the_warnings_flag(changes, verdicts):
    found = PRIVATE | changes
    report = Assessment({"synthetic": {"rows": 2_000}, "privacy": found, "modalities": {}})
    table = present.privacy_frame(report)
    assert table.columns.tolist() == ["Measure", "Value", "What is safe", "Verdict", "Meaning"]
    assert table["Verdict"].tolist() == verdicts
    assert (table["Verdict"] == "flagged").sum() == len(privacy_flags(found))
    assert table["Meaning"].str.len().gt(0).all() and table["What is safe"].str.len().gt(0).all()
    assert not any(LONG_NUMBER.search(text) for text in table.to_numpy().ravel())


def test_the_privacy_table_of_a_memorising_generator_names_each_measure_with_its_verdict():
    rng = np.random.default_rng(5)
    human = pd.DataFrame({"x": rng.normal(0, 1, 400), "group": rng.choice(["a", "b"], 400)})
    holdout = pd.DataFrame({"x": rng.normal(0, 1, 400), "group": rng.choice(["a", "b"], 400)})
    copied = human.sample(n=300, random_state=1, replace=False)
    report = assess(frame_sample(human, "human.csv"), frame_sample(copied, "synthetic.csv"),
                    frame_sample(holdout, "holdout.csv"))
    table = present.privacy_frame(report).set_index("Measure")
    assert table.index.tolist() == ["Exact copies of human rows", "Distance to the closest human row (median)",
                                    "Distance to the closest human row (closest 5%)",
                                    "Closer to the training rows than to the holdout",
                                    "Nearest-neighbour distance ratio (median)",
                                    "Membership inference (distance attack)"]
    assert table.loc["Membership inference (distance attack)", "Verdict"] == "flagged"
    assert table.loc["Nearest-neighbour distance ratio (median)", "Verdict"] == "flagged"
    assert table.loc["Exact copies of human rows", "Value"] == "300 of 300 rows (100%; 95%: 99%–100%)"
    assert table.loc["Exact copies of human rows", "Verdict"] == "flagged"
    assert table.loc["Closer to the training rows than to the holdout", "Verdict"] == "flagged"
    assert (table["Verdict"] == "flagged").sum() == len(report.data["privacy"]["flags"])
    assert set(table["Verdict"]) <= set(present.VERDICTS)
    notes = present.privacy_notes(report)
    assert notes[0] == "Baseline: the holdout rows, against the human rows."
    assert not any("holdout (human rows" in note for note in notes)  # a holdout was given


def test_the_text_metrics_read_as_a_small_table_rounded_to_what_they_tell():
    human = pd.DataFrame({"text": [f"order {i} arrived late but support was kind" if i % 2 else
                                   f"great value, item {i}, would buy again" for i in range(80)]})
    synthetic = pd.DataFrame({"text": ["This product is great and I recommend it." for _ in range(80)]})
    report = assess(frame_sample(human, "human.csv"), frame_sample(synthetic, "synthetic.csv"),
                    text_column="text")
    table = present.text_frame(report)
    assert table["Metric"].tolist() == ["Length and structure", "Lexical diversity", "Repetition", "Detection",
                                        "Fidelity and diversity (k-NN)"]
    scores = table[_score_columns(table)].stack().dropna()
    assert scores.between(0, 100).all() and (scores.round(1) == scores).all()
    assert table.set_index("Metric").loc["Repetition", present.SCORE] == \
        round(100 * report.data["modalities"]["text"]["scores"]["repetition"], 1)
    found = table.set_index("Metric")["What it found"]
    assert found["Repetition"].startswith("exact duplicates ") and "100% synthetic" in found["Repetition"]
    assert found["Detection"].startswith("AUC ")
    assert not any(LONG_NUMBER.search(line) for line in found)
    assert present.text_caption(report) == "Text column text: 80 human and 80 synthetic texts compared."
    assert present.text_frame(assess(*_two_samples(0.0))).empty


def _ranked_catalog(catalog):
    """A task with three synthetic datasets (gen A, B, C) and the ranking of three samples, one per dataset."""
    from strategy.quality.ranking import assess_candidates

    task = Task(name="Ranked task", domain="D", modality="tabular", metric="F1")
    made = [Dataset(name=f"gen {c}", task_id=task.id, source_kind="synthetic", modality="tabular", samples=10)
            for c in "ABC"]
    catalog.write_batch({"tasks": [task], "datasets": made}, actor="t")
    human, close = _two_samples(0.1, seed=1)
    _, middling = _two_samples(0.6, seed=2)
    _, far = _two_samples(1.5, seed=3)
    candidates = [frame_sample(far.frame, "far.csv"), frame_sample(close.frame, "close.csv"),
                  frame_sample(middling.frame, "middling.csv")]
    ranked = assess_candidates(human, candidates)
    return task, made, ranked


def test_a_ranking_stores_every_report_and_the_decision_reads_the_chosen_one(empty_catalog):
    from strategy.assessments import save_ranking

    task, made, ranked = _ranked_catalog(empty_catalog)
    assert [r.label for r in ranked] == ["close.csv", "middling.csv", "far.csv"]
    mapping = {"far.csv": "gen A", "close.csv": "gen B", "middling.csv": made[2].id}
    stored = save_ranking(empty_catalog, ranked, mapping, actor="tester")
    assert [r.dataset_id for r in stored] == [made[1].id, made[2].id, made[0].id]
    assert empty_catalog.counts()["quality_reports"] == 3
    rankings = [json.loads(empty_catalog.quality_report_json(r.id))["ranking"] for r in stored]
    assert [(r["rank"], r["of"], r["chosen"]) for r in rankings] == [(1, 3, True), (2, 3, False), (3, 3, False)]
    assert len({r["run"] for r in rankings}) == 1
    # The decision reads the chosen sample's humanness, not the mean of the three.
    assert empty_catalog.task_humanness() == {task.id: pytest.approx(stored[0].humanness)}
    assert empty_catalog.recommendation_history(task.id).shape[0] == 1  # recomputed once
    # Choosing another one instead moves the decision to it.
    again = save_ranking(empty_catalog, ranked, mapping, chosen="far.csv", actor="tester")
    assert empty_catalog.task_humanness() == {task.id: pytest.approx(again[2].humanness)}
    # A later plain assessment of an unchosen dataset counts again beside the chosen one.
    human, synthetic = _two_samples(0.0, seed=9)
    plain = save_assessment(empty_catalog, assess(human, synthetic), dataset_id="gen B", actor="tester")
    assert empty_catalog.task_humanness() == {task.id: pytest.approx((again[2].humanness + plain.humanness) / 2)}


@pytest.mark.parametrize("mapping, chosen, message", [
    ({"far.csv": "gen A", "close.csv": "gen B"}, None, "none was given for 'middling.csv'"),
    ({"far.csv": "gen A", "close.csv": "gen B", "middling.csv": "gen B"}, None, "same dataset \\(gen B\\)"),
    ({"far.csv": "gen A", "close.csv": "gen B", "middling.csv": "nope"}, None, "Unknown dataset 'nope'"),
    ({"far.csv": "gen A", "close.csv": "gen B", "middling.csv": "gen C"}, "other.csv", "'other.csv' is not one"),
])
def test_a_ranking_that_cannot_be_stored_whole_writes_nothing(empty_catalog, mapping, chosen, message):
    from strategy.assessments import save_ranking

    _, _, ranked = _ranked_catalog(empty_catalog)
    before = empty_catalog.counts()
    with pytest.raises(StrategyError, match=message):
        save_ranking(empty_catalog, ranked, mapping, chosen=chosen, actor="tester")
    assert empty_catalog.counts() == before
