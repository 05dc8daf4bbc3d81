"""Several synthetic samples ranked against one human sample (strategy.quality.ranking) and the ranking's
display (strategy.quality.present)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategy.errors import AssessmentRejected
from strategy.quality import present
from strategy.quality.columns import Sample
from strategy.quality.privacy import THRESHOLDS, crossed
from strategy.quality.ranking import RISK_CAP, assess_candidates, check_candidates, privacy_risk, rank
from strategy.quality.report import assess


def table(rng: np.random.Generator, n: int, *, shift: float = 0.0, spread: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame({"amount": rng.normal(50 + shift, 10 * spread, n).round(2),
                         "age": rng.normal(40 + shift / 2, 8 * spread, n).round(1),
                         "country": rng.choice(["GB", "FR", "DE"], n, p=[0.5, 0.3, 0.2])})


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(11)
    human = Sample("human.csv", table(rng, 400))
    holdout = Sample("holdout.csv", table(rng, 400))
    close = Sample("vendor-a.csv", table(rng, 400))
    far = Sample("vendor-b.csv", table(rng, 400, shift=12, spread=1.8))
    copied = Sample("copies.csv", human.frame.sample(frac=1.0, random_state=3).reset_index(drop=True))
    return human, holdout, [far, copied, close]


def test_candidates_are_ranked_by_fidelity_and_a_leaking_one_last(samples):
    human, holdout, candidates = samples
    ranked = assess_candidates(human, candidates, holdout)
    assert [r.label for r in ranked] == ["vendor-a.csv", "vendor-b.csv", "copies.csv"]
    assert [r.rank for r in ranked] == [1, 2, 3]
    # The copies are the most "human" by fidelity, yet rank last: they cross privacy thresholds.
    assert ranked[2].humanness > ranked[0].humanness > ranked[1].humanness
    assert ranked[2].crossed and not ranked[0].crossed and not ranked[1].crossed
    assert ranked[2].privacy_risk == RISK_CAP
    assert ranked[0].privacy_risk < 1 and ranked[1].privacy_risk < 1


def test_each_ranked_report_is_the_report_of_assessing_that_sample_alone(samples):
    human, holdout, candidates = samples
    ranked = {r.label: r for r in assess_candidates(human, candidates, holdout, seed=4)}
    for candidate in candidates:
        alone = assess(human, candidate, holdout, seed=4)
        assert ranked[candidate.label].assessment.data == alone.data


def test_ties_in_humanness_go_to_the_lower_privacy_risk_then_to_the_order_given():
    def report(humanness, auc):
        from strategy.quality.report import Assessment
        found = {"membership_auc": auc, "exact_copy_share": 0.0, "baseline_copy_share": 0.0}
        return Assessment({"humanness": humanness, "floor": 90.0, "grade": "A", "privacy": found | {
            "crossed": crossed(found)}})

    ranked = rank({"first": report(80.0, 0.55), "second": report(80.0, 0.52), "third": report(80.0, 0.52)})
    assert [r.label for r in ranked] == ["second", "third", "first"]


@pytest.mark.parametrize("name, result, at_threshold", [
    ("copy_margin", {"exact_copy_share": 0.03, "baseline_copy_share": 0.02}, {"exact_copy_share": 0.03,
                                                                             "baseline_copy_share": 0.02}),
    ("membership_auc", {"membership_auc": 0.5}, {"membership_auc": 0.6}),
    ("dcr_share", {"closer_to_training_share": 0.5}, {"closer_to_training_share": 0.6}),
    ("dcr_ratio", {"dcr_median": 2.0, "dcr_baseline_median": 2.0}, {"dcr_median": 1.0, "dcr_baseline_median": 2.0}),
    ("nndr_ratio", {"nndr_median": 0.8, "nndr_baseline_median": 0.8}, {"nndr_median": 0.4,
                                                                       "nndr_baseline_median": 0.8}),
])
def test_privacy_risk_is_0_without_memorisation_and_1_at_each_threshold(name, result, at_threshold):
    assert THRESHOLDS[name]
    if name != "copy_margin":
        assert privacy_risk(result) == pytest.approx(0.0)
    assert privacy_risk(at_threshold) == pytest.approx(1.0)
    # One step past the threshold crosses it, as the report's own rule says.
    key = next(k for k in at_threshold if not k.endswith("baseline_median") and k != "baseline_copy_share")
    past = dict(at_threshold)
    past[key] += 0.01 if key in ("exact_copy_share", "membership_auc", "closer_to_training_share") else -0.01
    assert privacy_risk(past) > 1 and name in crossed(past)
    assert privacy_risk({}) is None


def test_a_risk_far_past_a_threshold_is_capped():
    assert privacy_risk({"exact_copy_share": 1.0, "baseline_copy_share": 0.0}) == RISK_CAP


def test_a_candidate_compared_on_other_columns_is_refused_naming_the_file_and_column(samples):
    human, _, candidates = samples
    other = Sample("other.csv", candidates[0].frame.drop(columns=["country"]).assign(colour="red"))
    with pytest.raises(AssessmentRejected) as caught:
        check_candidates(human, [candidates[0], other])
    assert "other.csv, field 'country': compared for vendor-b.csv but not here" in str(caught.value)
    # Choosing the shared columns makes them comparable.
    assert check_candidates(human, [candidates[0], other], columns=["amount", "age"]) == ("amount", "age")


def test_a_ranking_needs_two_distinct_candidates(samples):
    human, _, candidates = samples
    with pytest.raises(AssessmentRejected, match="at least two synthetic samples"):
        check_candidates(human, candidates[:1])
    with pytest.raises(AssessmentRejected, match="vendor-b.csv, field 'synthetic': given more than once"):
        check_candidates(human, [candidates[0], candidates[0]])


def test_an_empty_holdout_or_mismatched_kinds_are_refused_before_any_assessment(samples):
    human, _, candidates = samples
    empty = Sample("empty-holdout.csv", human.frame.iloc[:0])
    with pytest.raises(AssessmentRejected, match="empty-holdout.csv"):
        assess_candidates(human, candidates[:2], empty)
    texty = Sample("texty.csv", candidates[0].frame.assign(amount="lots"))
    with pytest.raises(AssessmentRejected, match="texty.csv"):
        assess_candidates(human, [candidates[2], texty])


def test_the_ranking_table_and_sentence(samples):
    human, holdout, candidates = samples
    ranked = assess_candidates(human, candidates, holdout)
    frame = present.ranking_frame(ranked)
    assert frame[present.RANK].tolist() == [1, 2, 3]
    assert frame[present.SAMPLE].tolist() == [r.label for r in ranked]
    assert frame[present.SCORE].tolist() == [round(r.humanness, 1) for r in ranked]
    assert frame[present.CROSSED].iloc[0] == "none" and "membership_auc" in frame[present.CROSSED].iloc[2]
    sentence = present.ranking_sentence(ranked)
    gap = ranked[0].humanness - ranked[1].humanness
    assert sentence == (f"vendor-a.csv ranks first with humanness {ranked[0].humanness:.1f}, {gap:.1f} points "
                        "ahead of vendor-b.csv; copies.csv crosses a privacy threshold and ranks last.")
