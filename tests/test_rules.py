"""The rulebook on its own: the reference article's scenarios, rules-only recommendations and the rulebook file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategy.budget import sourcing_class
from strategy.errors import StrategyError
from strategy.models import FACTOR_NAMES, Recommendation, Task
from strategy.recommend import Scenario, TaskEvidence, decide, rules_confidence
from strategy.rules import RULEBOOK_PATH, Rulebook, default_rulebook

BUDGET = 200_000.0

MEDICAL = {"domain_expertise": 4, "safety_risk": 4, "context_dependence": 4}
INTRUSION = {"rare_events": 4, "volume_needed": 4, "balance_needed": 4, "robustness_variations": 4}
SCARCE_VOLUME = {"human_data_scarcity": 4, "volume_needed": 4}
SARCASM = {"subjectivity": 4, "cultural_knowledge": 4, "interaction": 3, "context_dependence": 4}
FULLY_SYNTHETIC = {"volume_needed": 4, "rare_events": 4, "balance_needed": 4, "robustness_variations": 4,
                   "privacy_limits": 4, "human_data_scarcity": 4}


def make_task(profile: dict[str, int], *, modality: str = "text", **fields) -> Task:
    return Task(name="scenario", domain="Article", modality=modality, metric="accuracy", **profile, **fields)


def no_outcomes(task: Task) -> TaskEvidence:
    empty = np.array([], dtype=float)
    return TaskEvidence(task=task, n_human=empty, n_synthetic=empty, values=empty)


def rules_only(task: Task, budget: float = BUDGET) -> Recommendation:
    recommendation, fit = decide(no_outcomes(task), Scenario(budget=budget))
    assert fit is None, "a task without outcomes must not be fitted"
    return recommendation


def fired_ids(recommendation_or_verdict) -> list[str]:
    items = recommendation_or_verdict.rules if hasattr(recommendation_or_verdict, "rules") \
        else recommendation_or_verdict.fired
    return [item.id for item in items]


def assert_rules_only(recommendation: Recommendation) -> None:
    assert recommendation.basis == "rules"
    assert recommendation.low_confidence is True
    assert recommendation.confidence <= 0.5
    assert recommendation.expected_metric.value is None
    assert recommendation.expected_metric.low is None and recommendation.expected_metric.high is None
    assert recommendation.evidence_count == 0
    assert recommendation.model_version.startswith("none")
    spent = recommendation.spend_human + recommendation.spend_synthetic + recommendation.eval_set.cost
    assert spent <= recommendation.budget + 1e-6


# --------------------------------------------------------------------------- article scenarios
def test_expert_medical_diagnosis_needs_an_expert_evaluation_set():
    task = make_task(MEDICAL)
    verdict = default_rulebook().evaluate(task.profile())
    assert {"H-EXPERT", "H-SAFETY", "H-CONTEXT", "G-COLLAPSE"} <= set(fired_ids(verdict))
    assert verdict.floor == pytest.approx(0.4)
    assert verdict.eval_tier == "expert"
    assert verdict.eval_size >= 300
    recommendation = rules_only(task)
    assert_rules_only(recommendation)
    assert recommendation.eval_set.tier == "expert"
    assert recommendation.eval_set.size == verdict.eval_size
    assert recommendation.human_floor == pytest.approx(0.4)
    assert recommendation.human_share_spend >= 0.4
    assert "expert partnerships" in recommendation.uses


def test_expert_medical_diagnosis_is_sourced_from_people():
    task = make_task(MEDICAL)
    assert default_rulebook().evaluate(task.profile()).prior_human_share >= 0.8
    recommendation = rules_only(task)
    assert recommendation.sourcing == "human"
    assert recommendation.human_share_spend >= 0.8


def test_network_intrusion_is_synthetic_but_keeps_fresh_human_data():
    task = make_task(INTRUSION, modality="tabular")
    verdict = default_rulebook().evaluate(task.profile())
    assert {"S-RARE", "S-VOLUME", "S-BALANCE", "S-ROBUST", "G-COLLAPSE"} <= set(fired_ids(verdict))
    assert verdict.guard == "kept"
    assert verdict.floor == pytest.approx(0.05)
    # The shifts alone would take the share to 0; the collapse guard's floor holds it up.
    assert verdict.prior_human_share == pytest.approx(0.05)
    assert sourcing_class(verdict.prior_human_share) == "synthetic"
    assert "simulate rare events" in verdict.uses

    recommendation = rules_only(task)
    assert_rules_only(recommendation)
    assert recommendation.sourcing == "synthetic"
    assert recommendation.n_human > 0
    assert recommendation.n_synthetic > recommendation.n_human
    assert recommendation.eval_set.size > 0
    assert recommendation.collapse_guard == "kept"
    assert "G-COLLAPSE" in fired_ids(recommendation)
    assert recommendation.human_share_spend >= recommendation.human_floor - 1e-9


def test_collapse_guard_keeps_human_data_even_on_a_small_budget():
    recommendation = rules_only(make_task(INTRUSION, modality="tabular"), budget=17.0)
    assert recommendation.collapse_guard == "kept"
    assert recommendation.n_human > 0
    assert recommendation.human_share_spend >= recommendation.human_floor - 1e-9


def test_scarce_human_data_and_high_volume_pretrain_on_synthetic_then_fine_tune():
    task = make_task(SCARCE_VOLUME, modality="image")
    verdict = default_rulebook().evaluate(task.profile())
    assert "R-PRETRAIN" in fired_ids(verdict)
    assert verdict.regimes[0] == "synthetic_pretrain_human_finetune"
    recommendation = rules_only(task)
    assert_rules_only(recommendation)
    assert recommendation.regime == "synthetic_pretrain_human_finetune"
    assert recommendation.n_human > 0 and recommendation.n_synthetic > 0


def test_subjective_culturally_loaded_speech_is_human_heavy():
    task = make_task(SARCASM, modality="audio")
    verdict = default_rulebook().evaluate(task.profile())
    assert {"H-SUBJECTIVE", "H-CULTURE", "H-INTERACT", "H-CONTEXT"} <= set(fired_ids(verdict))
    assert verdict.prior_human_share >= 0.8
    recommendation = rules_only(task)
    assert_rules_only(recommendation)
    assert recommendation.human_share_spend >= 0.8
    assert recommendation.sourcing == "human"
    assert recommendation.eval_set.size >= 500


def test_rules_only_next_experiment_is_a_pilot_within_the_budget():
    recommendation = rules_only(make_task(SCARCE_VOLUME))
    pilot = recommendation.next_experiment
    assert pilot is not None
    assert 0 < pilot.cost <= recommendation.spend_human + recommendation.spend_synthetic
    assert "No outcomes yet" in pilot.reason


# --------------------------------------------------------------------------- the rulebook itself
def test_every_rule_explains_itself_and_ids_are_unique():
    rulebook = Rulebook.load()
    assert rulebook.rules
    ids = [rule.id for rule in rulebook.rules] + [rulebook.collapse_guard.id]
    assert all(isinstance(i, str) and i.strip() for i in ids)
    assert len(ids) == len(set(ids))
    for rule in [*rulebook.rules, rulebook.collapse_guard]:
        assert rule.rationale.strip(), rule.id
        assert rule.principle.strip(), rule.id
    for rule in rulebook.rules:
        assert rule.when, f"{rule.id} has no condition"
        assert rule.effect() != "no effect", f"{rule.id} does nothing"


def test_fired_rules_carry_rationale_into_the_recommendation():
    recommendation = rules_only(make_task(SARCASM, modality="audio"))
    rulebook = default_rulebook()
    by_id = {rule.id: rule for rule in rulebook.rules}
    for fired in recommendation.rules:
        assert fired.effect and fired.rationale and fired.principle
        if fired.id in by_id:
            assert fired.rationale == by_id[fired.id].rationale


def test_collapse_guard_opt_out_waives_floor_and_says_so():
    reason = "simulation-only benchmark, retrained from scratch each time"
    task = make_task(FULLY_SYNTHETIC, collapse_guard_opt_out=reason)
    verdict = default_rulebook().evaluate(task.profile(), opt_out_reason=reason)
    assert verdict.floor == 0.0
    assert verdict.prior_human_share == 0.0
    assert verdict.guard == f"waived: {reason}"
    guard = [fired for fired in verdict.fired if fired.id == "G-COLLAPSE"]
    assert len(guard) == 1 and "waived" in guard[0].effect and reason in guard[0].rationale

    recommendation = rules_only(task)
    assert recommendation.human_floor == 0.0
    assert recommendation.collapse_guard == f"waived: {reason}"
    waived = [rule for rule in recommendation.rules if rule.id == "G-COLLAPSE"]
    assert len(waived) == 1 and "waived" in waived[0].effect
    assert recommendation.n_human == 0
    assert recommendation.sourcing == "synthetic"
    assert recommendation.regime == "synthetic_only"

    # Without the opt-out the same profile keeps the guard.
    kept = rules_only(make_task(FULLY_SYNTHETIC))
    assert kept.collapse_guard == "kept"
    assert kept.human_floor == pytest.approx(0.05)
    assert kept.n_human > 0


def test_rule_weight_scales_its_shift():
    rulebook = Rulebook.load()
    profile = make_task({"volume_needed": 4}).profile()
    before = rulebook.evaluate(profile).prior_human_share
    volume = next(rule for rule in rulebook.rules if rule.id == "S-VOLUME")
    assert before == pytest.approx(rulebook.base_human_share + volume.shift)

    def with_weight(weight: float) -> Rulebook:
        rules = [rule.model_copy(update={"weight": weight}) if rule.id == "S-VOLUME" else rule
                 for rule in rulebook.rules]
        return rulebook.model_copy(update={"rules": rules})

    muted = with_weight(0.0).evaluate(profile)
    assert muted.prior_human_share == pytest.approx(rulebook.base_human_share)
    assert "S-VOLUME" in fired_ids(muted), "a zero-weight rule still fires (its uses and rationale remain)"
    doubled = with_weight(2.0).evaluate(profile)
    assert doubled.prior_human_share == pytest.approx(rulebook.base_human_share + 2 * volume.shift)
    # The original rulebook is untouched.
    assert rulebook.evaluate(profile).prior_human_share == pytest.approx(before)


def test_with_weights_matches_a_hand_made_copy_and_refuses_unknown_rules():
    rulebook = Rulebook.load()
    profile = make_task({"volume_needed": 4, "interaction": 4}).profile()
    tuned = rulebook.with_weights({"S-VOLUME": 0.0}, "test+w1")
    assert tuned.version == "test+w1"
    assert tuned.evaluate(profile).prior_human_share == pytest.approx(
        rulebook.base_human_share + next(r.shift for r in rulebook.rules if r.id == "H-INTERACT"))
    with pytest.raises(StrategyError, match="NO-SUCH-RULE"):
        rulebook.with_weights({"NO-SUCH-RULE": 1.0}, "test+w2")
    with pytest.raises(StrategyError, match="less than or equal to 5"):
        rulebook.with_weights({"S-VOLUME": 6.0}, "test+w3")


def test_shifts_never_cross_a_floor():
    rulebook = default_rulebook()
    verdict = rulebook.evaluate(make_task({**INTRUSION, "domain_expertise": 4}).profile())
    assert verdict.floor == pytest.approx(0.4)
    assert verdict.prior_human_share >= verdict.floor


@pytest.mark.parametrize("content", [
    "{ not json",
    json.dumps({"version": "x", "base_human_share": 0.5, "rules": []}),  # no collapse guard
    None,  # a rule on an unknown factor (built below)
])
def test_malformed_rulebook_names_the_file(tmp_path, content):
    if content is None:
        data = json.loads(RULEBOOK_PATH.read_text(encoding="utf-8"))
        data["rules"][0]["when"] = [["vibes", ">=", 3]]
        content = json.dumps(data)
    path = tmp_path / "broken_rulebook.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(StrategyError, match="broken_rulebook.json"):
        Rulebook.load(path)


def test_missing_rulebook_names_the_file(tmp_path):
    with pytest.raises(StrategyError, match="nowhere.json"):
        Rulebook.load(tmp_path / "nowhere.json")


profiles = st.fixed_dictionaries({name: st.integers(0, 4) for name in FACTOR_NAMES})


@settings(max_examples=40, deadline=None, derandomize=True)
@given(profile=profiles)
def test_rules_confidence_never_exceeds_one_half(profile):
    task = make_task(profile)
    rulebook = default_rulebook()
    verdict = rulebook.evaluate(task.profile())
    confidence = rules_confidence(rulebook, task, verdict)
    assert 0.0 <= confidence <= 0.5
    assert 0.0 <= verdict.prior_human_share <= 1.0
    assert verdict.prior_human_share >= verdict.floor >= 0.05
