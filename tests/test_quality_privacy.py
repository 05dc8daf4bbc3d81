"""Privacy against a holdout (strategy/quality/privacy): the DCR share with its interval, identical matches,
the nearest-neighbour distance ratio and a distance-based membership-inference attack, each judged against a
threshold that is a setting; a memorising generator crosses them and an independent one does not."""

from __future__ import annotations

import pytest

from strategy.ingest import BadSetting
from strategy.quality import assess, frame_sample
from strategy.quality.privacy import THRESHOLDS, auc_interval, crossed, thresholds, wilson_interval
from tests.test_quality import people


# A holdout as large as the training rows shares the closest-record search of those rows; a smaller one draws
# as many training rows as it has and searches them apart. Both must tell memorising from independent.
@pytest.fixture(scope="module", params=[1200, 300], ids=["holdout as large", "smaller holdout"])
def reports(request):
    train, holdout = people(1200, 1), people(request.param, 2)
    near_copies = train.iloc[:800].copy()
    near_copies["age"] += 0.01  # not exact copies: only the distance measures can see them
    made = {"memorising": near_copies, "independent": people(800, 3)}
    found = {name: assess(frame_sample(train, "train.csv"), frame_sample(synthetic, f"{name}.csv"),
                          frame_sample(holdout, "holdout.csv")).data["privacy"] for name, synthetic in made.items()}
    for report in found.values():
        assert report["membership_rows_per_side"] == request.param and report["reference_rows"] == 1200
    return found


def test_an_independent_generator_reads_as_chance_on_every_measure(reports):
    found = reports["independent"]
    low, high = found["closer_to_training_interval"]
    assert low <= 0.5 <= high and high - low < 0.1
    low, high = found["membership_auc_interval"]
    assert low <= 0.5 <= high
    assert found["nndr_median"] >= THRESHOLDS["nndr_ratio"].default * found["nndr_baseline_median"]
    assert found["crossed"] == [] and found["flags"] == []


def test_a_generator_that_memorises_without_copying_exactly_is_caught(reports):
    found = reports["memorising"]
    assert found["exact_copies"] == 0  # the shift hides them from the exact match
    # Against a holdout of 300, 300 of the 1,200 training rows are drawn, so only about a quarter of the near
    # copies find their original among them: the share is lower, yet still over its threshold.
    least_share = 0.9 if found["membership_rows_per_side"] == 1200 else THRESHOLDS["dcr_share"].default
    assert found["membership_auc_interval"][0] > 0.6 and found["closer_to_training_share"] > least_share
    assert found["nndr_median"] < 0.5 * found["nndr_baseline_median"]
    assert set(found["crossed"]) >= {"dcr_share", "nndr_ratio", "membership_auc"}
    assert len(found["flags"]) == len(found["crossed"])
    assert any("attacker tells training rows from unseen ones" in flag for flag in found["flags"])
    assert found["thresholds"] == {name: t.default for name, t in THRESHOLDS.items()}


def test_thresholds_are_settings_and_a_bad_one_is_named(monkeypatch, reports):
    found = dict(reports["memorising"])
    monkeypatch.setenv("STRATEGY_PRIVACY_MEMBERSHIP_AUC", "0.99")
    found["thresholds"] = thresholds()
    assert found["thresholds"]["membership_auc"] == 0.99 and "membership_auc" not in crossed(found)
    monkeypatch.setenv("STRATEGY_PRIVACY_MEMBERSHIP_AUC", "high")
    with pytest.raises(BadSetting, match="STRATEGY_PRIVACY_MEMBERSHIP_AUC must be a number above 0 and at most 1"):
        thresholds()
    # A stored report is judged by the thresholds it was made with, not today's settings.
    monkeypatch.delenv("STRATEGY_PRIVACY_MEMBERSHIP_AUC")
    assert "membership_auc" not in crossed(found)


def test_the_intervals_match_their_textbook_values():
    # Wilson's interval for 50 of 100: 0.404–0.596; for 0 of 20 it stays above 0 at the top (0.161).
    assert wilson_interval(0.5, 100) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    assert wilson_interval(0.0, 20) == pytest.approx((0.0, 0.1611), abs=1e-4)
    # Hanley and McNeil for AUC 0.9 with 50 and 50: Q1 = 0.9/1.1, Q2 = 1.62/1.9, so the variance is
    # (0.09 + 49 (Q1 - 0.81) + 49 (Q2 - 0.81)) / 2500 = 0.001032 and the standard error 0.0321.
    low, high = auc_interval(0.9, 50, 50)
    assert (high - low) / (2 * 1.959964) == pytest.approx(0.0321, abs=2e-4)
    assert auc_interval(0.999, 50, 50)[1] == 1.0  # never past 1


def _rounded_people(rows: int, seed: int):
    """A population with many natural duplicates: a whole-number amount and a country."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame({"amount": rng.normal(50, 10, rows).round(0), "country": rng.choice(["GB", "FR", "DE"], rows)})


def test_human_repeats_are_counted_against_as_many_rows_as_synthetic_copies_are():
    # Without a holdout, a human row's repeats are counted against every other human row, as a synthetic row
    # is checked against every human row: a fresh sample of the same population matches about as often.
    human = _rounded_people(300, 0)
    found = assess(frame_sample(human, "human.csv"), frame_sample(_rounded_people(300, 1), "fresh.csv")).data["privacy"]
    hashes = human.astype(str).agg("|".join, axis=1)
    assert found["baseline_copy_share"] == pytest.approx(hashes.duplicated(keep=False).mean())
    assert abs(found["exact_copy_share"] - found["baseline_copy_share"]) < 0.05


def test_chance_matches_in_a_small_sample_are_not_read_as_copying():
    # 40 fresh samples of a population full of natural duplicates: the copy threshold, judged on the lower end
    # of the share's interval, is crossed about as often as a 95% interval allows, not every time (as it was
    # when half the human rows were checked against the other half).
    flagged = 0
    for seed in range(20):
        human, fresh = _rounded_people(300, 2 * seed), _rounded_people(300, 2 * seed + 1)
        found = assess(frame_sample(human, "human.csv"), frame_sample(fresh, "fresh.csv")).data["privacy"]
        flagged += "copy_margin" in found["crossed"]
    assert flagged <= 3
    copies = _rounded_people(300, 99)
    found = assess(frame_sample(copies, "human.csv"), frame_sample(copies.iloc[::-1], "copies.csv")).data["privacy"]
    assert "copy_margin" in found["crossed"] and found["exact_copy_interval"][0] > 0.98
