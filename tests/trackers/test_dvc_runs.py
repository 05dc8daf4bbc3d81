"""DVC experiments read from `dvc exp show --json`.

tests/trackers/data/dvc_exp_show.json was captured from a real `dvc exp show --json` with DVC 3.67.1 by
scripts/capture_dvc_experiments.sh (its scratch folder's path replaced with <scratch>); DVC2_SAMPLE below is an
excerpt of the same script's output with DVC 2.45.1, the older object format. The tests never run DVC: it is not
a project dependency. Expectations come from the script's parameters and train.py's formula, restated here.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategy.errors import TrackerError
from strategy.ingest import UPLOAD_LIMIT_ENV
from strategy.trackers import FINISHED, RunMapping, TaskTarget, TrackedRun, map_runs, task_targets
from strategy.trackers.dvc_runs import read_dvc_experiments

CAPTURE = Path(__file__).parent / "data" / "dvc_exp_show.json"
TASK = "Chest X-ray triage"
TASKS = task_targets([TaskTarget("id-xray", TASK, "AUROC", True)])

# What scripts/capture_dvc_experiments.sh ran: (name it gave, or None for one DVC picks; n_human, n_synthetic).
BASELINE = ("main", 100, 0)  # the committed params.yaml, its metrics committed by `dvc repro`
FINISHED_EXPERIMENTS = [(None, 200, 0), (None, 100, 100), (None, 50, 150), (None, 0, 200), ("big-human", 400, 0)]
FAILED = ("bad-seed", 10, 10)  # queued with train.seed=-1, which train.py refuses
QUEUED = ("waiting", 25, 25)  # queued after the queue's worker was stopped


def auroc(n_human: int, n_synthetic: int) -> float:
    """train.py's formula in the capture script."""
    effective = n_human + 0.5 * n_synthetic
    return round(0.5 + 0.4 * effective / (effective + 200), 4)


def captured() -> list[TrackedRun]:
    return read_dvc_experiments(CAPTURE.read_bytes(), "dvc_exp_show.json")


def by_counts(runs: list[TrackedRun]) -> dict[tuple[int, int], TrackedRun]:
    return {(int(run.params["train.n_human"]), int(run.params["train.n_synthetic"])): run for run in runs}


def test_every_commit_with_metrics_and_every_experiment_is_a_run():
    runs = captured()
    expected = [BASELINE, *FINISHED_EXPERIMENTS, FAILED, QUEUED]
    assert len(runs) == len(expected) == 8
    assert set(by_counts(runs)) == {(h, s) for _, h, s in expected}
    assert all(re.fullmatch(r"[0-9a-f]{40}", run.run_id) for run in runs)
    assert len({run.run_id for run in runs}) == len(runs)
    assert all(run.experiment == "main" for run in runs)
    baseline = by_counts(runs)[BASELINE[1:]]
    assert baseline.name == "main"
    assert all(run.tags["dvc.baseline"] == baseline.run_id for run in runs)


def test_names_are_the_given_ones_or_dvcs_own():
    runs = by_counts(captured())
    for name, n_human, n_synthetic in [*FINISHED_EXPERIMENTS, FAILED, QUEUED]:
        run = runs[n_human, n_synthetic]
        if name:
            assert run.name == name
        else:  # DVC names an experiment it is not given a name for: two words, as "ropey-cusp"
            assert re.fullmatch(r"[a-z]+-[a-z]+", run.name) and run.name not in ("big-human", "bad-seed", "waiting")


def test_states_come_from_the_executor_and_the_error():
    runs = by_counts(captured())
    assert [runs[h, s].state for _, h, s in [BASELINE, *FINISHED_EXPERIMENTS]] == [FINISHED] * 6
    assert runs[FAILED[1:]].state == "FAILED"
    assert runs[FAILED[1:]].tags["dvc.error"] == "Experiment run failed"
    assert runs[QUEUED[1:]].state == "QUEUED"
    assert "dvc.error" not in runs[QUEUED[1:]].tags


def test_params_are_flattened_and_unique_leaf_names_are_given_bare():
    for (n_human, n_synthetic), run in by_counts(captured()).items():
        for key in ("train.n_human", "n_human"):
            assert run.params[key] == str(n_human)
        for key in ("train.n_synthetic", "n_synthetic"):
            assert run.params[key] == str(n_synthetic)
        assert run.params["task"] == TASK
        assert run.params["train.seed"] == ("-1" if (n_human, n_synthetic) == FAILED[1:] else "0")
        assert run.params["eval.seed"] == "1"
        assert "seed" not in run.params  # train.seed and eval.seed: a bare "seed" would be a guess


def test_finished_runs_keep_their_metrics_as_one_step():
    runs = by_counts(captured())
    for _, n_human, n_synthetic in [BASELINE, *FINISHED_EXPERIMENTS]:
        metrics = runs[n_human, n_synthetic].metrics
        assert metrics["AUROC"] == [(0, pytest.approx(auroc(n_human, n_synthetic)))]
        assert metrics["loss"] == [(0, pytest.approx(round(1 - auroc(n_human, n_synthetic), 4)))]
        assert metrics["eval.n_seen"] == metrics["n_seen"] == [(0, float(n_human + n_synthetic))]


def test_failed_and_queued_runs_have_no_metrics_because_dvc_shows_stale_files():
    doc = json.loads(CAPTURE.read_text())
    failed = next(r for c in doc for e in (c["experiments"] or []) for r in e["revs"] if r["name"] == FAILED[0])
    stale = failed["data"]["metrics"]["metrics.json"]["data"]["AUROC"]
    assert stale != auroc(*FAILED[1:])  # DVC shows the metrics file as it was when the run was queued
    runs = by_counts(captured())
    assert runs[FAILED[1:]].metrics == {} and runs[QUEUED[1:]].metrics == {}


def test_the_default_mapping_takes_the_finished_runs():
    runs = captured()
    result = map_runs(runs, RunMapping(), TASKS, label="dvc_exp_show.json")
    assert result.refused == []
    assert sorted(r.name for r in result.left_out) == sorted([FAILED[0], QUEUED[0]])
    assert sorted((int(r["n_human"]), int(r["n_synthetic"]), float(r["value"])) for r in result.rows) == sorted(
        (h, s, auroc(h, s)) for _, h, s in [BASELINE, *FINISHED_EXPERIMENTS])


def test_the_capture_holds_no_path_of_the_machine_it_was_made_on():
    def strings(value):
        if isinstance(value, dict):
            for key, item in value.items():
                yield key
                yield from strings(item)
        elif isinstance(value, list):
            for item in value:
                yield from strings(item)
        elif isinstance(value, str):
            yield value

    found = list(strings(json.loads(CAPTURE.read_text())))
    assert any(text.startswith("<scratch>/") for text in found)  # the failed run's log, made neutral
    assert not [text for text in found if text.startswith(("/", "~")) or re.match(r"[A-Za-z]:\\", text)]


# ----------------------------------------------------------------------------- DVC 2's object format
# An excerpt of scripts/capture_dvc_experiments.sh's output with DVC 2.45.1: the workspace, the baseline, two of
# the five finished experiments, the failed and the queued one, each without its deps and outs.
DVC2_SAMPLE = """{
 "workspace": {"baseline": {"data": {"timestamp": null, "params": {"params.yaml": {"data": {"task": "Chest X-ray triage", "train": {"n_human": 400, "n_synthetic": 0, "seed": 0}, "eval": {"seed": 1}}}}, "status": "Success", "executor": null, "metrics": {"metrics.json": {"data": {"AUROC": 0.7667, "loss": 0.2333, "eval": {"n_seen": 400}}}}}}},
 "feed619fb03d6bd7a44aec0a6c85b35a6efcd437": {
  "baseline": {"data": {"timestamp": "2025-01-01T00:00:00", "params": {"params.yaml": {"data": {"task": "Chest X-ray triage", "train": {"n_human": 100, "n_synthetic": 0, "seed": 0}, "eval": {"seed": 1}}}}, "status": "Success", "executor": null, "metrics": {"metrics.json": {"data": {"AUROC": 0.6333, "loss": 0.3667, "eval": {"n_seen": 100}}}}, "name": "main"}},
  "a4a3df013f813d16cb1c8431e51e6236d86c72ac": {"data": {"timestamp": "2026-12-01T23:22:57", "params": {"params.yaml": {"data": {"task": "Chest X-ray triage", "train": {"n_human": 400, "n_synthetic": 0, "seed": 0}, "eval": {"seed": 1}}}}, "status": "Success", "executor": null, "metrics": {"metrics.json": {"data": {"AUROC": 0.7667, "loss": 0.2333, "eval": {"n_seen": 400}}}}, "name": "big-human"}},
  "c87de6c5c530b0640fe6d8d010c8c0cd07e69b0f": {"data": {"timestamp": "2026-12-01T23:22:50", "params": {"params.yaml": {"data": {"task": "Chest X-ray triage", "train": {"n_human": 200, "n_synthetic": 0, "seed": 0}, "eval": {"seed": 1}}}}, "status": "Success", "executor": null, "metrics": {"metrics.json": {"data": {"AUROC": 0.7, "loss": 0.3, "eval": {"n_seen": 200}}}}, "name": "myoid-male"}},
  "c63caf7ed07dfefcdf525ef7564d180739716e58": {"data": {"timestamp": "2026-12-01T23:22:58", "params": {"params.yaml": {"data": {"task": "Chest X-ray triage", "train": {"n_human": 10, "n_synthetic": 10, "seed": -1}, "eval": {"seed": 1}}}}, "status": "Failed", "executor": null, "error": {"msg": "Experiment run failed.", "type": ""}, "name": "bad-seed"}},
  "352ca787f6183934e18f63bcf5c356e515662493": {"data": {"timestamp": "2026-12-01T23:28:03", "params": {"params.yaml": {"data": {"task": "Chest X-ray triage", "train": {"n_human": 25, "n_synthetic": 25, "seed": 0}, "eval": {"seed": 1}}}}, "status": "Queued", "executor": null, "name": "waiting"}}
 }
}"""
DVC2_BASELINE = "feed619fb03d6bd7a44aec0a6c85b35a6efcd437"


def test_dvc2_object_format_is_read_the_same_way():
    runs = read_dvc_experiments(DVC2_SAMPLE, "dvc2.json")
    assert [(r.run_id[:7], r.name, r.state, r.params["n_human"], r.params["n_synthetic"]) for r in runs] == [
        ("feed619", "main", FINISHED, "100", "0"), ("a4a3df0", "big-human", FINISHED, "400", "0"),
        ("c87de6c", "myoid-male", FINISHED, "200", "0"), ("c63caf7", "bad-seed", "FAILED", "10", "10"),
        ("352ca78", "waiting", "QUEUED", "25", "25")]
    assert all(r.experiment == "main" and r.tags["dvc.baseline"] == DVC2_BASELINE for r in runs)
    assert [r.metrics.get("AUROC") for r in runs] == [[(0, auroc(100, 0))], [(0, auroc(400, 0))],
                                                      [(0, auroc(200, 0))], None, None]
    assert runs[3].tags["dvc.error"] == "Experiment run failed."


def test_earlier_dvc2_flags_and_checkpoints():
    # Before `status`, DVC 2 wrote `queued` and `running` flags, and one entry per checkpoint commit, each
    # naming its experiment's tip in `checkpoint_tip` (dvc/repo/experiments/show.py of DVC 2.10).
    doc = json.loads(DVC2_SAMPLE)
    entries = doc[DVC2_BASELINE]
    for entry in entries.values():
        entry["data"].pop("status")
    entries["352ca787f6183934e18f63bcf5c356e515662493"]["data"]["queued"] = True
    entries["c87de6c5c530b0640fe6d8d010c8c0cd07e69b0f"]["data"]["running"] = True
    checkpoint = copy.deepcopy(entries["a4a3df013f813d16cb1c8431e51e6236d86c72ac"])
    checkpoint["data"]["checkpoint_tip"] = "a4a3df013f813d16cb1c8431e51e6236d86c72ac"
    entries["0" * 40] = checkpoint
    runs = read_dvc_experiments(json.dumps(doc), "dvc2.json")
    assert "0" * 40 not in {r.run_id for r in runs}  # an earlier checkpoint is not a run of its own
    assert {r.name: r.state for r in runs} == {"main": FINISHED, "big-human": FINISHED, "myoid-male": "RUNNING", "bad-seed": "FAILED",
                      "waiting": "QUEUED"}


# ----------------------------------------------------------------------------- keys
def one_run(params: dict, metrics: dict | None = None) -> TrackedRun:
    doc = [{"rev": "a" * 40, "name": "main", "data": {"params": params, "metrics": {}}, "error": None,
            "experiments": [{"name": "x", "executor": None, "revs": [
                {"rev": "b" * 40, "name": "x", "data": {"params": params, "metrics": metrics or {}},
                 "error": None, "experiments": None}]}]}]
    (run,) = read_dvc_experiments(json.dumps(doc), "one.json")
    return run


def test_duplicate_leaf_names_are_not_given_bare_and_keys_two_files_share_name_their_file():
    run = one_run({"params.yaml": {"data": {"train": {"lr": 0.1, "seed": 1}, "model": {"seed": 2}, "epochs": 3}},
                   "extra.yaml": {"data": {"train": {"lr": 0.2}, "optimizer": {"name": "adam"}}}})
    assert run.params == {"params.yaml:train.lr": "0.1", "extra.yaml:train.lr": "0.2", "train.seed": "1",
                          "model.seed": "2", "epochs": "3", "optimizer.name": "adam", "name": "adam"}


def test_param_values_are_text_and_metrics_numbers_only():
    run = one_run({"params.yaml": {"data": {"flag": True, "sizes": [1, 2], "none": None, "rate": 0.5, "s": "x",
                                            "empty": {}}},
                   "broken.yaml": {"error": {"type": "YAMLError", "msg": "bad"}}},
                  {"m.json": {"data": {"acc": 0.9, "steps": 10, "ok": True, "note": "fine", "big": 10 ** 400,
                                       "nested": {"f1": 0.5, "list": [1]}}},
                   "scalar.json": {"data": 0.25}})
    assert run.params == {"flag": "true", "sizes": "[1, 2]", "none": "null", "rate": "0.5", "s": "x",
                          "empty": "{}"}
    assert run.metrics == {"acc": [(0, 0.9)], "steps": [(0, 10.0)], "nested.f1": [(0, 0.5)], "f1": [(0, 0.5)],
                           "scalar.json": [(0, 0.25)]}


def test_nested_experiments_are_read():
    doc = json.loads(CAPTURE.read_text())
    ranges = doc[1]["experiments"]
    ranges[0]["revs"][0]["experiments"] = [ranges.pop(1)]  # the second experiment, now derived from the first
    runs = read_dvc_experiments(json.dumps(doc), "nested.json")
    assert {r.run_id for r in runs} == {r.run_id for r in captured()}
    assert all(r.experiment == "main" for r in runs)


def test_a_commit_listed_twice_gives_its_runs_once():
    doc = json.loads(CAPTURE.read_text())
    doc.append(copy.deepcopy(doc[1]))  # as a branch and a tag on the same commit might list it
    runs = read_dvc_experiments(json.dumps(doc), "twice.json")
    assert [r.run_id for r in runs] == [r.run_id for r in captured()]


# ----------------------------------------------------------------------------- refusals
@pytest.mark.parametrize(("content", "reason"), [
    ("{not json", "is not valid JSON"),
    (b'["\xff"]', "is not UTF-8 text"),
    ('{"runs": [1, 2]}', "is not DVC's experiment list"),
    ("[1, 2]", "entry 1 has no 'rev'"),
    ('"a string"', "it holds a string"),
    ('[{"rev": "abc", "data": [1]}]', "commit abc's data is a list, not an object"),
    ('[{"rev": "abc", "experiments": {"revs": []}}]', "are an object, not a list"),
    ('[{"rev": "abc", "experiments": [{"revs": [{"name": "x"}]}]}]', "an experiment of commit abc has no 'rev'"),
    ('[{"rev": "abc", "experiments": [{"revs": [{"rev": "d", "data": null}], "executor": "x"}]}]',
     "executor is a string"),
    ("[]", "No DVC experiments"),
    ('[{"rev": "workspace", "data": {"metrics": {"m.json": {"data": {"acc": 1}}}}}]', "No DVC experiments"),
    ('[{"rev": "abc", "data": {"metrics": {}}}]', "No DVC experiments"),
    ("[" * 100_000, "cannot be read as JSON"),
    ("[1" + "0" * 5000 + "]", "cannot be read as JSON"),
])
def test_what_is_not_dvcs_output_is_refused_naming_the_source(content, reason):
    with pytest.raises(TrackerError, match=re.escape(reason)) as refused:
        read_dvc_experiments(content, "upload\x1b.json")
    assert "upload\\x1b.json" in str(refused.value)  # the label, shown inertly


@pytest.mark.parametrize("depth", [500, 5_000])
def test_deeply_nested_metrics_are_read_while_python_can_parse_them_and_refused_past_that(depth):
    deep = "0.5"
    for _ in range(depth):
        deep = '{"a": ' + deep + "}"
    content = '[{"rev": "abc", "data": {"metrics": {"m.json": {"data": ' + deep + "}}}}]"
    if depth < 950:
        (run,) = read_dvc_experiments(content, "deep.json")
        assert run.metrics == {".".join(["a"] * depth): [(0, 0.5)], "a": [(0, 0.5)]}
    else:
        with pytest.raises(TrackerError, match="deep.json cannot be read as JSON"):
            read_dvc_experiments(content, "deep.json")


def test_a_file_over_the_upload_limit_is_refused(monkeypatch):
    monkeypatch.setenv(UPLOAD_LIMIT_ENV, "0.001")  # about 1 KB; the capture is several
    with pytest.raises(TrackerError, match="dvc_exp_show.json is larger than the upload limit"):
        captured()


# ----------------------------------------------------------------------------- damaged output
def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


DOC = json.loads(CAPTURE.read_text())
PATHS = [path for path in _paths(DOC) if path]
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=4),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                         max_size=3), max_leaves=6)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PATHS), JSON_VALUES | st.just(...)), min_size=1, max_size=3))
def test_damaged_output_gives_runs_or_a_tracker_error(changes):
    doc = copy.deepcopy(DOC)
    for path, value in changes:
        try:
            parent = doc
            for step in path[:-1]:
                parent = parent[step]
            if value is ...:
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):  # an earlier change removed the place
            continue
    try:
        runs = read_dvc_experiments(json.dumps(doc), "damaged.json")
    except TrackerError as error:
        assert "damaged.json" in str(error)
        return
    for run in runs:
        assert isinstance(run.run_id, str) and run.run_id
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in run.params.items())
        assert all(isinstance(v, float) for history in run.metrics.values() for _, v in history)
