"""The summary's list of tasks that need attention: each reason, its order and its cap."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from strategy.summary import ATTENTION_PER_REASON, STALE_AFTER_DAYS, attention_items

NOW = datetime(2026, 12, 1, 12, 0)


def _view(rows: list[dict]) -> pd.DataFrame:
    defaults = {"computed": True, "confidence": 0.9, "low_confidence": False, "budget": 1_000.0, "outcomes": 8,
                "created_at": NOW - timedelta(days=1)}
    frame = pd.DataFrame([{**defaults, **row} for row in rows])
    frame["task_id"] = [f"id-{name}" for name in frame["task_name"]]
    return frame


def _recent(view: pd.DataFrame) -> dict:
    return {task_id: NOW - timedelta(days=2) for task_id in view["task_id"]}


def test_low_confidence_tasks_come_lowest_first_and_the_cap_counts_the_rest():
    view = _view([{"task_name": f"t{i}", "confidence": 0.1 + 0.05 * i, "low_confidence": True} for i in range(5)]
                 + [{"task_name": "sure", "confidence": 0.95}])
    view["budget"] = 1_000.0  # equal budgets: only the largest (first) is named for its budget
    items, more = attention_items(view, _recent(view), NOW)
    low = [item for item in items if any(r.startswith("low confidence") for r in item.reasons)]
    assert [item.task for item in low] == ["t0", "t1", "t2"][:ATTENTION_PER_REASON]
    assert low[0].reasons[0] == "low confidence (10%) from 8 logged outcomes"
    assert more == 2  # t3 and t4 have the reason but are not listed
    assert "sure" not in [item.task for item in items if any(r.startswith("low") for r in item.reasons)]


def test_the_largest_budget_is_named_with_its_share_and_others_from_a_quarter():
    view = _view([{"task_name": "big", "budget": 6_000.0}, {"task_name": "second", "budget": 3_000.0},
                  {"task_name": "small", "budget": 1_000.0}])
    items, more = attention_items(view, _recent(view), NOW)
    reasons = {item.task: item.reasons for item in items}
    assert reasons == {"big": ["largest budget: $6,000, 60% of the total"],
                       "second": ["large budget: $3,000, 30% of the total"]}
    assert more == 0
    one, _ = attention_items(view.iloc[:1], _recent(view), NOW)
    assert one == []  # one task alone holds the whole budget by definition: nothing to flag


def test_missing_old_and_unseen_evidence_are_reasons_most_pressing_first():
    view = _view([{"task_name": "fresh"}, {"task_name": "old"}, {"task_name": "none"},
                  {"task_name": "unseen"}, {"task_name": "uncomputed", "computed": False, "confidence": np.nan,
                                            "budget": np.nan, "created_at": pd.NaT}])
    view["budget"] = [9_000.0, 10.0, 10.0, 10.0, np.nan]
    newest = {"id-fresh": NOW - timedelta(days=3), "id-old": NOW - timedelta(days=STALE_AFTER_DAYS + 20),
              "id-unseen": NOW, "id-uncomputed": NOW - timedelta(days=3)}
    items, more = attention_items(view, newest, NOW)
    stale = [(item.task, item.reasons[-1]) for item in items if item.task != "fresh"]
    assert stale == [("uncomputed", "no recommendation computed yet"),
                     ("none", "no outcome logged: the answer rests on the rules alone"),
                     ("unseen", "outcomes were logged after the answer was computed")]
    assert more == 1  # "old" is the fourth stale task: counted, not listed
    assert items[0].task == "fresh" and items[0].reasons[0].startswith("largest budget")
    uncomputed = next(item for item in items if item.task == "uncomputed")
    assert uncomputed.budget is None and uncomputed.confidence is None
    _, more_without_cap = attention_items(view[view["task_name"] != "none"], newest, NOW)
    assert more_without_cap == 0
    listed, _ = attention_items(view[view["task_name"] != "none"], newest, NOW)
    old = next(item for item in listed if item.task == "old")
    assert old.reasons == [f"newest outcome is {STALE_AFTER_DAYS + 20} days old"]


def test_one_task_with_several_reasons_is_listed_once():
    view = _view([{"task_name": "risky", "budget": 9_000.0, "confidence": 0.2, "low_confidence": True},
                  {"task_name": "other", "budget": 1_000.0}])
    items, _ = attention_items(view, {"id-other": NOW - timedelta(days=2)}, NOW)
    assert [item.task for item in items] == ["risky"]
    assert items[0].reasons == ["low confidence (20%) from 8 logged outcomes", "largest budget: $9,000, 90% of "
                                "the total", "no outcome logged: the answer rests on the rules alone"]
