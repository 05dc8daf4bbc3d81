"""Mapping tracked runs onto outcome rows: keys, counts from a share, metric steps, filters and refusals."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from strategy.trackers import RunMapping, TaskTarget, TrackedRun, lookup, map_runs, task_targets
from strategy.trackers.runs import SavedMapping, tags_as_text, tags_from_text

TASKS = task_targets([TaskTarget("id-xray", "Chest X-ray triage", "AUROC", True),
                      TaskTarget("id-speech", "Speech recognition", "word error rate", False)])


def run(run_id="r1", *, params=None, tags=None, metrics=None, state="FINISHED", name="") -> TrackedRun:
    return TrackedRun(run_id, name=name, state=state,
                      params={"n_human": "100", "n_synthetic": "400", "task": "Chest X-ray triage", **(params or {})},
                      tags=tags or {}, metrics=metrics if metrics is not None else {"AUROC": [(0, 0.7), (1, 0.8)]})


def mapped(runs, mapping=None):
    return map_runs(runs, mapping or RunMapping(), TASKS, label="mlflow experiment 'x'", notes="run {name}")


def test_the_default_mapping_needs_no_configuration():
    result = mapped([run(name="lucky-cat")])
    assert result.refused == [] and result.left_out == []
    row = result.rows[0]
    assert (row["task"], row["n_human"], row["n_synthetic"], row["metric"]) == ("id-xray", "100", "400", "AUROC")
    assert float(row["value"]) == 0.8 and row["higher_is_better"] == "true"
    assert row["run_id"] == "r1" and row["notes"] == "run lucky-cat"


def test_the_task_is_found_by_id_or_by_name_ignoring_case():
    rows = mapped([run("a", params={"task": "id-speech"}, metrics={"word error rate": [(0, 0.2)]}),
                   run("b", params={"task": "chest x-RAY triage"})]).rows
    assert [r["task"] for r in rows] == ["id-speech", "id-xray"]
    assert rows[0]["higher_is_better"] == "false" and rows[0]["metric"] == "word error rate"


@pytest.mark.parametrize(("step", "at_step", "direction", "expected"), [
    ("last", None, None, 0.75), ("best", None, None, 0.9), ("best", None, False, 0.6), ("step", 1, None, 0.9)])
def test_a_metric_logged_per_step_is_read_last_best_or_at_a_step(step, at_step, direction, expected):
    history = {"AUROC": [(0, 0.6), (1, 0.9), (2, 0.75)]}
    mapping = RunMapping(step=step, at_step=at_step, higher_is_better=direction)
    assert float(mapped([run(metrics=history)], mapping).rows[0]["value"]) == expected


def test_last_means_the_highest_step_not_the_last_logged():
    history = {"AUROC": [(3, 0.81), (1, 0.5)]}
    assert float(mapped([run(metrics=history)]).rows[0]["value"]) == 0.81


def test_prefixed_keys_read_one_place_and_bare_keys_read_parameters_then_tags():
    one = run(params={"n_human": "7"}, tags={"n_human": "9", "owner": "ana"})
    assert lookup(one, "n_human") == "7" and lookup(one, "tags.n_human") == "9" and lookup(one, "owner") == "ana"
    assert lookup(one, "params.owner") is None and lookup(one, "metrics.AUROC") == "0.8"


def test_counts_from_a_share_and_a_total():
    mapping = RunMapping(share_key="human_frac", total_key="n_total")
    row = mapped([run(params={"human_frac": "0.25", "n_total": "1000"})], mapping).rows[0]
    assert (row["n_human"], row["n_synthetic"]) == ("250", "750")
    bad = mapped([run(params={"human_frac": "1.5", "n_total": "10"})], mapping).refused[0][1]
    assert bad.field == "human_frac" and "between 0 and 1" in bad.reason


def test_each_refusal_names_the_run_the_key_and_the_reason():
    result = mapped([run("no-counts", params={"n_human": ""}), run("no-metric", metrics={}),
                     run("nowhere", params={"task": "Unknown task"}), run("no-task", params={"task": ""}),
                     run("good")])
    assert [r["run_id"] for r in result.rows] == ["good"]
    problems = {r.run_id: p for r, p in result.refused}
    assert str(problems["no-counts"]).startswith("mlflow experiment 'x' run 'no-counts', field 'n_human': is missing")
    assert problems["no-metric"].field == "AUROC" and "has no metric 'AUROC'" in problems["no-metric"].reason
    assert "not in the catalog" in problems["nowhere"].reason
    assert "names no task" in problems["no-task"].reason


def test_a_fixed_task_refuses_a_run_that_names_another_task():
    mapping = RunMapping(task="Chest X-ray triage")
    result = mapped([run("mine"), run("theirs", params={"task": "Speech recognition"}),
                     run("untagged", params={"task": ""})], mapping)
    assert sorted(r["run_id"] for r in result.rows) == ["mine", "untagged"]
    (other, problem), = result.refused
    assert other.run_id == "theirs" and "belongs to task 'Speech recognition'" in problem.reason


def test_filters_leave_out_unfinished_runs_and_runs_without_the_tags():
    runs = [run("done"), run("running", state="RUNNING"), run("tagged", tags={"stage": "final"}),
            run("other-tag", tags={"stage": "draft"})]
    result = mapped(runs, RunMapping(tags={"stage": "final"}))
    assert [r["run_id"] for r in result.rows] == ["tagged"]
    assert {r.run_id for r in result.left_out} == {"done", "running", "other-tag"}
    everything = mapped(runs, RunMapping(states=("finished", "running")))
    assert len(everything.rows) == 4


def test_a_mapping_that_cannot_work_is_refused_when_made():
    with pytest.raises(ValidationError, match="at_step"):
        RunMapping(step="step")
    with pytest.raises(ValidationError, match="share_key and total_key"):
        RunMapping(share_key="share")
    with pytest.raises(ValidationError):
        RunMapping(n_humans="x")


def test_a_saved_mapping_round_trips_and_refuses_json_that_is_not_a_mapping():
    mapping = RunMapping(step="best", tags={"stage": ""})
    saved = SavedMapping(source="mlflow", name="x", mapping_json=mapping.model_dump_json())
    assert saved.mapping == mapping
    assert mapping.described() == "step='best', tags={'stage': ''}" and RunMapping().described() == "the default mapping"
    with pytest.raises(ValidationError):
        SavedMapping(source="mlflow", mapping_json='{"step": "sometimes"}')


def test_the_last_value_is_the_highest_steps_and_of_a_repeated_step_the_one_logged_last():
    history = {"AUROC": [(0, 0.5), (2, 0.7), (1, 0.9), (2, 0.75)]}
    assert float(mapped([run(metrics=history)]).rows[0]["value"]) == 0.75
    assert lookup(run(metrics=history), "metrics.AUROC") == "0.75"  # a metric read as a key agrees


def test_tag_filters_read_as_people_type_them_and_back():
    assert tags_from_text(" stage = final, reviewed,, tags.owner=ana ") == {"stage": "final", "reviewed": "",
                                                                           "owner": "ana"}
    assert tags_from_text(tags_as_text({"stage": "final", "reviewed": ""})) == {"stage": "final", "reviewed": ""}
    assert tags_from_text("") == {}
