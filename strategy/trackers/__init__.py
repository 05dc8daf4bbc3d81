"""Outcomes from where researchers already log their runs: MLflow, Weights & Biases, DVC and run tables.

Each source module reads runs into ``TrackedRun``; ``RunMapping`` turns them into outcome rows
(strategy.trackers.runs); strategy.imports checks and writes them through the one outcome write path."""

from strategy.trackers.runs import (
    FINISHED,
    MappedRuns,
    RunMapping,
    TaskTarget,
    TrackedRun,
    lookup,
    map_runs,
    task_targets,
)

__all__ = ["FINISHED", "MappedRuns", "RunMapping", "TaskTarget", "TrackedRun", "lookup", "map_runs", "task_targets"]
