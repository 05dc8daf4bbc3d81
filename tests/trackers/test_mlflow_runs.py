"""Reading MLflow runs through MLflow's own client: its SQLite store, a real `mlflow server` over HTTP, and the
ways a store can be wrong (missing, not MLflow's, unreachable), none of which may change anything on disk."""

from __future__ import annotations

import socket
import sqlite3
import time

import pytest

from strategy.errors import TrackerError
from strategy.ingest import BadSetting
from strategy.trackers import RunMapping
from strategy.trackers.mlflow_runs import check_store_allowed, local_store_path, read_mlflow_runs
from tests.trackers.mlflow_store import LoggedRun, log_runs, mlflow_server, sqlite_uri

pytest.importorskip("mlflow", reason="the trackers extra (mlflow) is not installed; `make test` installs it")

RUNS = [LoggedRun("small", 50, 0, history=(0.61, 0.66, 0.64)),
        LoggedRun("mixed", 50, 500, history=(0.70, 0.74)),
        LoggedRun("large", 400, 400, history=(0.80,), tags={"stage": "final"}),
        LoggedRun("crashed", 10, 10, finish=False),
        LoggedRun("extra", 20, 20, extra={"lr": "0.001"})]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow")
    uri = sqlite_uri(folder / "mlflow.db")
    ids = log_runs(uri, "xray", RUNS)
    return uri, ids, folder


def test_every_run_of_the_experiment_is_read_page_by_page(store):
    uri, ids, _ = store
    runs = read_mlflow_runs(uri, "xray", page_size=2)
    assert sorted(r.run_id for r in runs) == sorted(ids.values())
    by_name = {r.name: r for r in runs}
    assert by_name["mixed"].params["n_synthetic"] == "500" and by_name["mixed"].experiment == "xray"
    assert by_name["large"].tags["stage"] == "final"
    assert by_name["crashed"].state == "RUNNING" and by_name["small"].state == "FINISHED"
    # The latest value comes with the run; the history is only fetched when the mapping reads best or a step.
    assert by_name["small"].metrics["AUROC"] == [(0, 0.64)]


def test_the_history_is_read_when_the_mapping_reads_the_best_or_a_step(store):
    uri, _, _ = store
    runs = {r.name: r for r in read_mlflow_runs(uri, "xray", RunMapping(step="best"))}
    assert runs["small"].metrics["AUROC"] == [(0, 0.61), (1, 0.66), (2, 0.64)]


def test_a_watching_sync_reads_only_runs_that_ended_since(store):
    uri, ids, _ = store
    assert read_mlflow_runs(uri, "xray", ended_after=time.time() + 3600) == []
    ended = read_mlflow_runs(uri, "xray", ended_after=0)
    assert sorted(r.name for r in ended) == sorted(name for name in ids if name != "crashed")  # never ended


def test_an_experiment_is_found_by_id_too(store):
    uri, ids, _ = store
    from mlflow.tracking import MlflowClient
    experiment_id = MlflowClient(tracking_uri=uri).get_experiment_by_name("xray").experiment_id
    assert len(read_mlflow_runs(uri, experiment_id)) == len(ids)


def test_an_unknown_experiment_is_named(store):
    uri, _, _ = store
    with pytest.raises(TrackerError, match="has no experiment named 'nope'"):
        read_mlflow_runs(uri, "nope")


def test_a_missing_store_is_refused_and_not_created(tmp_path):
    missing = tmp_path / "absent" / "mlflow.db"
    with pytest.raises(TrackerError, match="does not exist"):
        read_mlflow_runs(sqlite_uri(missing), "xray")
    assert not missing.exists() and not missing.parent.exists()
    with pytest.raises(TrackerError, match="folder does not exist"):
        read_mlflow_runs(str(tmp_path / "mlruns"), "xray")


def test_a_database_that_is_not_mlflow_is_refused_and_left_as_it_was(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")
    before = path.read_bytes()
    with pytest.raises(TrackerError, match="is not an MLflow store"):
        read_mlflow_runs(sqlite_uri(path), "xray")
    assert path.read_bytes() == before
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    with pytest.raises(TrackerError, match="not a SQLite database"):
        read_mlflow_runs(sqlite_uri(garbage), "xray")


def test_a_server_that_does_not_answer_fails_with_a_message_not_a_hang(monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with socket.socket() as silent:  # accepts connections and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        with pytest.raises(TrackerError, match="did not answer"):
            read_mlflow_runs(f"http://127.0.0.1:{port}", "xray")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(TrackerError, match="did not answer"):
        read_mlflow_runs(f"http://127.0.0.1:{port}", "xray")
    assert time.monotonic() - started < 60  # a refused connection is not retried for minutes


def test_a_tracking_server_over_http_gives_the_same_runs(store):
    uri, ids, folder = store
    with mlflow_server(uri, folder / "server.log") as url:
        over_http = read_mlflow_runs(url, "xray", RunMapping(step="best"), page_size=2)
        with pytest.raises(TrackerError, match="has no experiment named 'nope'"):
            read_mlflow_runs(url, "nope")
    local = read_mlflow_runs(uri, "xray", RunMapping(step="best"))
    key = lambda runs: sorted((r.run_id, r.state, dict(r.params), dict(r.metrics)) for r in runs)  # noqa: E731
    assert key(over_http) == key(local) and len(over_http) == len(ids)


@pytest.mark.parametrize(("uri", "message"), [
    ("ftp://example.org/runs", "is not a tracking URI MLflow knows"),
    ("mysql://nobody@127.0.0.1:1/mlflow", "the database driver it needs is not installed"),
])
def test_a_uri_mlflow_cannot_use_is_one_sentence_not_a_traceback(uri, message):
    with pytest.raises(TrackerError, match=message):
        read_mlflow_runs(uri, "xray")


@pytest.mark.parametrize(("uri", "expected"), [
    ("sqlite:////srv/mlflow.db", "/srv/mlflow.db"), ("sqlite:///mlflow.db", "mlflow.db"),
    ("file:///srv/mlruns", "/srv/mlruns"), ("mlruns", "mlruns"), ("http://host:5000", None), ("databricks", None),
    ("databricks-uc", None)])
def test_local_store_paths(uri, expected):
    found = local_store_path(uri)
    assert (str(found) if found is not None else None) == expected


def test_a_timeout_that_is_not_a_number_of_seconds_is_named(store, monkeypatch):
    from strategy.ingest import BadSetting
    uri, _, _ = store
    monkeypatch.setenv("STRATEGY_TRACKER_TIMEOUT", "soon")
    with pytest.raises(BadSetting, match="STRATEGY_TRACKER_TIMEOUT must be a whole number of seconds"):
        read_mlflow_runs(uri, "xray")


REFUSED_THERE = "the app does not make requests there"


@pytest.mark.parametrize("uri", [
    "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]:5000", "http://[::ffff:169.254.169.254]/",
    "http://0.0.0.0:5000", "postgresql://user:secret@169.254.169.254/mlflow", "http://metadata.google.internal/",
    "https://224.0.0.1"])
def test_a_server_at_a_link_local_or_metadata_address_is_refused_before_any_request(uri):
    """The app's server makes the request, so a typed URI must not reach the cloud's metadata service. The check
    is made before MLflow's client exists, so no request leaves."""
    with pytest.raises(TrackerError, match=REFUSED_THERE):
        check_store_allowed(uri)


@pytest.mark.parametrize("uri", ["http://127.0.0.1:5000", "http://localhost:5000", "http://10.1.2.3:5000",
                                 "databricks", "https://mlflow.invalid"])
def test_ordinary_tracking_servers_pass_unless_an_admin_lists_others(uri, monkeypatch):
    monkeypatch.delenv("STRATEGY_TRACKING_HOSTS", raising=False)
    check_store_allowed(uri)  # loopback, private and unresolvable hosts are the team's own servers
    monkeypatch.setenv("STRATEGY_TRACKING_HOSTS", "mlflow.internal:5000, 10.9.9.9")
    if uri != "databricks":
        with pytest.raises(TrackerError, match="is not one the app may reach: an admin lists them in "
                                               "STRATEGY_TRACKING_HOSTS"):
            check_store_allowed(uri)


def test_listed_tracking_servers_are_the_only_ones_reached(monkeypatch):
    monkeypatch.setenv("STRATEGY_TRACKING_HOSTS", "mlflow.internal:5000,10.9.9.9,[::1]")
    for allowed in ("http://mlflow.internal:5000/", "http://MLflow.Internal:5000", "http://10.9.9.9:80",
                    "http://10.9.9.9", "http://[::1]:5000"):
        check_store_allowed(allowed)
    for refused in ("http://mlflow.internal:6000", "http://mlflow.internal", "http://10.9.9.90"):
        with pytest.raises(TrackerError, match="is not one the app may reach"):
            check_store_allowed(refused)
    monkeypatch.setenv("STRATEGY_TRACKING_HOSTS", "mlflow internal; drop")
    with pytest.raises(BadSetting, match="STRATEGY_TRACKING_HOSTS must be host names or host:port pairs"):
        check_store_allowed("http://mlflow.internal:5000")


def test_a_port_that_is_not_a_port_is_named():
    with pytest.raises(TrackerError, match="has a port that is not a number from 0 to 65535"):
        check_store_allowed("http://mlflow.internal:99999")
