"""Every chart has a title, axis titles and a tooltip."""

from __future__ import annotations

import pytest

from strategy import charts


def _encodings(spec: dict) -> dict:
    return spec.get("encoding", {})


@pytest.fixture
def built(demo_catalog):
    tasks = demo_catalog.tasks()
    outcomes = demo_catalog.outcomes()
    one = tasks.iloc[[0]]
    own = outcomes[outcomes["task_id"] == one["id"].iloc[0]]
    return {
        "task_profile": charts.task_profile(one),
        "profile_matrix": charts.profile_matrix(tasks),
        "outcomes_by_mix": charts.outcomes_by_mix(own, one["metric"].iloc[0]),
        "outcomes_per_task": charts.outcomes_per_task(outcomes),
        "dataset_costs": charts.dataset_costs(demo_catalog.datasets()),
    }


def test_charts_are_titled_with_axis_titles_and_tooltips(built):
    for name, chart in built.items():
        spec = chart.to_dict()
        assert spec.get("title"), f"{name} has no title"
        encoding = _encodings(spec)
        for axis in ("x", "y"):
            assert encoding[axis].get("title") is not None, f"{name} {axis} axis has no title"
        assert encoding.get("tooltip"), f"{name} has no tooltip"


def test_outcome_chart_plots_every_outcome(demo_catalog):
    outcomes = demo_catalog.outcomes()
    task_id = outcomes["task_id"].iloc[0]
    own = outcomes[outcomes["task_id"] == task_id]
    spec = charts.outcomes_by_mix(own, "AUPRC").to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert len(rows) == len(own)
    assert "units" in spec["encoding"]["y"]["title"] or "AUPRC" in spec["encoding"]["y"]["title"]
