"""Real MLflow tracking stores for the import tests: runs logged with MLflow's own client into its SQLite store,
and a real `mlflow server` over that store on a free local port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.processes import free_port, stop

XRAY = "Chest X-ray triage"  # a demo task; its metric is AUROC


@dataclass
class LoggedRun:
    """What a test logs for one run: counts, the metric's history and anything else."""

    name: str
    n_human: int | str | None
    n_synthetic: int | str | None
    history: Sequence[float] = (0.8,)
    task: str | None = XRAY
    metric: str = "AUROC"
    extra: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    finish: bool = True


def log_runs(tracking_uri: str, experiment: str, runs: Sequence[LoggedRun]) -> dict[str, str]:
    """Log the runs with MlflowClient (a batch per run, as mlflow.log_params/log_metric would) and return
    each run's name → its MLflow run id."""
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found else client.create_experiment(experiment)
    ids = {}
    for logged in runs:
        run = client.create_run(experiment_id, run_name=logged.name)
        params = {"n_human": logged.n_human, "n_synthetic": logged.n_synthetic, "task": logged.task, **logged.extra}
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(logged.metric, value, 1_700_000_000_000 + step, step)
                     for step, value in enumerate(logged.history)],
            params=[Param(key, str(value)) for key, value in params.items() if value is not None],
            tags=[RunTag(key, value) for key, value in logged.tags.items()])
        if logged.finish:
            client.set_terminated(run.info.run_id)
        ids[logged.name] = run.info.run_id
    return ids


def sqlite_uri(path: Path) -> str:
    return f"sqlite:///{path}"


@contextmanager
def mlflow_server(backend_uri: str, log: Path) -> Iterator[str]:
    """`mlflow server` over a store, on a free port, stopped afterwards; yields its http:// tracking URI."""
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend_uri,
               "--default-artifact-root", str(log.parent / "artifacts"), "--host", "127.0.0.1",
               "--port", str(port), "--workers", "1"]
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                                   env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"mlflow server exited with {process.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not answer within 120 s:\n{log.read_text()}")
            time.sleep(0.25)
        yield url
    finally:
        stop(process)
