"""The decision under the posterior: class by what each source adds, confidence from draws, the next
experiment by its value of information, and the chance of reaching a target."""

from __future__ import annotations

import numpy as np
import pytest

from strategy import decision
from strategy.budget import Costs, Plan
from strategy.learning import curve
from strategy.surface import SurfacePosterior

COSTS = Costs(human=1.0, synthetic=0.01)


def line() -> list[Plan]:
    """Three plans on a $100 budget line: human only, a mix, synthetic-led (human at a 5% floor)."""
    return [Plan(100, 0, 100.0, 0.0), Plan(50, 5000, 50.0, 50.0), Plan(5, 9500, 5.0, 95.0)]


def constant_draws(human: float, mix: float, synthetic: float, draws: int = 50) -> np.ndarray:
    return np.tile([human, mix, synthetic], (draws, 1))


# --------------------------------------------------------------------------- the class rule
def test_a_mix_that_only_just_beats_a_corner_is_that_corner():
    margin = 0.01
    choice = decision.classify(constant_draws(0.80, 0.809, 0.70), line(), margin)
    assert choice.sourcing == "human"
    assert choice.plan == line()[0]
    assert choice.best_mix == 1


def test_a_mix_that_beats_both_corners_by_more_than_the_margin_is_mixed():
    choice = decision.classify(constant_draws(0.80, 0.83, 0.70), line(), 0.01)
    assert choice.sourcing == "mixed"
    assert choice.plan == line()[1]
    assert choice.confidence == 1.0
    assert choice.synthetic_adds == pytest.approx(0.03)
    assert choice.human_adds == pytest.approx(0.13)


def test_the_better_corner_wins_when_no_mix_earns_its_place():
    choice = decision.classify(constant_draws(0.70, 0.72, 0.715), line(), 0.01)
    assert choice.sourcing == "synthetic"
    assert choice.plan == line()[2]
    assert choice.synthetic_adds == pytest.approx(0.02)  # best plan with synthetic data (the mix) − human only
    assert choice.human_adds == pytest.approx(0.005)     # best plan with more human data (the mix) − synthetic-led


def test_an_uncertain_gain_must_survive_the_caution_to_count():
    rng = np.random.default_rng(0)
    values = constant_draws(0.80, 0.83, 0.70, draws=400).astype(float)
    values[:, 1] += rng.normal(0, 0.05, 400)  # the mix's expected gain of 0.03 is less than one sd of doubt
    choice = decision.classify(values, line(), 0.01)
    assert choice.sourcing == "human"
    assert choice.expected[1] > choice.expected[0]  # the mix is better on average, but not to be relied on
    assert decision.classify(values, line(), 0.01, caution=0.0).sourcing == "mixed"


def test_confidence_is_the_share_of_draws_giving_the_same_class():
    values = np.vstack([constant_draws(0.80, 0.70, 0.70, 30), constant_draws(0.70, 0.70, 0.80, 10)])
    choice = decision.classify(values, line(), 0.01)
    assert choice.sourcing == "human"  # means: human 0.775, synthetic-led 0.725
    assert choice.confidence == pytest.approx(0.75)


def test_without_synthetic_data_affordable_the_class_is_human():
    plans = [Plan(10, 0, 10.0, 0.0)]
    choice = decision.classify(np.full((20, 1), 0.5), plans, 0.01)
    assert choice.sourcing == "human" and choice.synthetic_adds is None and choice.human_adds is None


def test_materiality_is_a_share_of_the_logged_range():
    assert decision.materiality(np.array([0.6, 0.7, 0.9])) == pytest.approx(decision.MATERIALITY_SHARE * 0.3)


# --------------------------------------------------------------------------- next experiment
def test_experiments_stay_within_the_pilot_cap_and_skip_logged_mixes():
    training = 3_000.0
    plan = Plan(200, 200_000, 200.0, 2_000.0)
    everything = decision.experiment_candidates(training, COSTS, 0.05, set(), plan)
    assert everything and all(cost <= decision.PILOT_SHARE * training + 1e-9 for _, _, cost in everything)
    logged = {(h, s) for h, s, _ in everything[:3]}
    fewer = decision.experiment_candidates(training, COSTS, 0.05, logged, plan)
    assert not logged & {(h, s) for h, s, _ in fewer}
    assert len(fewer) == len(everything) - 3


def test_value_of_information_is_zero_when_every_draw_agrees():
    values = constant_draws(0.8, 0.7, 0.6, 60).astype(float)
    at_experiment = np.full(60, 0.5)
    assert decision.value_of_information(at_experiment, np.full(60, 0.01), values) == pytest.approx(0.0)


def test_an_experiment_that_tells_the_hypotheses_apart_is_worth_more_than_one_that_cannot():
    # Half the draws say human-only is best, half say synthetic-led; an experiment whose outcome differs
    # between the two halves resolves the choice, one that reads the same under both does not.
    values = np.vstack([constant_draws(0.8, 0.7, 0.6, 40), constant_draws(0.6, 0.7, 0.9, 40)]).astype(float)
    noise = np.full(80, 0.01)
    telling = np.r_[np.full(40, 0.5), np.full(40, 0.7)]
    blind = np.full(80, 0.6)
    worth_telling = decision.value_of_information(telling, noise, values)
    worth_blind = decision.value_of_information(blind, noise, values)
    assert worth_blind == pytest.approx(0.0, abs=1e-12)
    assert worth_telling == pytest.approx(0.5 * 0.2, abs=0.03)  # half the time the choice flips and gains 0.2


# --------------------------------------------------------------------------- targets
def test_reach_probability_counts_draws_at_or_above_the_target():
    assert decision.reach_probability(np.array([0.7, 0.8, 0.9, 1.0]), 0.8) == pytest.approx(0.75)


def test_least_budget_reaches_the_target_with_the_stated_probability():
    truth = np.array([0.9, np.log(0.5), 0.6, 0.3, np.log(2000), 0.02, np.log(50)])
    n_h = np.array([10, 20, 40, 80, 10, 20, 40, 10, 20, 40, 80, 160, 5, 5])
    n_s = np.array([0, 0, 0, 0, 100, 100, 100, 400, 400, 400, 0, 0, 200, 800])
    y = curve(truth, n_h, n_s, "penalised")[0] + np.random.default_rng(1).normal(0, 0.01, len(n_h))
    posterior = SurfacePosterior().fit(n_h, n_s, y)
    params, _ = posterior.draws()

    def evaluate(h, s):
        return curve(params, h, s, "penalised")

    needed = decision.least_budget_for(evaluate, 0.75, COSTS, 0.05, (0, 0))
    assert needed is not None and needed > 0
    best_at = max(np.mean(evaluate(*decision.arrays(decision.plans_at(needed, COSTS, 0.05), (0, 0))) >= 0.75, axis=0))
    below = max(np.mean(evaluate(*decision.arrays(decision.plans_at(needed * 0.9, COSTS, 0.05), (0, 0))) >= 0.75,
                        axis=0))
    assert best_at >= decision.TARGET_PROBABILITY > below
    assert decision.least_budget_for(evaluate, 5.0, COSTS, 0.05, (0, 0), ceiling=1e7) is None


# --------------------------------------------------------------------------- extrapolation
def test_a_plan_far_beyond_the_logged_counts_says_so():
    note = decision.extrapolation_note(Plan(50, 40_000, 50.0, 400.0), (0, 0), np.array([10.0, 40.0]),
                                       np.array([0.0, 800.0]))
    assert "40,000 synthetic samples" in note and "50×" in note
    assert decision.extrapolation_note(Plan(50, 1_000, 50.0, 10.0), (0, 0), np.array([40.0]),
                                       np.array([800.0])) == ""
    assert "no logged run used synthetic data" in decision.extrapolation_note(
        Plan(5, 100, 5.0, 1.0), (0, 0), np.array([10.0]), np.array([0.0]))


def test_articles_follow_how_the_word_is_spoken():
    from strategy.explain import with_article

    assert with_article("expert") == "an expert"
    assert with_article("crowd") == "a crowd"
    assert with_article("RMSE") == "an RMSE"
    assert with_article("F1") == "an F1"
    assert with_article("BLEU") == "a BLEU"
    assert with_article("**expert") == "an **expert"
    assert with_article("accuracy") == "an accuracy"


def test_why_says_how_the_answer_moved_from_the_prior_one_line_each():
    from strategy.explain import why_lines
    from strategy.models import EvalSet, ExpectedMetric, Recommendation

    base = dict(task_id="t", task_name="T", budget=1000.0, cost_per_sample={"human": 1.0, "synthetic": 0.01},
                owned={"human": 0, "synthetic": 0}, eval_set=EvalSet(size=200, tier="crowd", cost=16.0),
                prior_human_share=0.7, human_floor=0.05, collapse_guard="on", evidence_count=12,
                rulebook_version="1", n_human=49, n_synthetic=93_000, spend_human=49.0, spend_synthetic=930.0,
                human_share_spend=0.05, human_share_samples=0.0005, sourcing="synthetic", confidence=0.9,
                basis="rules+model", regime="synthetic_pretrain_human_finetune",
                expected_metric=ExpectedMetric(name="accuracy", higher_is_better=True, value=0.8),
                low_confidence=False, rules=[], model_version="test")
    lines = why_lines(Recommendation(**base))
    assert len(lines) == 4
    assert lines[0] == "Rules' prior: 70% of the training spend on human data, from the 0 rules that fired."
    assert lines[1].startswith("Fitted evidence: 12 outcomes moved the human share of spend to 5% (-65 points)")
    assert "it binds: the plan sits at 5%" in lines[2]
    assert lines[3] == ("Evaluation set: 200 crowd human labels ($16) come out of the $1,000 budget first, "
                        "leaving $984 to train on.")
    loose = why_lines(Recommendation(**base | {"human_share_spend": 0.6, "sourcing": "mixed"}))
    assert "not binding: the plan is at 60%" in loose[2]
    rules = why_lines(Recommendation(**base | {"basis": "rules"}))
    assert rules[1].startswith("Fitted evidence: none yet")


def test_a_gain_that_rounds_to_nothing_is_said_in_words():
    from strategy.explain import _effect

    assert _effect(-0.00002, "accuracy", True) == "nothing measurable in accuracy"
    assert _effect(0.05, "accuracy", True) == "+0.050 accuracy"
    assert _effect(0.05, "RMSE", False) == "lowers RMSE by 0.050"
