"""One concurrent writer for the DuckLake tests, run as its own process.

    python -m tests.lake_writer LOCATION log WORKER COUNT FOLDER     log COUNT outcomes, one `strategy log` each
    python -m tests.lake_writer LOCATION recommend WORKER COUNT TASK  recompute TASK COUNT times

Every write goes through the click CLI exactly as a training job would call it; the process exits non-zero on
the first command that fails, printing its output.
"""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

from strategy.cli import main

TASK = "Card fraud detection"


def run(location: str, *args: str) -> None:
    result = CliRunner().invoke(main, ["--catalog", location, *args])
    if result.exit_code != 0:
        sys.stderr.write(f"strategy {' '.join(args)} failed ({result.exit_code}):\n{result.output}\n")
        if result.exception:
            raise result.exception
        sys.exit(1)


def log(location: str, worker: str, count: int, folder: Path) -> None:
    for i in range(count):
        outcome = folder / f"w{worker}-{i}.csv"
        outcome.write_text("task,n_human,n_synthetic,metric,value,run_id\n"
                           f"{TASK},{100 + i},{400 + i},AUPRC,0.5,writer-{worker}-{i}\n")
        run(location, "log", "--no-recompute", str(outcome))


def recommend(location: str, count: int, task: str) -> None:
    for _ in range(count):
        run(location, "recommend", task)


if __name__ == "__main__":
    where, mode, worker, count, extra = sys.argv[1:6]
    if mode == "log":
        log(where, worker, int(count), Path(extra))
    else:
        recommend(where, int(count), extra)
