"""Humanness reports in the catalog: stored by the demo, saved from an assessment, read back for trends, and
fed to the pooled model as a feature (strategy/quality/report.py with strategy/catalog and strategy/recommend)."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from strategy.catalog import LATEST_VERSION, MIGRATIONS, Catalog
from strategy.demo import SEED_DIR
from strategy.errors import StrategyError
from strategy.learning import PooledPrior
from strategy.models import Dataset, QualityReport, Task, utc_now
from strategy.quality import assess, frame_sample
from strategy.quality.report import (
    Assessment,
    dataset_sample,
    distribution,
    find_dataset,
    reports_with_scores,
    save_assessment,
)
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
