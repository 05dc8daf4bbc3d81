"""Thread bounds where the numeric work runs: a humanness assessment and a task's refit run with scikit-learn's
OpenMP and BLAS pools at STRATEGY_THREADS threads (default 1), whatever the process's own settings, because
on a busy server threads that spin while they wait for a core make the work many times slower."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import strategy.quality.metrics as registry
from strategy.quality import assess, frame_sample
from strategy.quality.metrics import HumannessMetric
from strategy.threads import bounded, mapped_in_order, thread_limit, worker_pool

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture
def seen_threads():
    """A metric that records, while the assessment runs, how many threads each loaded pool may use."""
    seen: list[dict[str, int]] = []

    def record(samples):
        seen.append({pool["internal_api"]: pool["num_threads"] for pool in threadpool_info()})
        return {"score": 1.0}
    registry.register(HumannessMetric("thread_probe", "Thread probe", "tabular", 0.0, record))
    try:
        yield seen
    finally:
        registry.unregister("tabular", "thread_probe")


def samples():
    frame = pd.DataFrame({"a": [float(i % 7) for i in range(60)], "b": [str(i % 3) for i in range(60)]})
    return frame_sample(frame, "human"), frame_sample(frame.sample(frac=1, random_state=1), "synthetic")


@pytest.mark.parametrize(("setting", "expected"), [("", 1), ("2", 2), ("zero", 1)])
def test_an_assessment_runs_with_the_set_number_of_threads(monkeypatch, seen_threads, setting, expected):
    monkeypatch.setenv("STRATEGY_THREADS", setting)
    assert thread_limit() == expected
    with threadpool_limits(limits=4):  # the process's own pools are wider, as OpenMP's default is one per core
        assess(*samples())
        after = {pool["internal_api"]: pool["num_threads"] for pool in threadpool_info()}
    # Every time the metric ran (for the report and for the noise floor's human-against-human comparisons).
    assert seen_threads and all(during and set(during.values()) == {expected} for during in seen_threads), seen_threads
    assert set(after.values()) == {4}  # the process's own limits are back once the assessment is over


def test_a_bounded_call_inside_another_keeps_the_outer_limit(monkeypatch):
    monkeypatch.setenv("STRATEGY_THREADS", "1")

    @bounded
    def inner():
        return {pool["internal_api"]: pool["num_threads"] for pool in threadpool_info()}

    @bounded
    def outer():
        monkeypatch.setenv("STRATEGY_THREADS", "3")  # read once, by the outermost call
        return inner()
    assert set(outer().values()) == {1}


def test_worker_processes_do_not_inherit_this_process_state(monkeypatch):
    """Workers come from a fork server, not a fork of this process: a forked child copies whatever this
    process holds mid-change (other threads' locks and objects), and one crashed collecting garbage."""
    import tests.processes as processes
    monkeypatch.setattr(processes, "PARENT_MARK", "set in the parent")
    with worker_pool(1, preload=["tests.processes"]) as pool:
        assert list(pool.map(processes.parent_mark, [0])) == ["unset"]
    assert processes.parent_mark(0) == "set in the parent"


def test_items_a_dead_worker_did_not_return_are_computed_here(caplog):
    from tests.processes import doubled_except_in_a_worker
    with worker_pool(1) as pool:
        results = list(mapped_in_order(pool, doubled_except_in_a_worker, [1, 2, 3, 4]))
    assert results == [2, 4, 6, 8]
    assert "computing the remaining 4 of 4 items in this process" in caplog.text


def test_without_a_pool_the_items_are_mapped_here_in_order():
    assert list(mapped_in_order(None, str, [3, 1, 2])) == ["3", "1", "2"]


def test_a_worker_process_keeps_this_process_thread_limit(monkeypatch):
    """Set once per worker, for every pool its work loads: three is neither a core count here nor the
    OMP_NUM_THREADS the suite runs with, so only the limit handed over can give it."""
    from tests.processes import worker_thread_limits
    monkeypatch.setenv("STRATEGY_THREADS", "3")
    with worker_pool(1, preload=["sklearn.neighbors"]) as pool:
        seen = list(pool.map(worker_thread_limits, [0]))[0]
    assert {"openmp", "openblas"} <= set(seen)
    assert set(seen.values()) == {3}


def test_a_worker_started_while_the_app_runs_does_not_run_the_app():
    """Streamlit makes app.py the __main__ module, and a worker imports the main module again before it
    starts: app.py's guard must keep its pages, sign-in and catalog out of the worker. Run in a process of
    its own, since this one's main module is pytest's."""
    script = (
        "import json, sys, types\n"
        "main = types.ModuleType('__main__')\n"
        f"main.__file__ = {str(PROJECT / 'app.py')!r}\n"
        "sys.modules['__main__'] = main  # as Streamlit does for each script run\n"
        "from strategy.threads import worker_pool\n"
        "from tests.processes import main_module_names\n"
        "with worker_pool(1) as pool:\n"
        "    print(json.dumps(list(pool.map(main_module_names, [0]))[0]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    names = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert {"main", "dashboard", "st"} <= names  # app.py was imported in the worker, as the main module
    assert not {"pages", "navigation", "access", "location"} & names  # and its body did not run there
    assert "Traceback" not in done.stderr
