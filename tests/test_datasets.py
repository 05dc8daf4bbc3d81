"""Saving a dataset through its one service (strategy/datasets.py): the write is all or nothing, and every task
whose prices it moves is recomputed, so no recommendation plans with a price the catalog no longer holds."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from strategy.datasets import save_dataset
from strategy.errors import StrategyError
from strategy.locations import LocationRefused

CHEST = "Chest X-ray triage"
FRAUD = "Card fraud detection"


def _fields(task_id: str | None, **changes) -> dict:
    return {"name": "Second reads", "task_id": task_id, "source_kind": "human", "modality": "image", "samples": 1200,
            "cost_per_sample": 10.0, "provenance": "", "licence": "internal", "cost_source": "", "location": ""} | changes


def _human_price(catalog, task_id: str) -> float:
    datasets = catalog.datasets()
    own = datasets[(datasets["task_id"] == task_id) & (datasets["source_kind"] == "human")
                   & (datasets["cost_per_sample"] > 0)]
    return float(own["cost_per_sample"].mean())


def test_a_priced_dataset_reaches_its_tasks_recommendation_at_once(demo_catalog):
    chest = demo_catalog.task(CHEST).id
    before = demo_catalog.latest_recommendation(chest).recommendation
    saved = save_dataset(demo_catalog, _fields(chest), actor="tester")
    after = demo_catalog.latest_recommendation(chest).recommendation
    assert [change.task_id for change in saved.changes] == [chest]
    assert saved.changes[0].after.id == after.id != before.id
    assert after.cost_per_sample["human"] == pytest.approx(_human_price(demo_catalog, chest))
    assert after.cost_per_sample["human"] != before.cost_per_sample["human"]
    audit = demo_catalog.audit_log(limit=5)
    assert "dataset" in set(audit["entity"]) and "tester" in set(audit["actor"])


def test_an_edit_that_moves_no_price_recomputes_nothing(demo_catalog):
    chest = demo_catalog.task(CHEST).id
    saved = save_dataset(demo_catalog, _fields(chest))
    stored = demo_catalog.counts()["recommendations"]
    edited = save_dataset(demo_catalog, _fields(chest, licence="CC BY 4.0", samples=1300), dataset_id=saved.dataset.id)
    assert edited.changes == [] and demo_catalog.counts()["recommendations"] == stored
    row = demo_catalog.datasets().set_index("id").loc[saved.dataset.id]
    assert (row["licence"], row["samples"]) == ("CC BY 4.0", 1300)


def test_moving_a_dataset_to_another_task_recomputes_both(demo_catalog):
    chest, fraud = demo_catalog.task(CHEST).id, demo_catalog.task(FRAUD).id
    saved = save_dataset(demo_catalog, _fields(chest, cost_per_sample=0.5))
    moved = save_dataset(demo_catalog, _fields(fraud, modality="tabular", cost_per_sample=0.5),
                         dataset_id=saved.dataset.id)
    assert [change.task_id for change in moved.changes] == [fraud, chest]
    assert all(change.after is not None for change in moved.changes), [c.problem for c in moved.changes]
    for task_id in (chest, fraud):
        latest = demo_catalog.latest_recommendation(task_id).recommendation
        assert latest.cost_per_sample["human"] == pytest.approx(_human_price(demo_catalog, task_id))


def test_a_price_the_budget_cannot_carry_keeps_the_old_answer_and_says_why(demo_catalog):
    chest = demo_catalog.task(CHEST).id
    before = demo_catalog.latest_recommendation(chest).recommendation
    saved = save_dataset(demo_catalog, _fields(chest, cost_per_sample=50.0))
    (change,) = saved.changes
    assert change.after is None and change.before.id == before.id
    assert "does not cover the human evaluation set" in change.problem and "Raise the budget" in change.problem
    assert demo_catalog.latest_recommendation(chest).recommendation.id == before.id


@pytest.mark.parametrize(("changes", "refusal"), [
    ({"location": "/etc/passwd"}, LocationRefused),
    ({"name": ""}, ValidationError),
    ({"cost_per_sample": -1.0}, ValidationError),
])
def test_a_refused_dataset_writes_nothing_and_recomputes_nothing(demo_catalog, changes, refusal):
    before = demo_catalog.counts()
    with pytest.raises(refusal):
        save_dataset(demo_catalog, _fields(demo_catalog.task(CHEST).id, **changes))
    assert demo_catalog.counts() == before


def test_an_unknown_dataset_is_named_and_nothing_is_written(demo_catalog):
    before = demo_catalog.counts()
    with pytest.raises(StrategyError, match="Unknown dataset 'nope'"):
        save_dataset(demo_catalog, _fields(None), dataset_id="nope")
    assert demo_catalog.counts() == before
