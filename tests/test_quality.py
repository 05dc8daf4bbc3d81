"""Humanness metrics (strategy/quality): known answers, agreement with SDMetrics' definitions, the noise floor,
privacy, text, segments, and every kind of bad input."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import ks_2samp

from strategy.errors import AssessmentRejected
from strategy.quality import assess, frame_sample, read_sample, read_texts
from strategy.quality.columns import MISSING_LABEL, as_labels, plan_columns
from strategy.quality.report import GAP_GRADES, SCORE_GRADES, grade, weighted_score
from strategy.quality.samples import load_sample
from strategy.quality.tabular import (
    balls_containing,
    column_pairs,
    column_shapes,
    contingency_distance,
    coverage,
    detection,
    fidelity_diversity,
    ks_statistic,
    total_variation,
)
from strategy.quality.text import distinct_n, jensen_shannon

FIXTURE = Path(__file__).parent / "data" / "quality"


def people(rows: int, seed: int, *, shift: float = 0.0) -> pd.DataFrame:
    """A small table with correlated numbers, categories and a flag; ``shift`` moves it away from seed's."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40 + 12 * shift, 10, rows)
    return pd.DataFrame({
        "age": age,
        "income": 1000 + 30 * age + rng.normal(0, 200, rows) + 900 * shift,
        "region": rng.choice(["n", "s", "e", "w"], rows, p=[0.4, 0.3, 0.2, 0.1] if shift < 0.5 else
                             [0.1, 0.2, 0.3, 0.4]),
        "member": rng.random(rows) < 0.3 + 0.3 * min(shift, 1.0),
    })


def sample(frame: pd.DataFrame, label: str):
    return frame_sample(frame, label)


# --------------------------------------------------------------------------- known answers
@pytest.fixture(scope="module")
def graded():
    """The same human sample against itself, a moderately shifted and a strongly shifted synthetic sample."""
    human = people(1500, 1)
    return {name: assess(sample(human, "human.csv"), sample(other, f"{name}.csv"))
            for name, other in {"identical": human.copy(), "moderate": people(1500, 2, shift=0.1),
                                "strong": people(1500, 3, shift=1.5)}.items()}


def test_identical_data_scores_at_the_top(graded):
    report = graded["identical"]
    scores = report.data["modalities"]["tabular"]["scores"]
    assert scores["shapes"] == pytest.approx(1.0) and scores["pairs"] == pytest.approx(1.0)
    assert scores["coverage"] == pytest.approx(1.0) and scores["fidelity"] >= 0.99
    assert scores["detection"] >= 0.9
    assert report.humanness >= 97 and report.grade == "A"


def test_shifted_data_scores_lower_the_further_it_is_shifted(graded):
    values = {name: r.humanness for name, r in graded.items()}
    assert values["identical"] > values["moderate"] > values["strong"]
    for metric in ("shapes", "detection", "fidelity"):
        scores = [graded[n].data["modalities"]["tabular"]["scores"][metric] for n in ("identical", "moderate",
                                                                                      "strong")]
        assert scores[0] > scores[1] > scores[2], metric
    letters = "ABCDF"
    assert letters.index(graded["strong"].grade) > letters.index(graded["moderate"].grade) >= 0
    assert graded["strong"].data["modalities"]["tabular"]["metrics"]["detection"]["logistic"]["auc"] > 0.9


def test_the_noise_floor_is_human_data_against_itself(graded):
    # The floor depends only on the human sample, so it is the same whatever the synthetic data.
    floors = {round(r.floor, 9) for r in graded.values()}
    assert len(floors) == 1 and 90 < floors.pop() <= 100
    tiny = assess(sample(people(12, 1), "h.csv"), sample(people(12, 2), "s.csv"))
    assert tiny.floor is None and "at least 20 rows" in tiny.data["floor_note"]


def test_grades_follow_the_gap_to_the_floor_or_else_the_score():
    assert grade(None, 90) == "–"
    for limit, letter in GAP_GRADES:
        assert grade(90 - limit, 90) == letter
    assert grade(90 - GAP_GRADES[-1][0] - 0.1, 90) == "F"
    assert grade(95, 90) == "A"  # above the floor
    for limit, letter in SCORE_GRADES:
        assert grade(limit, None) == letter
    assert grade(SCORE_GRADES[-1][0] - 0.1, None) == "F"


def test_a_metric_that_cannot_be_computed_hands_its_weight_to_the_others():
    weights = {"a": 0.5, "b": 0.25, "c": 0.25}
    assert weighted_score({"a": 1.0, "b": 0.0, "c": None}, weights) == pytest.approx(100 * 0.5 / 0.75)
    assert weighted_score({"a": None, "b": None, "c": None}, weights) is None


def test_the_same_seed_gives_the_same_report_and_json_has_no_nan(graded):
    human, other = people(600, 1), people(600, 2, shift=0.35)
    first = assess(sample(human, "h.csv"), sample(other, "s.csv"), seed=7).to_json()
    second = assess(sample(human, "h.csv"), sample(other, "s.csv"), seed=7).to_json()
    assert first == second

    def refuse(value):
        raise ValueError(f"{value} in the report")

    json.loads(graded["strong"].to_json(), parse_constant=refuse)


# --------------------------------------------------------------------------- the metrics' definitions
@pytest.mark.parametrize("sizes", [(50, 70), (400, 300), (1000, 1000)])
def test_ks_statistic_matches_scipy_with_ties(sizes):
    rng = np.random.default_rng(sizes[0])
    a = rng.integers(0, 20, sizes[0]).astype(float)
    b = rng.integers(2, 25, sizes[1]).astype(float)
    assert ks_statistic(a, b) == pytest.approx(ks_2samp(a, b).statistic, abs=1e-12)


def test_ks_statistic_matches_scipy_on_small_samples_one_sided_and_overlapping():
    rng = np.random.default_rng(12)
    for _ in range(300):  # ties, single values, one sample inside the other's range, disjoint samples
        a = rng.integers(0, 6, rng.integers(1, 15)).astype(float)
        b = rng.integers(rng.integers(0, 8), 9, rng.integers(1, 15)).astype(float)
        assert ks_statistic(a, b) == pytest.approx(ks_2samp(a, b).statistic, abs=1e-12), (a, b)
    continuous = rng.normal(size=5_000), rng.normal(0.2, 1.1, 4_000)
    assert ks_statistic(*continuous) == pytest.approx(ks_2samp(*continuous).statistic, abs=1e-12)


def test_total_variation_and_joint_table_distance_by_hand():
    h = pd.Series(["a", "a", "b", "c"])
    s = pd.Series(["a", "b", "b", "d", "d"])
    # p = a .5, b .25, c .25; q = a .2, b .4, d .4 → ½(.3 + .15 + .25 + .4)
    assert total_variation(h, s) == pytest.approx(0.55)
    h_a, h_b = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    s_a, s_b = np.array([0, 0, 0, 1]), np.array([0, 0, 1, 1])
    expected = 0.5 * (pd.crosstab(h_a, h_b, normalize=True).reindex(index=[0, 1], columns=[0, 1], fill_value=0)
                      - pd.crosstab(s_a, s_b, normalize=True).reindex(index=[0, 1], columns=[0, 1],
                                                                        fill_value=0)).abs().to_numpy().sum()
    assert contingency_distance(h_a, h_b, s_a, s_b) == pytest.approx(expected)


def test_a_joint_table_of_many_categories_counts_only_the_cells_that_occur():
    # Two columns of a few thousand categories each: their product has millions of cells, far more than rows,
    # so only the cells that occur are counted; the distance is the same as counting every cell.
    rng = np.random.default_rng(5)
    h_a, h_b, s_a, s_b = (rng.integers(0, 3_000, 2_000) for _ in range(4))
    frame = pd.DataFrame({"a": np.r_[h_a, s_a], "b": np.r_[h_b, s_b], "side": [0] * 2_000 + [1] * 2_000})
    shares = frame.groupby(["side", "a", "b"]).size().unstack("side", fill_value=0) / 2_000
    assert 3_000 * 3_000 > 4 * 4_000 + 1024  # the product is past the dense table's bound
    assert contingency_distance(h_a, h_b, s_a, s_b) == pytest.approx(0.5 * (shares[0] - shares[1]).abs().sum(), abs=1e-12)
    assert contingency_distance(h_a, h_b, h_a, h_b) == 0.0


def _expected_fixture_scores(human: pd.DataFrame, synthetic: pd.DataFrame) -> tuple[dict, dict]:
    """SDMetrics' definitions computed directly with scipy and pandas: KSComplement, TVComplement (missing
    values left out), CorrelationSimilarity (Pearson, rows missing either value left out) and
    ContingencySimilarity (numbers in 10 equal-width bins of the real column's range, outer bins open)."""
    numeric = {"age", "income", "visit_date"}

    def numbers(frame, column):
        values = frame[column]
        if column == "visit_date":
            return pd.to_datetime(values).astype("int64").astype(float) / 1e9
        return values.astype(float)

    shapes = {}
    for column in human.columns:
        if column in numeric:
            shapes[column] = 1 - ks_2samp(numbers(human, column).dropna(), numbers(synthetic, column).dropna()
                                          ).statistic
        else:
            p = human[column].astype(str).value_counts(normalize=True)
            q = synthetic[column].astype(str).value_counts(normalize=True)
            shapes[column] = 1 - 0.5 * p.sub(q, fill_value=0).abs().sum()

    def discrete(column):
        if column not in numeric:
            return human[column].astype(str), synthetic[column].astype(str)
        real = numbers(human, column)
        edges = np.histogram_bin_edges(real.dropna(), bins=10)
        edges[0], edges[-1] = -np.inf, np.inf
        # A missing value is a bin of its own (SDMetrics digitises NaN past the last edge).
        return (pd.cut(real, edges, right=False).astype(object).fillna("missing").astype(str),
                pd.cut(numbers(synthetic, column), edges, right=False).astype(object).fillna("missing").astype(str))

    pairs = {}
    columns = list(human.columns)
    for i, a in enumerate(columns):
        for b in columns[i + 1:]:
            if a in numeric and b in numeric:
                both_h = pd.concat([numbers(human, a), numbers(human, b)], axis=1).dropna()
                both_s = pd.concat([numbers(synthetic, a), numbers(synthetic, b)], axis=1).dropna()
                r_h = both_h.corr().iloc[0, 1]
                r_s = both_s.corr().iloc[0, 1]
                pairs[f"{a}|{b}"] = 1 - abs(r_h - r_s) / 2
            else:
                (ha, sa), (hb, sb) = discrete(a), discrete(b)
                p = pd.crosstab(ha, hb, normalize=True).stack()
                q = pd.crosstab(sa, sb, normalize=True).stack()
                pairs[f"{a}|{b}"] = 1 - 0.5 * p.sub(q, fill_value=0).abs().sum()
    return shapes, pairs


def test_shapes_and_pairs_agree_with_the_sdmetrics_definitions_on_a_fixture():
    human_raw = pd.read_csv(FIXTURE / "human.csv")
    synthetic_raw = pd.read_csv(FIXTURE / "synthetic.csv")
    human, synthetic = read_sample(FIXTURE / "human.csv"), read_sample(FIXTURE / "synthetic.csv")
    plan = plan_columns(human, synthetic)
    assert plan.kinds == {"age": "numeric", "income": "numeric", "visit_date": "datetime", "region": "categorical",
                          "smoker": "boolean", "plan": "categorical"}
    shapes = {r["column"]: r["score"] for r in column_shapes(human.frame, synthetic.frame, plan)}
    pairs = {r["pair"]: r["score"] for r in column_pairs(human.frame, synthetic.frame, plan)}
    expected_shapes, expected_pairs = _expected_fixture_scores(human_raw, synthetic_raw)
    assert shapes == pytest.approx(expected_shapes, abs=1e-6)
    assert pairs == pytest.approx(expected_pairs, abs=1e-6)
    # Values computed once with SDMetrics itself on the same files, kept here so the two stay compared.
    reference = json.loads((FIXTURE / "expected_sdmetrics.json").read_text())
    for column, found in reference["column_shapes"].items():
        assert shapes[column] == pytest.approx(found["score"], abs=1e-6), column
    for pair, found in reference["column_pairs"].items():
        assert pairs[pair] == pytest.approx(found["score"], abs=1e-6), pair


def test_every_pair_is_scored_and_a_constant_side_falls_back_to_the_joint_table():
    rng = np.random.default_rng(0)
    human = pd.DataFrame({"x": rng.normal(size=100), "y": rng.normal(size=100), "k": rng.choice(["a", "b"], 100),
                          "flat": np.ones(100)})
    synthetic = human.assign(flat=rng.normal(size=100))
    plan = plan_columns(sample(human, "h"), sample(synthetic, "s"))
    rows = column_pairs(human, synthetic, plan)
    assert len(rows) == len(plan.tabular) * (len(plan.tabular) - 1) // 2
    fallback = [r for r in rows if "flat" in r["pair"] and r["right"] != "k" and r["left"] != "k"]
    assert fallback and all(r["metric"] == "ContingencySimilarity" and "constant side" in r["note"]
                            for r in fallback)


# --------------------------------------------------------------------------- neighbours
def _brute_balls(queries, centres, radii):
    return (cdist(queries, centres) <= radii[None, :]).sum(axis=1)


@pytest.mark.parametrize("radii_kind", ["equal", "spread", "one huge outlier"])
def test_balls_containing_counts_exactly_like_a_full_distance_matrix(radii_kind):
    rng = np.random.default_rng(3)
    centres, queries = rng.normal(size=(300, 4)), rng.normal(size=(250, 4))
    radii = {"equal": np.full(300, 0.8), "spread": rng.uniform(0.05, 2.0, 300),
             "one huge outlier": np.r_[rng.uniform(0.1, 0.5, 299), 50.0]}[radii_kind]
    assert balls_containing(queries, centres, radii).tolist() == _brute_balls(queries, centres, radii).tolist()


def test_fidelity_and_diversity_of_identical_and_far_apart_clouds():
    cloud = np.random.default_rng(5).normal(size=(400, 3))
    same = fidelity_diversity(cloud, cloud.copy())
    assert same["precision"] == same["recall"] == same["coverage"] == 1.0
    # Each human point's ball holds itself and its k nearest others, so identical clouds give (k + 1) / k.
    assert same["density"] == pytest.approx((same["k"] + 1) / same["k"])
    apart = fidelity_diversity(cloud, cloud + 100)
    assert apart["precision"] == apart["recall"] == apart["coverage"] == apart["density"] == 0.0


def test_detection_cannot_tell_one_distribution_from_itself_but_separates_disjoint_ones():
    rng = np.random.default_rng(9)
    alike = detection(rng.normal(size=(800, 3)), rng.normal(size=(800, 3)), seed=0)
    assert {"logistic", "boosted_tree"} <= set(alike)
    assert alike["score"] == min(alike["logistic"]["score"], alike["boosted_tree"]["score"])
    assert alike["score"] > 0.8
    apart = detection(rng.normal(size=(400, 3)), rng.normal(size=(400, 3)) + 10, seed=0)
    assert apart["logistic"]["auc"] == pytest.approx(1.0) and apart["score"] == pytest.approx(0.0)


def test_coverage_names_missing_and_new_categories_and_matches_range_coverage():
    human = pd.DataFrame({"k": ["a", "b", "c", "c"], "x": [0.0, 10.0, 5.0, 2.0]})
    synthetic = pd.DataFrame({"k": ["a", "b", "z", "z"], "x": [2.0, 8.0, 12.0, 5.0]})
    plan = plan_columns(sample(human, "h"), sample(synthetic, "s"))
    rows = {r["column"]: r for r in coverage(human, synthetic, plan)}
    assert rows["k"]["covered"] == pytest.approx(2 / 3) and rows["k"]["missing_categories"] == ["c"]
    assert rows["k"]["outside"] == pytest.approx(0.5) and rows["k"]["new_categories"] == ["z"]
    # RangeCoverage: 1 − (max(0, (syn_min − min)/range) + max(0, (max − syn_max)/range)) = 1 − (0.2 + 0)
    assert rows["x"]["covered"] == pytest.approx(0.8)
    assert rows["x"]["outside"] == pytest.approx(0.25)


# --------------------------------------------------------------------------- privacy
def test_a_copy_of_the_human_data_is_flagged():
    human = people(500, 1)
    report = assess(sample(human, "h.csv"), sample(human.sample(frac=1, random_state=2), "copy.csv"))
    assert report.data["privacy"]["exact_copy_share"] == 1.0
    assert any("exact copies" in flag for flag in report.data["privacy"]["flags"])
    independent = assess(sample(human, "h.csv"), sample(people(500, 4), "s.csv"))
    assert independent.data["privacy"]["exact_copy_share"] == 0.0
    assert not independent.data["privacy"]["flags"]


def test_the_holdout_shows_whether_synthetic_rows_sit_closer_to_the_training_rows():
    train, holdout = people(800, 1), people(800, 2)
    memorised = assess(sample(train, "train.csv"), sample(train.iloc[:400], "copy.csv"),
                       sample(holdout, "holdout.csv"))
    assert memorised.data["privacy"]["closer_to_training_share"] > 0.9
    assert any("memorise" in flag for flag in memorised.data["privacy"]["flags"])
    fresh = assess(sample(train, "train.csv"), sample(people(800, 3), "fresh.csv"), sample(holdout, "holdout.csv"))
    assert 0.4 <= fresh.data["privacy"]["closer_to_training_share"] <= 0.6


# --------------------------------------------------------------------------- text
PHRASES = ["the parcel came late", "great value for money", "support never answered", "works as described",
           "battery died in a week", "would buy again", "colour differs from the photo", "fits my desk well"]


def human_texts(rows: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [", ".join(rng.choice(PHRASES, size=int(rng.integers(1, 4)), replace=False)) + f" (order {i})"
            for i in range(rows)]


def test_identical_texts_score_high_and_templated_texts_lower():
    texts = human_texts(400, 1)
    human = pd.DataFrame({"review": texts})
    same = assess(sample(human, "h.csv"), sample(human.copy(), "s.csv"), text_column="review")
    assert same.data["modalities"]["text"]["humanness"] >= 90
    templated = pd.DataFrame({"review": ["I recently purchased this item and it works great."] * 300
                              + ["Overall a disappointing purchase."] * 100})
    worse = assess(sample(human, "h.csv"), sample(templated, "t.csv"), text_column="review")
    text = worse.data["modalities"]["text"]
    for metric in ("repetition", "lexical", "detection"):
        assert text["scores"][metric] < same.data["modalities"]["text"]["scores"][metric], metric
    assert text["metrics"]["repetition"]["duplicates"]["synthetic"] == pytest.approx(398 / 400)
    assert text["metrics"]["repetition"]["duplicates"]["human"] == 0.0


def test_distinct_n_and_jensen_shannon_by_hand():
    tokens = [["a", "b", "a"], ["b", "c"]]
    assert distinct_n(tokens, 1) == pytest.approx(3 / 5)
    assert distinct_n(tokens, 2) == pytest.approx(3 / 3)
    assert jensen_shannon(Counter("aab"), Counter("aab")) == pytest.approx(0.0)
    assert jensen_shannon(Counter("aa"), Counter("bb")) == pytest.approx(1.0)


def test_a_text_file_is_one_text_per_line(tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("first text\n\n  \nsecond text\nthird\n", encoding="utf-8")
    assert read_texts(path).frame["text"].tolist() == ["first text", "second text", "third"]


# --------------------------------------------------------------------------- segments
def test_segments_score_each_value_and_list_what_was_left_out():
    rng = np.random.default_rng(2)
    human = pd.DataFrame({"group": ["a"] * 300 + ["b"] * 300 + ["rare"] * 5, "x": rng.normal(size=605),
                          "y": rng.normal(size=605)})
    synthetic = pd.DataFrame({"group": ["a"] * 300 + ["b"] * 300 + ["new"] * 30,
                              "x": np.r_[rng.normal(size=300), rng.normal(3, 1, 300), rng.normal(size=30)],
                              "y": rng.normal(size=630)})
    report = assess(sample(human, "h.csv"), sample(synthetic, "s.csv"), segment_column="group")
    segments = report.segments_table().set_index("value")
    assert list(segments.index) == ["a", "b"]
    assert segments.loc["b", "humanness"] < segments.loc["a", "humanness"] - 10
    found = report.data["segments"]
    assert [row["value"] for row in found["left_out"]] == ["rare"]
    assert found["values_only_in_synthetic"] == ["new"]


# --------------------------------------------------------------------------- bad input
def _rejected(human, synthetic, **options) -> AssessmentRejected:
    with pytest.raises(AssessmentRejected) as refused:
        assess(human, synthetic, **options)
    return refused.value


def test_samples_without_a_shared_column_are_refused():
    error = _rejected(sample(pd.DataFrame({"a": [1, 2]}), "h.csv"), sample(pd.DataFrame({"b": [1, 2]}), "s.csv"))
    assert [(p.source, p.field) for p in error.problems] == [("s.csv", "columns")]
    assert "shares no column with h.csv" in str(error) and "Cannot assess these samples" in str(error)


def test_a_column_typed_differently_is_refused_with_both_kinds_named():
    error = _rejected(sample(pd.DataFrame({"age": [30, 40, 50]}), "h.csv"),
                      sample(pd.DataFrame({"age": ["thirty", "forty", "fifty"]}), "s.csv"))
    assert [(p.source, p.field) for p in error.problems] == [("s.csv", "age")]
    assert "holds text here but numbers in h.csv" in str(error)


def test_a_file_with_one_row_is_refused():
    error = _rejected(sample(pd.DataFrame({"a": [1.0]}), "h.csv"), sample(pd.DataFrame({"a": [1.0, 2.0]}), "s.csv"))
    assert [(p.source, p.field) for p in error.problems] == [("h.csv", "file")]
    assert "at least 2 rows" in str(error)


def test_a_text_column_without_text_is_refused():
    human = pd.DataFrame({"note": ["", None, "  "], "x": [1, 2, 3]})
    error = _rejected(sample(human, "h.csv"), sample(pd.DataFrame({"note": ["hi", "yo", "ok"], "x": [1, 2, 3]}),
                                                     "s.csv"), text_column="note")
    assert [(p.source, p.field) for p in error.problems] == [("h.csv", "note")]
    assert "holds no text" in str(error)


@pytest.mark.parametrize(("options", "field"), [({"columns": ["nope"]}, "nope"), ({"segment_column": "ghost"}, "ghost"),
                                                ({"text_column": "ghost"}, "ghost")])
def test_a_chosen_column_that_is_not_shared_is_refused(options, field):
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    error = _rejected(sample(frame, "h.csv"), sample(frame.copy(), "s.csv"), **options)
    assert field in [p.field for p in error.problems]


@pytest.mark.parametrize(("options", "reason"), [
    ({"columns": ["a"], "segment_column": "b"}, "is not among the columns to compare"),
    ({"ignore": ["b"], "segment_column": "b"}, "ignored as chosen"),
    ({"segment_column": "c"}, "is constant"),
])
def test_a_segment_column_that_would_not_be_scored_is_refused_with_the_reason(options, reason):
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": ["x", "y", "x", "y"], "c": ["k"] * 4})
    error = _rejected(sample(frame, "h.csv"), sample(frame.copy(), "s.csv"), **options)
    field = options["segment_column"]
    assert [(p.source, p.field) for p in error.problems] == [("h.csv", field)]
    assert "was chosen as the segment column but" in str(error) and reason in str(error)


def test_columns_that_cannot_be_compared_are_skipped_with_the_reason():
    rows = 80
    rng = np.random.default_rng(1)
    human = pd.DataFrame({"x": rng.normal(size=rows), "empty": [None] * rows, "same": ["k"] * rows,
                          "id": [f"h{i}" for i in range(rows)], "flat_in_human": np.zeros(rows)})
    synthetic = human.assign(x=rng.normal(size=rows), id=[f"s{i}" for i in range(rows)],
                             flat_in_human=rng.normal(size=rows))
    report = assess(sample(human, "h.csv"), sample(synthetic, "s.csv"))
    skipped = report.data["skipped"]
    assert set(skipped) == {"empty", "same", "id"}
    assert "has no value in h.csv" in skipped["empty"]
    assert "constant" in skipped["same"]
    assert "identifier or free text" in skipped["id"]
    assert set(report.data["modalities"]["tabular"]["columns"]) == {"x", "flat_in_human"}


def test_files_in_every_format_give_the_same_kinds(tmp_path):
    frame = pd.DataFrame({"n": [1.5, 2.0, None], "when": ["2026-01-01", "2026-02-01", "2026-03-01"],
                          "ok": [True, False, True], "k": ["a", "b", "a"]})
    frame.to_csv(tmp_path / "f.csv", index=False)
    frame.assign(when=pd.to_datetime(frame["when"])).to_parquet(tmp_path / "f.parquet")
    frame.to_json(tmp_path / "f.jsonl", orient="records", lines=True)
    kinds = []
    for name in ("f.csv", "f.parquet", "f.jsonl"):
        loaded = read_sample(tmp_path / name)
        kinds.append(plan_columns(loaded, loaded).kinds)
    assert kinds[0] == kinds[1] == kinds[2] == {"n": "numeric", "when": "datetime", "ok": "boolean",
                                                "k": "categorical"}


def test_a_file_that_is_not_utf8_is_refused_with_its_name(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("city\nZürich\nMünchen\n".encode("latin-1"))
    with pytest.raises(AssessmentRejected) as refused:
        load_sample(path)
    assert f"{path}, field 'file': is not UTF-8 text" in str(refused.value)


@pytest.mark.parametrize("suffix", ["", "Z", "+00:00", "+02:00"])
def test_timestamps_read_alike_from_csv_and_json_lines(tmp_path, suffix):
    stamps = [f"2026-01-0{d}T1{d}:00:00{suffix}" for d in range(1, 4)]
    (tmp_path / "t.csv").write_text("at,v\n" + "".join(f"{s},{i}\n" for i, s in enumerate(stamps)), encoding="utf-8")
    (tmp_path / "t.jsonl").write_text("".join(json.dumps({"at": s, "v": i}) + "\n" for i, s in enumerate(stamps)),
                                      encoding="utf-8")
    expected = list(pd.to_datetime(stamps, utc=True).tz_localize(None))
    for name in ("t.csv", "t.jsonl"):
        frame = read_sample(tmp_path / name).frame
        assert pd.api.types.is_datetime64_any_dtype(frame["at"]), f"{name}: {frame['at'].dtype}"
        assert list(frame["at"]) == expected, name


@pytest.mark.parametrize("column", [
    pd.Series(["north", None, "south", "north"], dtype=str, name="region"),
    pd.Series([True, False, None], dtype="boolean"),
    pd.Series([True, False, True]),
    pd.Series([1.5, np.nan, 2.0, 1.5]),
    pd.Series([3, 1, 3]),
    pd.Series(pd.Categorical(["x", None, "y"])),
    pd.Series([1, 1.0, True, "a", None], dtype=object),  # equal under hashing, each its own text
    pd.Series(["a", "b"], index=[5, 9]),
    pd.Series([], dtype=str),
], ids=["str", "nullable-bool", "bool", "float", "int", "categorical", "mixed-object", "index", "empty"])
def test_labels_are_each_value_as_text_with_missing_as_a_category_of_its_own(column):
    """The labels shapes, pairs, the encoder and copy fingerprints compare: every value's own text, in its
    row, and a missing value as one label of its own (typed columns take a faster path than object ones)."""
    labels = as_labels(column)
    expected = [MISSING_LABEL if pd.isna(value) else str(value) for value in column.astype(object)]
    assert labels.tolist() == expected
    assert labels.index.equals(column.index) and labels.name == column.name
    assert all(isinstance(label, str) for label in labels)


def test_pair_correlations_are_each_pairs_own_whether_or_not_a_value_is_missing():
    """Without missing values every pair's correlation comes from one matrix; a missing value elsewhere sends
    each pair to its own rows. Both give every pair the correlation of its two columns, as computed alone."""
    rng = np.random.default_rng(4)

    def sample(shift):
        a = rng.normal(0, 1, 400)
        return pd.DataFrame({"a": a, "b": a * (0.8 - shift) + rng.normal(0, 0.6, 400), "c": rng.normal(0, 1, 400),
                             "d": rng.exponential(1 + shift, 400)})

    human, synthetic = sample(0.0), sample(0.5)
    plan = plan_columns(frame_sample(human, "human"), frame_sample(synthetic, "synthetic"))

    def by_hand(frame, left, right):
        both = frame[[left, right]].dropna()
        return np.corrcoef(both[left], both[right])[0, 1]

    for holes in (False, True):
        if holes:
            human.loc[::9, "d"] = np.nan
        pairs = {row["pair"]: row for row in column_pairs(human, synthetic, plan)}
        assert len(pairs) == 6
        for row in pairs.values():
            assert row["metric"] == "CorrelationSimilarity"
            assert row["human"] == pytest.approx(by_hand(human, row["left"], row["right"]), abs=1e-12)
            assert row["synthetic"] == pytest.approx(by_hand(synthetic, row["left"], row["right"]), abs=1e-12)
            assert row["score"] == pytest.approx(1 - abs(row["human"] - row["synthetic"]) / 2, abs=1e-12)
