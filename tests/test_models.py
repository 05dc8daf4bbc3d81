"""The pydantic records in strategy/models.py: ranges, refusals and the profile helpers."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from pydantic import ValidationError

from strategy.models import (
    FACTOR_NAMES,
    FACTORS,
    Outcome,
    Task,
    describe_errors,
    profile_long,
    profile_pulls,
)

TASK = {"name": "Sentiment", "domain": "Retail", "modality": "text", "metric": "accuracy"}
OUTCOME = {"task_id": "t-1", "n_human": 100, "n_synthetic": 300, "metric": "accuracy", "value": 0.8}

HUMAN = [f.name for f in FACTORS if f.leans == "human"]
SYNTHETIC = [f.name for f in FACTORS if f.leans == "synthetic"]


def refusal(model, **fields) -> list[tuple[str, str]]:
    """The (field, reason) pairs for a record that must be refused."""
    with pytest.raises(ValidationError) as caught:
        model(**fields)
    return describe_errors(caught.value)


# ------------------------------------------------------------------- Task


def test_valid_task_keeps_its_profile():
    task = Task(**TASK, interaction=4, privacy_limits=2)
    assert task.profile()["interaction"] == 4
    assert task.profile()["privacy_limits"] == 2
    assert task.profile()["subjectivity"] == 0
    assert tuple(task.profile()) == FACTOR_NAMES


@pytest.mark.parametrize(("score", "words"), [(5, "less than or equal to 4"), (-1, "greater than or equal to 0")])
def test_task_score_out_of_range_is_refused_and_named(score, words):
    problems = refusal(Task, **TASK, interaction=score)
    assert len(problems) == 1
    field, reason = problems[0]
    assert field == "interaction"
    assert words in reason
    assert f"got {score}" in reason


def test_every_factor_is_range_checked():
    for name in FACTOR_NAMES:
        problems = refusal(Task, **TASK, **{name: 5})
        assert [field for field, _ in problems] == [name]


def test_unknown_task_field_is_named():
    problems = refusal(Task, **TASK, colour="red")
    assert problems == [("colour", "is not a known field")]


def test_missing_required_task_field_is_named():
    fields = {k: v for k, v in TASK.items() if k != "metric"}
    problems = refusal(Task, **fields)
    assert problems == [("metric", "is required")]


def test_blank_task_name_is_refused():
    problems = refusal(Task, **{**TASK, "name": "   "})
    assert [field for field, _ in problems] == ["name"]


def test_unknown_modality_is_refused():
    problems = refusal(Task, **{**TASK, "modality": "smell"})
    assert [field for field, _ in problems] == ["modality"]
    assert "smell" in problems[0][1]


def test_task_assignment_is_validated():
    task = Task(**TASK)
    with pytest.raises(ValidationError):
        task.interaction = 9
    assert task.interaction == 0


def test_several_problems_are_all_reported():
    problems = refusal(Task, name="x", domain="y", modality="text", interaction=8, safety_risk=-2)
    assert {field for field, _ in problems} == {"metric", "interaction", "safety_risk"}


# ---------------------------------------------------------------- Outcome


def test_outcome_without_any_data_is_refused():
    problems = refusal(Outcome, **{**OUTCOME, "n_human": 0, "n_synthetic": 0})
    assert len(problems) == 1
    field, reason = problems[0]
    # A check across two fields is reported on the record, and the reason names both fields.
    assert field == "record"
    assert "n_human + n_synthetic must be above 0" in reason


@pytest.mark.parametrize(("n_human", "n_synthetic"), [(0, 10), (10, 0)])
def test_outcome_with_only_one_kind_of_data_is_accepted(n_human, n_synthetic):
    outcome = Outcome(**{**OUTCOME, "n_human": n_human, "n_synthetic": n_synthetic})
    assert outcome.human_share == (1.0 if n_human else 0.0)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_outcome_value_must_be_finite(value):
    problems = refusal(Outcome, **{**OUTCOME, "value": value})
    assert len(problems) == 1
    field, reason = problems[0]
    assert field == "value"
    assert "finite" in reason
    assert f"got {value}" in reason


@pytest.mark.parametrize("field", ["n_human", "n_synthetic", "cost"])
def test_negative_counts_and_cost_are_refused(field):
    problems = refusal(Outcome, **{**OUTCOME, field: -1})
    assert [name for name, _ in problems] == [field]
    assert "greater than or equal to 0" in problems[0][1]


def test_infinite_cost_is_refused():
    problems = refusal(Outcome, **{**OUTCOME, "cost": math.inf})
    assert [name for name, _ in problems] == ["cost"]


def test_human_share():
    assert Outcome(**{**OUTCOME, "n_human": 30, "n_synthetic": 90}).human_share == pytest.approx(0.25)
    assert Outcome(**{**OUTCOME, "n_human": 7, "n_synthetic": 0}).human_share == 1.0


def test_outcome_assignment_cannot_empty_the_outcome():
    outcome = Outcome(**{**OUTCOME, "n_human": 5, "n_synthetic": 0})
    with pytest.raises(ValidationError):
        outcome.n_human = 0
    assert outcome.human_share == 1.0


def test_outcome_unknown_regime_is_refused():
    problems = refusal(Outcome, **{**OUTCOME, "regime": "half"})
    assert [name for name, _ in problems] == ["regime"]


# ---------------------------------------------------------------- factors


def test_factor_catalogue():
    assert len(FACTORS) == 13
    assert len(HUMAN) == 7
    assert len(SYNTHETIC) == 6
    assert len(set(FACTOR_NAMES)) == 13
    assert len({f.label for f in FACTORS}) == 13


@pytest.mark.parametrize("factor", FACTORS, ids=lambda f: f.name)
def test_factor_help_explains_both_ends(factor):
    assert factor.at_zero.strip()
    assert factor.at_four.strip()
    assert factor.at_zero != factor.at_four
    assert f"0 = {factor.at_zero}" in factor.help
    assert f"4 = {factor.at_four}" in factor.help


def test_every_factor_is_a_task_field():
    assert set(FACTOR_NAMES) <= set(Task.model_fields)


# ---------------------------------------------------------- profile helpers


def _profiles() -> pd.DataFrame:
    first = {name: 4 for name in HUMAN} | {name: 0 for name in SYNTHETIC}
    second = dict(zip(HUMAN, [1, 2, 3, 4, 0, 0, 4], strict=True)) | dict(zip(SYNTHETIC, [1, 2, 3, 0, 0, 0], strict=True))
    return pd.DataFrame(
        [{"id": "a", "name": "Alpha", **first}, {"id": "b", "name": "Beta", **second}],
        index=["x", "y"],
    )


def test_profile_pulls_means():
    pulls = profile_pulls(_profiles())
    assert list(pulls.columns) == ["human_pull", "synthetic_pull"]
    assert list(pulls.index) == ["x", "y"]
    assert pulls.loc["x", "human_pull"] == pytest.approx(4.0)
    assert pulls.loc["x", "synthetic_pull"] == pytest.approx(0.0)
    assert pulls.loc["y", "human_pull"] == pytest.approx(2.0)
    assert pulls.loc["y", "synthetic_pull"] == pytest.approx(1.0)


def test_profile_pulls_accepts_text_scores():
    frame = _profiles().astype({name: str for name in FACTOR_NAMES})
    pulls = profile_pulls(frame)
    assert pulls.loc["y", "human_pull"] == pytest.approx(2.0)


def test_profile_long_has_one_row_per_task_and_factor():
    profiles = _profiles()
    long = profile_long(profiles)
    assert len(long) == 2 * 13
    assert not long.duplicated(["id", "factor"]).any()
    assert set(long["factor"]) == set(FACTOR_NAMES)
    assert {"id", "name", "factor", "score", "label", "leans", "help", "order"} <= set(long.columns)
    # Sorted by task name, then in factor order.
    assert list(long["name"]) == ["Alpha"] * 13 + ["Beta"] * 13
    assert list(long["factor"][:13]) == list(FACTOR_NAMES)
    beta = long[long["id"] == "b"].set_index("factor")
    assert beta.loc["interaction", "score"] == 1
    assert beta.loc["safety_risk", "score"] == 4
    assert beta.loc["balance_needed", "score"] == 3
    assert beta.loc["interaction", "leans"] == "human"
    assert beta.loc["privacy_limits", "leans"] == "synthetic"
    assert beta.loc["interaction", "help"] == FACTORS[0].help
