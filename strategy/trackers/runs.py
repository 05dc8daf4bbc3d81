"""Runs from an experiment tracker, and the mapping that turns them into outcome rows.

Every source (MLflow, W&B, DVC, a run table) is read into the same plain shape, a TrackedRun: its id, name,
state, parameters, tags and each metric's history. A RunMapping then says which key gives each outcome
field, so one piece of code maps every source, and what it cannot map is refused run by run with the key and
the reason. The rows it makes are checked like any other outcome rows (strategy.outcome_checks) before
anything is written. Pure: no catalog, no files.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from strategy.errors import Problem
from strategy.ingest import inert
from strategy.models import LongText, Name, ShortText, Stamped, new_id

# Where a key is looked up when it has no prefix: parameters (a W&B config, a DVC params file) first, then tags.
PREFIXES = ("params", "tags", "metrics")
FINISHED = "FINISHED"
STEP_CHOICES = ("last", "best", "step")


@dataclass(frozen=True)
class TrackedRun:
    """One training run as a tracker keeps it, in the shape every source is read into.

    ``metrics`` holds each metric's history as (step, value) pairs in the order logged; a source that keeps
    only a final value gives one pair."""

    run_id: str
    name: str = ""
    state: str = FINISHED
    experiment: str = ""
    params: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, Sequence[tuple[int, float]]] = field(default_factory=dict)


class RunMapping(BaseModel):
    """Which run key gives each outcome field, and which runs are taken.

    A key is a bare name (looked up in the parameters, then the tags) or prefixed ``params.``, ``tags.`` or
    ``metrics.``, as MLflow's search syntax writes them. The default needs no configuration: parameters
    ``n_human`` and ``n_synthetic``, a parameter or tag ``task`` naming the task (name or id), and a metric
    named as the task's metric."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task_key: str = Field("task", max_length=200, description="key naming the run's task (its name or id)")
    task: str = Field("", max_length=200, description="a fixed task every run belongs to (name or id)")
    n_human_key: str = Field("n_human", max_length=200)
    n_synthetic_key: str = Field("n_synthetic", max_length=200)
    share_key: str = Field("", max_length=200, description="instead of the counts: the human share (0-1) ...")
    total_key: str = Field("", max_length=200, description="... and the total sample count")
    metric_key: str = Field("", max_length=200, description="the metric to read; empty: the task's metric")
    higher_is_better: bool | None = Field(None, description="empty: the task's direction")
    step: Literal["last", "best", "step"] = "last"
    at_step: int | None = Field(None, ge=0, description="the step read when step is 'step'")
    cost_key: str = Field("", max_length=200)
    states: tuple[str, ...] = (FINISHED,)
    tags: dict[str, str] = Field(default_factory=dict, description="runs must carry these tags ('' = any value)")

    @field_validator("states")
    @classmethod
    def _upper(cls, states: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(state.strip().upper() for state in states if state.strip())

    @model_validator(mode="after")
    def _step_given(self) -> RunMapping:
        if self.step == "step" and self.at_step is None:
            raise ValueError("give the step to read (at_step) when step is 'step'")
        if bool(self.share_key) != bool(self.total_key):
            raise ValueError("a human share needs a total (share_key and total_key go together)")
        return self

    def described(self) -> str:
        """One line for the audit log and the CLI: only what differs from the default mapping."""
        changed = self.model_dump(exclude_defaults=True)
        return ", ".join(f"{key}={value!r}" for key, value in changed.items()) or "the default mapping"


SOURCES = ("mlflow", "wandb", "dvc", "table")


class SavedMapping(Stamped):
    """A mapping kept in the catalog for one source (mlflow, wandb, dvc, table) and one name within it (an
    experiment, a project, a file's name): the newest saved for a pair is the one used."""

    id: str = Field(default_factory=new_id)
    source: Name
    name: ShortText = ""
    mapping_json: LongText

    @field_validator("mapping_json")
    @classmethod
    def _a_mapping(cls, text: str) -> str:
        RunMapping.model_validate_json(text)
        return text

    @property
    def mapping(self) -> RunMapping:
        return RunMapping.model_validate_json(self.mapping_json)


def tags_from_text(text: str) -> dict[str, str]:
    """Tag filters as people type them: ``stage=final, reviewed`` (a name alone takes any value; a ``tags.``
    prefix, as in MLflow's search syntax, is allowed)."""
    found = {}
    for part in (piece.strip() for piece in text.split(",")):
        if part:
            key, _, value = part.partition("=")
            found[key.strip().removeprefix("tags.")] = value.strip()
    return found


def tags_as_text(tags: Mapping[str, str]) -> str:
    """The other way: what ``tags_from_text`` reads back as the same filters."""
    return ", ".join(f"{key}={value}" if value else key for key, value in tags.items())


@dataclass(frozen=True)
class TaskTarget:
    """What mapping needs of a catalog task: its id, name, metric and direction."""

    id: str
    name: str
    metric: str
    higher_is_better: bool


@dataclass
class MappedRuns:
    """Outcome rows (text cells in strategy.outcome_checks' columns), the run each came from, and what was
    refused or left out by the mapping's filters."""

    rows: list[dict[str, str]]
    runs: list[TrackedRun]
    refused: list[tuple[TrackedRun, Problem]]
    left_out: list[TrackedRun]


class _Refused(Exception):
    def __init__(self, key: str, reason: str):
        super().__init__(reason)
        self.key, self.reason = key, reason


def lookup(run: TrackedRun, key: str) -> str | None:
    """A run's value for a key, as text; a metric gives its last value. None when the run lacks it."""
    prefix, _, rest = key.partition(".")
    places = [prefix] if prefix in PREFIXES and rest else ["params", "tags"]
    name = rest if prefix in PREFIXES and rest else key
    for place in places:
        if place == "metrics":
            history = _metric_history(run, name)
            if history:
                return _number_text(last_value(history))
            continue
        found = getattr(run, place).get(name)
        if found is not None:
            return str(found)
    return None


def last_value(history: Sequence[tuple[int, float]]) -> float:
    """The value at the highest step; of several logged at that step, the one logged last."""
    top = max(step for step, _ in history)
    return [value for step, value in history if step == top][-1]


def _metric_history(run: TrackedRun, name: str) -> Sequence[tuple[int, float]]:
    if name in run.metrics:
        return run.metrics[name]
    folded = {key.lower(): key for key in run.metrics}
    return run.metrics.get(folded.get(name.lower(), ""), ())


def _number_text(value: float) -> str:
    return repr(float(value))


def metric_value(run: TrackedRun, key: str, mapping: RunMapping, higher_is_better: bool) -> float:
    """The metric's value for this run: its last logged value, its best, or the one at a given step."""
    name = key.partition(".")[2] if key.startswith("metrics.") else key
    history = [(step, value) for step, value in _metric_history(run, name) if not math.isnan(value)]
    if not history:
        text = lookup(run, key) if not key.startswith("metrics.") else None
        if text is None:
            raise _Refused(key, f"the run has no metric {name!r}" + _known(run.metrics))
        try:
            value = float(text)
        except ValueError:
            raise _Refused(key, f"is not a number (got {inert(text)!r})") from None
        history = [(0, value)]
    if mapping.step == "best":
        return (max if higher_is_better else min)(value for _, value in history)
    if mapping.step == "step":
        at = [value for step, value in history if step == mapping.at_step]
        if not at:
            raise _Refused(key, f"was not logged at step {mapping.at_step} (logged at steps "
                                f"{_steps([step for step, _ in history])})")
        return at[-1]
    return last_value(history)


def _steps(steps: list[int]) -> str:
    shown = sorted(set(steps))
    return ", ".join(str(s) for s in shown[:5]) + (f" … {shown[-1]}" if len(shown) > 5 else "")


def _known(keys: Iterable[str]) -> str:
    listed = sorted(keys)
    if not listed:
        return ""
    return "; it has " + ", ".join(repr(k) for k in listed[:8]) + (" …" if len(listed) > 8 else "")


def _required(run: TrackedRun, key: str) -> str:
    value = lookup(run, key)
    if value is None or value.strip() == "":
        raise _Refused(key, "is missing from the run" + _known([*run.params, *run.tags]))
    return value.strip()


def _counts(run: TrackedRun, mapping: RunMapping) -> tuple[str, str]:
    if not mapping.share_key:
        return _required(run, mapping.n_human_key), _required(run, mapping.n_synthetic_key)
    share_text, total_text = _required(run, mapping.share_key), _required(run, mapping.total_key)
    try:
        share, total = float(share_text), float(total_text)
    except ValueError:
        bad_key, bad = ((mapping.share_key, share_text) if not _is_number(share_text)
                        else (mapping.total_key, total_text))
        raise _Refused(bad_key, f"is not a number (got {inert(bad)!r})") from None
    if not 0 <= share <= 1:
        raise _Refused(mapping.share_key, f"a human share must lie between 0 and 1 (got {share_text})")
    if total < 0 or not total.is_integer():
        raise _Refused(mapping.total_key, f"the total must be a whole number of samples (got {total_text})")
    n_human = round(share * total)
    return str(n_human), str(int(total) - n_human)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _task_of(run: TrackedRun, mapping: RunMapping, tasks: Mapping[str, TaskTarget]) -> TaskTarget:
    named = lookup(run, mapping.task_key) if mapping.task_key else None
    named = named.strip() if named else ""
    if mapping.task:
        fixed = tasks.get(mapping.task.strip().lower())
        if fixed is None:
            raise _Refused("task", f"the mapping's task {mapping.task!r} is not in the catalog")
        other = tasks.get(named.lower()) if named else None
        if named and (other is None or other.id != fixed.id):
            raise _Refused(mapping.task_key, f"the run belongs to task {inert(named)!r}, not to {fixed.name!r} "
                                             "that this import is for")
        return fixed
    if not named:
        raise _Refused(mapping.task_key or "task", "names no task: give the run a parameter or tag "
                                                   f"{mapping.task_key or 'task'!r}, or map every run to one task")
    found = tasks.get(named.lower())
    if found is None:
        raise _Refused(mapping.task_key, f"names task {inert(named)!r}, which is not in the catalog")
    return found


def _selected(run: TrackedRun, mapping: RunMapping) -> bool:
    if mapping.states and run.state.upper() not in mapping.states:
        return False
    return all(run.tags.get(key) is not None and (wanted == "" or run.tags.get(key) == wanted)
               for key, wanted in mapping.tags.items())


def task_targets(tasks: Iterable[TaskTarget]) -> dict[str, TaskTarget]:
    """Tasks by lower-cased name and by id, as mapping looks them up."""
    found = {}
    for task in tasks:
        found[task.name.lower()] = task
        found[task.id.lower()] = task
    return found


def map_runs(runs: Iterable[TrackedRun], mapping: RunMapping, tasks: Mapping[str, TaskTarget], *,
             label: str, notes: str = "") -> MappedRuns:
    """Apply a mapping to runs: the rows it gives, and each run it refuses with the key and the reason.

    ``tasks`` are the catalog's tasks as ``task_targets`` gives them. ``notes`` (``{name}`` and ``{experiment}``
    stand for the run's) becomes each outcome's note, so a logged outcome says where it came from."""
    rows, kept, refused, left_out = [], [], [], []
    for position, run in enumerate(runs, start=1):
        if not _selected(run, mapping):
            left_out.append(run)
            continue
        try:
            task = _task_of(run, mapping, tasks)
            n_human, n_synthetic = _counts(run, mapping)
            higher = task.higher_is_better if mapping.higher_is_better is None else mapping.higher_is_better
            value = metric_value(run, mapping.metric_key or task.metric, mapping, higher)
            cost = _required(run, mapping.cost_key) if mapping.cost_key else ""
        except _Refused as refusal:
            where = f"{label} run {inert(run.run_id)!r}" if run.run_id else label
            refused.append((run, Problem(where, None if run.run_id else position, inert(refusal.key),
                                         refusal.reason)))
            continue
        rows.append({"task": task.id, "n_human": n_human, "n_synthetic": n_synthetic, "metric": task.metric,
                     "value": _number_text(value), "higher_is_better": str(higher).lower(), "regime": "",
                     "human_eval": "true", "cost": cost, "run_id": run.run_id,
                     "notes": notes.replace("{name}", run.name or run.run_id).replace("{experiment}", run.experiment), "dataset_ids": ""})
        kept.append(run)
    return MappedRuns(rows, kept, refused, left_out)
