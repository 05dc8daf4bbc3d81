"""Runs from an MLflow tracking store, read through MLflow's own client.

Going through ``MlflowClient`` means every store MLflow supports works the same way: its SQLite (or other SQL)
store, a tracking server over HTTP, Databricks or any remote store configured for MLflow. The full ``mlflow``
package is needed (the ``trackers`` extra): ``mlflow-skinny`` alone lacks the SQL stores.

Reading must never change the store. MLflow's SQL store creates a missing database file and migrates the one it
opens, so a local database is checked first: it must exist and already hold MLflow's tables. A server that
does not answer fails within the timeout ($STRATEGY_TRACKER_TIMEOUT seconds, default 10) after one retry,
instead of MLflow's default of several minutes of retries.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

from strategy.errors import TrackerError
from strategy.ingest import BadSetting, inert
from strategy.trackers.runs import RunMapping, TrackedRun

TIMEOUT_ENV = "STRATEGY_TRACKER_TIMEOUT"
TRACKING_HOSTS_ENV = "STRATEGY_TRACKING_HOSTS"
# Names of instance metadata services that may resolve to ordinary-looking addresses.
METADATA_HOSTS = ("metadata.google.internal", "metadata")
PAGE_SIZE = 1_000  # runs per search request; MLflow's server caps a page at 50,000
MAX_RUNS = 1_000_000  # bounded before the runs are materialised, like a file's rows
# Tracking URIs that name a remote store without a scheme (MLflow's own spellings), not a local folder.
REMOTE_WORDS = ("databricks", "databricks-uc", "uc")


def _client(tracking_uri: str):
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise TrackerError("Reading MLflow runs needs the mlflow package: install the project's `trackers` extra "
                           "(pip install -e '.[trackers]').") from None
    timeout = os.environ.get(TIMEOUT_ENV, "").strip() or "10"
    if not timeout.isdigit() or int(timeout) < 1:
        raise BadSetting(f"{TIMEOUT_ENV} must be a whole number of seconds above 0 (got {inert(repr(timeout))}); "
                         "unset it to use the default of 10")
    # MLflow reads these at each request; a value the user set for MLflow itself is kept.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", timeout)
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    return MlflowClient(tracking_uri=tracking_uri)


def local_store_path(tracking_uri: str) -> Path | None:
    """The file or folder a local tracking URI names (``sqlite:///…``, ``file:…`` or a bare path); None for a
    server or remote store."""
    parsed = urlparse(tracking_uri)
    if parsed.scheme == "sqlite":
        # SQLAlchemy's spelling: sqlite:///relative.db and sqlite:////absolute.db (the host part is empty).
        path = unquote(tracking_uri.split("://", 1)[1].split("?", 1)[0])
        path = path[1:] if path.startswith("/") else path
        return Path(path) if path not in ("", ":memory:") else None
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if tracking_uri.strip() in REMOTE_WORDS:
        return None
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and tracking_uri[1:3] in (":\\", ":/")):
        return Path(tracking_uri)
    return None


def _check_local_store(tracking_uri: str) -> None:
    """Refuse a local store that is missing or is not MLflow's, before MLflow would create or migrate it."""
    if urlparse(tracking_uri).scheme != "sqlite":
        path = local_store_path(tracking_uri)
        if path is not None and not path.is_dir():
            raise TrackerError(f"No MLflow store at {inert(tracking_uri)!r}: that folder does not exist.")
        return
    path = local_store_path(tracking_uri)
    if path is None or not path.is_file():
        raise TrackerError(f"No MLflow store at {inert(tracking_uri)!r}: that database file does not exist.")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError:
        raise TrackerError(f"{inert(tracking_uri)!r} is not an MLflow store: the file is not a SQLite "
                           "database.") from None
    if not {"experiments", "runs", "alembic_version"} <= tables:
        raise TrackerError(f"{inert(tracking_uri)!r} is not an MLflow store: it has no MLflow tables.")


def _failed(tracking_uri: str, error: Exception) -> TrackerError:
    first = inert(str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__)
    if isinstance(error, ImportError):
        return TrackerError(f"MLflow cannot open {inert(tracking_uri)!r}: the database driver it needs is not "
                            f"installed ({first}).")
    if "unsupported URI" in first:
        return TrackerError(f"{inert(tracking_uri)!r} is not a tracking URI MLflow knows: give a tracking server "
                            "(http://host:5000), a database (sqlite:///mlflow.db, postgresql://…) or databricks.")
    if "Max retries" in first or "Connection" in first or "timed out" in first.lower():
        # The timeout MLflow used: ours, unless the user set MLflow's own.
        waited = os.environ.get("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
        return TrackerError(f"The MLflow tracking server at {inert(tracking_uri)!r} did not answer (within "
                            f"{inert(waited)} s a try): check the URI and that the server is running.")
    return TrackerError(f"MLflow at {inert(tracking_uri)!r} refused the request: {first[:300]}")


def read_mlflow_runs(tracking_uri: str, experiment: str, mapping: RunMapping | None = None, *,
                     page_size: int = PAGE_SIZE, ended_after: float | None = None,
                     progress: Callable[[int], None] | None = None) -> list[TrackedRun]:
    """Every run of one experiment (by name, or by id when no experiment has that name), page by page.

    Deleted runs are left out, as MLflow's UI leaves them out. A metric read at its best or at a given step
    needs its history, fetched for the mapped metric only; the latest value comes with the run. With
    ``ended_after`` (seconds since the epoch) only runs that ended since then are read: a watching sync asks the
    store for what finished since its last look instead of reading every run again.
    """
    try:
        from mlflow.exceptions import MlflowException
    except ImportError:
        _client(tracking_uri)  # says which extra to install
        raise
    mapping = mapping or RunMapping()
    _check_local_store(tracking_uri)
    try:
        return _read(tracking_uri, experiment, mapping, page_size=page_size, ended_after=ended_after,
                     progress=progress)
    except TrackerError:
        raise
    # MLflow raises its own errors, and a store whose driver is missing (psycopg, MySQLdb) raises ImportError:
    # each becomes one sentence, never a traceback.
    except (MlflowException, ImportError, OSError, ValueError, TypeError) as error:
        raise _failed(tracking_uri, error) from None


def _read(tracking_uri: str, experiment: str, mapping: RunMapping, *, page_size: int, ended_after: float | None,
          progress: Callable[[int], None] | None) -> list[TrackedRun]:
    from mlflow.entities import ViewType
    from mlflow.exceptions import MlflowException

    client = _client(tracking_uri)
    try:
        found = client.get_experiment_by_name(experiment)
        if found is None and experiment.isdigit():
            found = client.get_experiment(experiment)
    except MlflowException as error:  # an id that names no experiment; any other failure is read_mlflow_runs'
        if "RESOURCE_DOES_NOT_EXIST" not in str(error) and "does not exist" not in str(error):
            raise
        found = None
    if found is None:
        raise TrackerError(f"MLflow at {inert(tracking_uri)!r} has no experiment named {inert(experiment)!r}.")
    runs = []
    # Every live run is read, not only the states the mapping takes, so the preview can say what it left out.
    ended = f"attributes.end_time >= {int(ended_after * 1000)}" if ended_after is not None else ""
    for page in _pages(client, found.experiment_id, ended, page_size, ViewType.ACTIVE_ONLY):
        runs.extend(_tracked(client, run, found.name, mapping) for run in page)
        if len(runs) > MAX_RUNS:
            raise TrackerError(f"Experiment {inert(experiment)!r} has more than {MAX_RUNS:,} runs; filter it "
                               "with the mapping's tags.")
        if progress:
            progress(len(runs))
    return runs


def _pages(client, experiment_id: str, filter_string: str, page_size: int, view) -> Iterator[list]:
    token = None
    while True:
        page = client.search_runs([experiment_id], filter_string=filter_string, run_view_type=view,
                                  max_results=page_size, order_by=["attributes.start_time ASC"], page_token=token)
        yield list(page)
        token = page.token
        if not token:
            return


def _tracked(client, run, experiment: str, mapping: RunMapping) -> TrackedRun:
    metrics = {key: [(0, value)] for key, value in run.data.metrics.items()}
    if mapping.step != "last":
        for key in _wanted_metrics(run.data.metrics, mapping):
            history = client.get_metric_history(run.info.run_id, key)
            metrics[key] = [(m.step, m.value) for m in sorted(history, key=lambda m: (m.step, m.timestamp))]
    return TrackedRun(run_id=run.info.run_id, name=run.info.run_name or "", state=run.info.status,
                      experiment=experiment, params=dict(run.data.params), tags=dict(run.data.tags), metrics=metrics)


def _wanted_metrics(logged: dict, mapping: RunMapping) -> list[str]:
    """The logged metric keys the mapping may read (the mapped key, or any when it reads the task's metric)."""
    if not mapping.metric_key:
        return list(logged)
    name = mapping.metric_key.removeprefix("metrics.")
    return [key for key in logged if key.lower() == name.lower()]


def _tracking_hosts() -> list[str] | None:
    """The hosts named in $STRATEGY_TRACKING_HOSTS (``host`` or ``host:port``, comma-separated), or None when
    unset."""
    raw = os.environ.get(TRACKING_HOSTS_ENV, "").strip()
    if not raw:
        return None
    hosts = [part.strip().lower() for part in raw.split(",") if part.strip()]
    if not hosts or any(not re.fullmatch(r"[a-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9a-f:.]+\](:[0-9]{1,5})?", h) for h in hosts):
        raise BadSetting(f"{TRACKING_HOSTS_ENV} must be host names or host:port pairs separated by commas "
                         f"(got {inert(repr(raw))}); unset it to allow any server but link-local addresses")
    return hosts


def check_server_allowed(tracking_uri: str) -> None:
    """For a server address typed into the app: the app's server makes the request, so a signed-in user must not
    be able to point it at the cloud's instance metadata service (a link-local address, where credentials live)
    or, when an admin has listed the tracking servers in $STRATEGY_TRACKING_HOSTS, anywhere else."""
    parsed = urlparse(tracking_uri)
    host = (parsed.hostname or "").lower()
    if not host:
        return
    try:
        port = parsed.port
    except ValueError:
        raise TrackerError(f"{inert(tracking_uri)!r} has a port that is not a number from 0 to 65535.") from None
    listed = _tracking_hosts()
    if listed is not None:
        names = {host, f"[{host}]"}  # an IPv6 address is listed in brackets
        names |= {f"{name}:{port}" for name in names} if port else set()
        if not names & set(listed):
            raise TrackerError(f"The tracking server {inert(host)!r} is not one the app may reach: an admin lists "
                               f"them in {TRACKING_HOSTS_ENV} ({', '.join(listed)}).")
        return
    refusal = (f"the app does not make requests there. An admin can list the allowed tracking servers in "
               f"{TRACKING_HOSTS_ENV}.")
    if host in METADATA_HOSTS:
        raise TrackerError(f"The tracking server {inert(host)!r} names a cloud's instance metadata service; {refusal}")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, port or None)}
    except (OSError, UnicodeError):
        return  # nothing to reach: MLflow's own request fails and says so
    for address in sorted(addresses):
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        ip = getattr(ip, "ipv4_mapped", None) or ip  # ::ffff:169.254.169.254 is 169.254.169.254
        if ip.is_link_local or ip.is_multicast or ip.is_unspecified:
            raise TrackerError(f"The tracking server {inert(host)!r} is at {ip}, a link-local, multicast or "
                               f"unspecified address (a cloud's instance metadata lives at one); {refusal}")


def check_store_allowed(tracking_uri: str, roots=None) -> None:
    """For a URI typed into the app: a local store (a file or folder on the server) must lie inside the allowed
    folders (strategy.locations: data/ or $STRATEGY_SAMPLE_ROOTS), so the page cannot be used to read the
    server's other files; a server (a tracking server or a SQL store's host) must pass
    :func:`check_server_allowed`."""
    from strategy.locations import SAMPLE_ROOTS_ENV, allowed_roots

    path = local_store_path(tracking_uri.strip())
    if path is None:
        check_server_allowed(tracking_uri.strip())
        return
    real = Path(os.path.realpath(path))
    allowed = allowed_roots(roots)
    if not any(real == root or root in real.parents for root in allowed):
        raise TrackerError(f"The local MLflow store {inert(tracking_uri)!r} is outside the folders the app may read "
                           f"({', '.join(str(root) for root in allowed)}); an admin can allow a folder with "
                           f"{SAMPLE_ROOTS_ENV}, or point to a tracking server (http://…).")
