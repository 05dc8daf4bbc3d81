"""Runs from DVC experiments: the JSON that ``dvc exp show --json`` prints.

DVC 3 (and 2.58) print a list of baseline commits. Each has its ``rev`` (full sha), ``name`` (branch or tag, or
null), ``data`` (``timestamp``, and ``params`` and ``metrics`` by file, each ``{"data": ...}``, or
``{"error": ...}`` when DVC could not read the file), an ``error``, and ``experiments``: ranges, each with a
``name``, an ``executor`` (null, or ``{"state": "queued" | "running" | "success" | "failed", ...}`` once the task
queue has seen it) and ``revs``. The first of a range's revs is the experiment; later ones are the checkpoints of
DVC 2's legacy checkpoint experiments, which DVC's own table also leaves out. Older DVC 2 (2.45 here) printed an
object keyed by baseline sha instead, each holding ``baseline`` and one entry per experiment sha, with the state in
``data.status`` (``Success``, ``Queued``, ``Running``, ``Failed``) or, earlier (DVC 2.10's source), in
``data.queued`` and ``data.running``. Both are read. The ``workspace`` entry is never a run: it holds whatever
was last applied to the working tree, so it repeats an experiment or a commit.

Each experiment is a run, and so is each baseline commit that has metrics: run_id is the full sha, name the
experiment's name (a baseline's branch or tag) or the short sha, experiment the baseline's name or short sha.
State: QUEUED, RUNNING or FAILED from the executor or status, FAILED when DVC records an error, else FINISHED.
Only a finished run keeps its metrics: the commit of a failed or queued experiment holds the metrics files as
they were when it was queued (seen in real captures), which are not its results.

Params: each file's data flattened with "." (``train.n_human``), values as text: strings as they are, anything
else as JSON text (``100``, ``0.5``, ``true``, ``[1, 2]``, ``null``). A key that two files define is kept once
per file as ``file:key`` (``params.yaml:train.n_human``) and not bare, as DVC's own table heads its columns.
Each leaf name is also given alone (``n_human``) when no other key of the run ends in it, so the default mapping
(bare ``n_human``, ``n_synthetic``, ``task``) reads nested params; ``train.seed`` beside ``eval.seed`` gives no
bare ``seed``. Metrics are keyed the same way, numeric leaves only, each one (0, value) pair. Tags:
``dvc.baseline`` (the baseline's full sha), ``dvc.timestamp`` and ``dvc.error`` when DVC gives them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

from strategy.errors import TrackerError
from strategy.ingest import inert, upload_limit_bytes
from strategy.trackers.runs import FINISHED, TrackedRun

EXPECTED = ("expected the JSON of `dvc exp show --json`: a list of commits, each an object with a 'rev' (DVC 3), "
            "or an object keyed by commit, each holding a 'baseline' (DVC 2)")
STATES = {"success": FINISHED, "queued": "QUEUED", "running": "RUNNING", "failed": "FAILED"}
WORKSPACE = "workspace"


def read_dvc_experiments(data: bytes | str, label: str) -> list[TrackedRun]:
    """The runs in the output of ``dvc exp show --json`` (DVC 3's list or DVC 2's object), in DVC's order."""
    limit = upload_limit_bytes()
    if len(data) > limit or (isinstance(data, str) and len(data.encode("utf-8", "surrogatepass")) > limit):
        raise TrackerError(f"{inert(label)} is larger than the upload limit of {limit:,} bytes.")
    try:
        doc = json.loads(data.lstrip("\ufeff") if isinstance(data, str) else data)
    except UnicodeDecodeError:
        raise TrackerError(f"{inert(label)} is not UTF-8 text: {EXPECTED}.") from None
    except json.JSONDecodeError as error:
        raise TrackerError(f"{inert(label)} is not valid JSON ({error.msg} at line {error.lineno}, column "
                           f"{error.colno}): {EXPECTED}.") from None
    except (ValueError, RecursionError) as error:  # an integer past Python's digit limit; nesting past the stack
        raise TrackerError(f"{inert(label)} cannot be read as JSON ({inert(str(error))[:200]}).") from None
    try:
        if isinstance(doc, list):
            found = list(_list_format(doc, label))
        elif isinstance(doc, dict) and doc and all(isinstance(v, dict) and "baseline" in v for v in doc.values()):
            found = list(_dict_format(doc, label))
        else:
            raise _shape(label, f"it holds {_kind(doc)}")
    except RecursionError:
        raise TrackerError(f"{inert(label)} nests its params or metrics too deeply to be read.") from None
    unique: dict[str, TrackedRun] = {}
    for run in found:  # a commit listed twice (a branch and a tag on it, say) is one run
        unique.setdefault(run.run_id, run)
    runs = list(unique.values())
    if not runs:
        raise TrackerError(f"No DVC experiments in {inert(label)}: it lists no experiment and no commit with "
                           "metrics (the workspace is not read as a run).")
    return runs


def _list_format(commits: list, label: str) -> Iterator[TrackedRun]:
    for number, commit in enumerate(commits, 1):
        rev = _rev(commit, f"entry {number}", label)
        if rev == WORKSPACE:
            continue
        baseline = _text(commit.get("name")) or rev[:7]
        data = _object(commit.get("data"), f"commit {rev[:7]}'s data", label)
        if _files(data.get("metrics"), numeric=True):
            yield _run(rev, baseline, baseline, rev, data, commit.get("error"), None)
        yield from _ranges(commit.get("experiments"), baseline, rev, label)


def _ranges(ranges, baseline: str, baseline_rev: str, label: str) -> Iterator[TrackedRun]:
    if ranges is None:
        return
    if not isinstance(ranges, list):
        raise _shape(label, f"the experiments of commit {baseline_rev[:7]} are {_kind(ranges)}, not a list")
    for exp_range in ranges:
        revs = exp_range.get("revs") if isinstance(exp_range, dict) else None
        if not isinstance(revs, list):
            raise _shape(label, f"an experiment of commit {baseline_rev[:7]} has no 'revs' list")
        if not revs:
            continue
        rev = _rev(revs[0], f"an experiment of commit {baseline_rev[:7]}", label)
        executor = _object(exp_range.get("executor"), f"experiment {rev[:7]}'s executor", label)
        name = _text(revs[0].get("name")) or _text(exp_range.get("name")) or rev[:7]
        data = _object(revs[0].get("data"), f"experiment {rev[:7]}'s data", label)
        yield _run(rev, name, baseline, baseline_rev, data, revs[0].get("error"), executor.get("state"))
        for state in revs:
            if isinstance(state, dict):
                yield from _ranges(state.get("experiments"), baseline, baseline_rev, label)


def _dict_format(doc: dict, label: str) -> Iterator[TrackedRun]:
    for baseline_rev, entries in doc.items():
        if baseline_rev == WORKSPACE:
            continue
        base = _object(entries["baseline"], f"commit {baseline_rev[:7]}'s baseline", label)
        baseline = _text(_object(base.get("data"), f"commit {baseline_rev[:7]}'s data", label).get("name"))
        baseline = baseline or baseline_rev[:7]
        for rev, entry in entries.items():
            if not rev.strip() or not baseline_rev.strip():
                raise _shape(label, "an entry is keyed by an empty commit sha")
            entry = _object(entry, f"experiment {rev[:7]}", label)
            data = _object(entry.get("data"), f"experiment {rev[:7]}'s data", label)
            if data.get("checkpoint_tip") not in (None, rev):  # an earlier checkpoint of the experiment at the tip
                continue
            if rev == "baseline":
                if _files(data.get("metrics"), numeric=True):
                    yield _run(baseline_rev, baseline, baseline, baseline_rev, data,
                               entry.get("error") or data.get("error"), None)
                continue
            status = data.get("status") or ("running" if data.get("running") is True
                                            else "queued" if data.get("queued") is True else None)
            yield _run(rev, _text(data.get("name")) or rev[:7], baseline, baseline_rev, data,
                       entry.get("error") or data.get("error"), status)


def _run(rev: str, name: str, experiment: str, baseline_rev: str, data: dict, error, status) -> TrackedRun:
    state = STATES.get(status.lower(), inert(status.upper())[:40]) if isinstance(status, str) and status else None
    if error and state in (None, FINISHED):
        state = "FAILED"
    state = state or FINISHED
    tags = {"dvc.baseline": baseline_rev}
    if _text(data.get("timestamp")):
        tags["dvc.timestamp"] = _text(data.get("timestamp"))
    if error:
        message = (error.get("msg") or error.get("type")) if isinstance(error, dict) else error
        text = message if isinstance(message, str) else json.dumps(message) if message else ""
        tags["dvc.error"] = text[:500] or "error"
    metrics = _files(data.get("metrics"), numeric=True) if state == FINISHED else {}
    return TrackedRun(run_id=rev, name=name, state=state, experiment=experiment,
                      params=_files(data.get("params"), numeric=False), tags=tags,
                      metrics={key: [(0, value)] for key, value in metrics.items()})


def _files(files, *, numeric: bool) -> dict:
    """Every file's leaves by key (see the module docstring): text, or numbers only."""
    if not isinstance(files, dict):
        return {}
    leaves: list[tuple[str, tuple[str, ...], object]] = []
    for file_name, result in files.items():
        if isinstance(result, dict) and "data" in result:  # else DVC could not read the file: it gives 'error'
            content = result["data"]
            pairs = _flatten(content, ()) if isinstance(content, dict) else [((str(file_name),), content)]
            leaves.extend((str(file_name), path, value) for path, value in pairs)
    if numeric:
        leaves = [(f, path, float(v)) for f, path, v in leaves if _is_number(v)]
    else:
        leaves = [(f, path, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)) for f, path, v in leaves]
    files_of = Counter(".".join(path) for _, path, _ in leaves)
    keyed = {(".".join(path) if files_of[".".join(path)] == 1 else f"{f}:{'.'.join(path)}"): value
             for f, path, value in leaves}
    ends = Counter(path[-1] for _, path, _ in leaves)
    for _, path, value in leaves:
        if ends[path[-1]] == 1 and path[-1] not in keyed:
            keyed[path[-1]] = value
    return keyed


def _flatten(content: dict, prefix: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], object]]:
    for key, value in content.items():
        if isinstance(value, dict) and value:
            yield from _flatten(value, (*prefix, str(key)))
        else:
            yield (*prefix, str(key)), value


def _is_number(value) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        float(value)
    except OverflowError:  # an integer too large for a float is not a metric
        return False
    return True


def _rev(state, where: str, label: str) -> str:
    rev = state.get("rev") if isinstance(state, dict) else None
    if not isinstance(rev, str) or not rev.strip():
        raise _shape(label, f"{where} has no 'rev'")
    return rev


def _object(value, where: str, label: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _shape(label, f"{where} is {_kind(value)}, not an object")
    return value


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _kind(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true or false"}.get(
        type(value), "null" if value is None else "a number")


def _shape(label: str, what: str) -> TrackerError:
    return TrackerError(f"{inert(label)} is not DVC's experiment list ({inert(what)}): {EXPECTED}.")
