"""Reliability: what happens to the catalog under hostile, random, concurrent or interrupted input.

Every test works on real DuckDB catalog files (copies of the demo, see conftest.py); nothing about storage is
mocked. The suite covers five risks:

1. Fuzzing (hypothesis, deterministic profile; 1,000 examples in all). The records (Task, Outcome, Dataset) take
   arbitrary keyword dictionaries and either validate or raise pydantic's ValidationError, never anything else.
   The Log outcomes form path (a one-row DataFrame of text, as the page builds it) and the bulk import path
   (random CSV text) either write exactly the rows that were checked, or report problems and write nothing;
   any exception that is not a StrategyError is a failure.
2. Crash safety: a child process importing a large outcome file is killed with SIGKILL during the commit; the
   catalog then opens, holds none of the import's rows and still takes writes.
3. Concurrency in embedded mode: eight threads sharing one open Catalog append 4,000 outcomes one transaction at a
   time; every row lands exactly once and nothing raises.
4. Hostile text (SQL, HTML, spreadsheet formulas, control characters, NUL, bidi overrides, emoji, very long
   strings) in every free-text field is stored byte for byte, and the summary exports escape it (HTML, Markdown),
   neutralise it (CSV) or keep it exactly (JSON).
5. The upload limit: a file over it is refused with ImportRejected naming the file, without being read into
   memory (streams are read at most limit + 1 bytes; paths are refused by their size).
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import tracemalloc

import altair as alt
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from strategy.catalog import LATEST_VERSION, TABLES, Catalog
from strategy.errors import ImportRejected, StrategyError
from strategy.export import FORMULA_STARTS, chart_spec, inert, render
from strategy.ingest import UPLOAD_LIMIT_ENV, read_data_file, upload_limit_bytes
from strategy.models import MODALITIES, REGIMES, Dataset, Outcome, Task
from strategy.outcomes import COLUMNS, commit, read_outcome_file, validate
from strategy.recommend import recommend_task
from strategy.summary import build_summary
from tests.conftest import PROJECT


def fuzz(examples: int) -> settings:
    """The fuzz tests' settings (on top of the deterministic profile of conftest.py)."""
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# 1,000 examples in all for CI; bench/bench_reliability.py sets STRATEGY_FUZZ_EXAMPLES for longer runs (each test).
_LONGER = int(os.environ.get("STRATEGY_FUZZ_EXAMPLES", "0"))
MODEL_EXAMPLES = _LONGER or 400
FORM_EXAMPLES = _LONGER or 300
IMPORT_EXAMPLES = _LONGER or 300


def outcome_count(catalog: Catalog) -> int:
    with catalog.cursor() as cur:
        return cur.execute("SELECT count(*) FROM outcomes").fetchone()[0]


def stored_ids(catalog: Catalog, fingerprints: list[str]) -> list[str]:
    with catalog.cursor() as cur:
        return [row[0] for row in cur.execute(
            "SELECT id FROM outcomes WHERE list_contains(?, fingerprint)", [fingerprints]).fetchall()]


# =========================================================================================== 1. fuzzing
# ------------------------------------------------------------------------------------------ a. the models
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=40), st.binary(max_size=12),
    st.datetimes(), st.dates(), st.decimals(), st.complex_numbers(),
)
ANYTHING = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    | st.tuples(inner, inner) | st.frozensets(st.integers(), max_size=2), max_leaves=6)
# Values that often pass, so both sides of validation are exercised.
HINTS = {
    "modality": st.sampled_from(["text", "image", "tabular", "Text", "video ", ""]),
    "source_kind": st.sampled_from(["human", "synthetic", "mixed", "robot"]),
    "regime": st.sampled_from([*REGIMES, "MIXED", ""]),
    "status": st.sampled_from(["active", "archived", "deleted"]),
    "source": st.sampled_from(["user", "demo", "illustrative", "measured", "made up"]),
    "n_human": st.one_of(st.integers(-3, 10**6), st.integers(), st.sampled_from(["12", "1e3", "-1", "1.5"])),
    "n_synthetic": st.one_of(st.integers(-3, 10**6), st.integers(), st.sampled_from(["0", "7.0", "x"])),
    "samples": st.integers(-3, 10**9),
    "value": st.one_of(st.floats(), st.sampled_from(["0.8", "nan", "inf", "-1e400"])),
    "cost": st.floats(), "cost_per_sample": st.floats(), "budget": st.one_of(st.none(), st.floats()),
    "dataset_ids": st.lists(st.text(max_size=8), max_size=3),
    "created_at": st.one_of(st.datetimes(), st.sampled_from(["2024-01-02T03:04:05", "yesterday", "2024-13-01"])),
    "interaction": st.integers(-2, 6), "safety_risk": st.one_of(st.integers(-2, 6), st.sampled_from(["3", "4.0"])),
}
TEXTS = st.one_of(st.text(max_size=30), st.text(min_size=195, max_size=205, alphabet="ab \t"),
                  st.sampled_from(["", "   ", "\t", "ok", "x" * 20_001]))
MODELS = {"Task": Task, "Outcome": Outcome, "Dataset": Dataset}
NAMES = st.text(min_size=1, max_size=40).filter(str.strip)
VALID = {
    "Task": st.fixed_dictionaries(
        {"name": NAMES, "domain": NAMES, "modality": st.sampled_from(MODALITIES), "metric": NAMES},
        optional={"description": st.text(max_size=60), "budget": st.none() | st.floats(0, 1e9),
                  "interaction": st.integers(0, 4), "higher_is_better": st.booleans(),
                  "status": st.sampled_from(["active", "archived"]), "created_at": st.datetimes()}),
    "Outcome": st.fixed_dictionaries(
        {"task_id": st.uuids().map(str), "n_human": st.integers(0, 10**9), "n_synthetic": st.integers(1, 10**9),
         "metric": NAMES, "value": st.floats(allow_nan=False, allow_infinity=False)},
        optional={"run_id": st.text(max_size=20), "notes": st.text(max_size=60), "regime": st.sampled_from(REGIMES),
                  "cost": st.floats(0, 1e9), "dataset_ids": st.lists(st.text(max_size=8), max_size=3),
                  "human_eval": st.booleans()}),
    "Dataset": st.fixed_dictionaries(
        {"name": NAMES, "source_kind": st.sampled_from(["human", "synthetic", "mixed"]),
         "modality": st.sampled_from(MODALITIES), "samples": st.integers(0, 10**12)},
        optional={"provenance": st.text(max_size=60), "licence": st.text(max_size=20),
                  "cost_per_sample": st.floats(0, 100), "task_id": st.none() | st.uuids().map(str)}),
}


@st.composite
def model_input(draw) -> tuple[str, object]:
    """A model and what to build it from: a valid keyword dict with up to three fields replaced by near-valid or
    arbitrary values, removed, or joined by an unknown key; now and then an arbitrary value for model_validate."""
    name = draw(st.sampled_from(sorted(MODELS)))
    if draw(st.integers(0, 9)) == 0:
        return name, draw(ANYTHING)
    data = draw(VALID[name])
    fields = list(MODELS[name].model_fields)
    for _ in range(draw(st.integers(0, 3))):
        change = draw(st.integers(0, 9))
        if change == 0 and data:
            del data[draw(st.sampled_from(sorted(data)))]
        elif change == 1:
            data[draw(st.text(min_size=1, max_size=10))] = draw(ANYTHING)
        else:
            field = draw(st.sampled_from(fields))
            data[field] = draw(st.one_of(HINTS.get(field, TEXTS), TEXTS, ANYTHING))
    return name, data


def _text_limits(model) -> dict[str, tuple[int, int]]:
    """(min_length, max_length) of each constrained text field of a model."""
    limits = {}
    for field, info in model.model_fields.items():
        low, high = 0, None
        for item in info.metadata:
            low = getattr(item, "min_length", None) or low
            high = getattr(item, "max_length", None) or high
        if high is not None:
            limits[field] = (low, high)
    return limits


@pytest.mark.fuzz
@fuzz(MODEL_EXAMPLES)
@given(case=model_input())
def test_models_refuse_bad_input_only_with_a_validation_error(case):
    name, data = case
    model = MODELS[name]
    try:
        record = model(**data) if isinstance(data, dict) else model.model_validate(data)
    except ValidationError as error:
        assert error.errors(), "a ValidationError must say what is wrong"
        event(f"{name}: refused")
        return
    event(f"{name}: valid")
    # What validates is valid: text within its limits and stripped where the model strips, counts whole and
    # non-negative, money finite, and the record survives a JSON round trip unchanged.
    for field, (low, high) in _text_limits(model).items():
        value = getattr(record, field)
        assert low <= len(value) <= high, (field, value)
    for field in ("n_human", "n_synthetic", "samples"):
        if field in model.model_fields:
            assert isinstance(getattr(record, field), int) and getattr(record, field) >= 0
    if isinstance(record, Outcome):
        assert record.n_human + record.n_synthetic > 0 and np.isfinite(record.value) and np.isfinite(record.cost)
    assert model.model_validate_json(record.model_dump_json()) == record


# ------------------------------------------------------------------------------ b. the outcome form handler
NUMBERS = st.one_of(
    st.integers(-5, 100_000), st.integers(), st.floats(), st.text(max_size=8),
    st.sampled_from(["", " 7 ", "-0", "NaN", "inf", "1,000", "0x1f", "1_000", "3.0", "٣"]),
    st.sampled_from(["1e19", "9.3e18", "1e300", str(2**63), str(10**20)]),  # beyond a 64-bit integer
)
FLAGS = st.one_of(st.sampled_from(["true", "false", "", "yes", "N", "0", "1"]), st.text(max_size=5))
FREE_TEXT = st.one_of(st.text(max_size=40), st.sampled_from(["", "'); DROP TABLE outcomes; --"]),
                      st.sampled_from([" ", "\t", "\n", " \t\r\n"]))


def mostly(valid: st.SearchStrategy, edge: st.SearchStrategy) -> st.SearchStrategy:
    """Usually a valid value, about one time in eight an edge or invalid one: so most rows are valid but for
    one cell, and both writing and refusing are exercised."""
    return st.integers(0, 7).flatmap(lambda pick: edge if pick == 0 else valid)


def outcome_cells(tasks: pd.DataFrame, datasets: list[str]) -> dict[str, st.SearchStrategy]:
    """A strategy per outcome column, each value as a person might type it, right or wrong."""
    references = [*tasks["id"], *tasks["name"], *(n.upper() for n in tasks["name"]), *(f"  {n} " for n in tasks["name"])]
    return {
        "task": mostly(st.sampled_from(references), st.text(max_size=20)),
        "n_human": mostly(st.integers(0, 100_000), NUMBERS),
        "n_synthetic": mostly(st.integers(1, 100_000), NUMBERS),
        "metric": mostly(st.sampled_from(["fuzz score", "fuzz loss", *tasks["metric"]]),
                         st.one_of(FREE_TEXT, st.just("x" * 201))),
        "value": mostly(st.floats(-2, 2), st.one_of(st.just(""), NUMBERS)),
        "higher_is_better": mostly(st.sampled_from(["", "true", "false"]), FLAGS),
        "regime": mostly(st.sampled_from(["", *REGIMES]), st.text(max_size=10)),
        "human_eval": mostly(st.sampled_from(["true", "false"]), FLAGS),
        "cost": mostly(st.floats(0, 1e6), NUMBERS),
        "run_id": mostly(st.one_of(st.just(""), st.uuids().map(str)), st.one_of(FREE_TEXT, st.just("r" * 201))),
        "notes": mostly(st.text(max_size=40), st.one_of(FREE_TEXT, st.just("n" * 20_001))),
        "dataset_ids": mostly(st.lists(st.sampled_from(datasets), max_size=3).map(",".join), st.text(max_size=10)),
    }


def form_rows(catalog: Catalog) -> st.SearchStrategy[dict]:
    """Rows as the Log outcomes page builds them, with every widget's value replaced by random input."""
    return st.fixed_dictionaries(outcome_cells(catalog.tasks(), list(catalog.datasets()["id"])))


@pytest.mark.fuzz
def test_the_outcome_form_writes_exactly_what_it_checked_or_nothing(demo_path):
    with Catalog.open(demo_path) as catalog:

        @fuzz(FORM_EXAMPLES)
        @given(row=form_rows(catalog))
        def submit(row):
            frame = pd.DataFrame([row], columns=COLUMNS).astype(str)
            before = catalog.counts()
            try:
                checked = validate(catalog, frame, "form")
            except StrategyError:
                assert catalog.counts() == before
                return
            event("problems" if checked.problems else f"accepted {checked.count}")
            if checked.problems:
                assert checked.count == 0
                assert all(p.source == "form" and p.field in COLUMNS for p in checked.problems), checked.problems
                with pytest.raises(ImportRejected):
                    commit(catalog, checked, label="form")
                assert catalog.counts() == before, "a refused outcome must write nothing"
                return
            written = commit(catalog, checked, label="form")
            assert written == checked.count <= 1
            assert outcome_count(catalog) == before["outcomes"] + written
            if written:
                [new_id] = stored_ids(catalog, checked.rows.column("fingerprint").to_pylist())
                # What the form accepted must be an outcome the app can load again (the edit page does this).
                stored = catalog.outcome(new_id)
                assert stored.notes == frame.loc[0, "notes"]
                assert stored.n_human == checked.rows.column("n_human")[0].as_py()

        submit()


# ------------------------------------------------------------------------------------- c. the bulk import
SPARE = st.text(max_size=10)


@st.composite
def csv_files(draw, cells: dict[str, st.SearchStrategy]) -> bytes:
    """CSV text: a header (usually the required columns and some optional ones, sometimes with a missing,
    unknown or repeated column), rows mixing valid and invalid cells, and now and then raw damage."""
    optional = draw(st.lists(st.sampled_from(COLUMNS[5:]), unique=True, max_size=7))
    header = COLUMNS[:5] + optional
    damage = draw(st.integers(0, 11))
    if damage == 0:
        header.remove(draw(st.sampled_from(COLUMNS[:5])))
    elif damage == 1:
        header.append(draw(st.sampled_from(["colour", "", " task", *COLUMNS])))
    header = draw(st.permutations(header))
    lines = [list(header)]
    for _ in range(draw(st.integers(1, 6))):
        row = [draw(cells.get(column.strip(), SPARE)) for column in header]
        if draw(st.integers(0, 15)) == 0:
            row = row[:-1] if draw(st.booleans()) else [*row, "extra"]
        lines.append(row)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(lines)
    text = buffer.getvalue()
    if damage == 2:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(min_size=1, max_size=8)) + text[at:]
    return text.encode("utf-8")


@pytest.mark.fuzz
def test_a_bulk_import_lands_whole_or_not_at_all(demo_path):
    with Catalog.open(demo_path) as catalog:
        cells = outcome_cells(catalog.tasks(), list(catalog.datasets()["id"]))

        @fuzz(IMPORT_EXAMPLES)
        @given(data=csv_files(cells))
        def upload(data):
            before = catalog.counts()
            rows = None
            try:
                label, table = read_outcome_file(io.BytesIO(data), label="fuzz.csv")
                rows = table.num_rows
                checked = validate(catalog, table, label)
                written = commit(catalog, checked, label=label)
            except StrategyError as error:
                event(f"refused: {type(error).__name__}")
                assert catalog.counts() == before, "a refused file must write nothing"
                if isinstance(error, ImportRejected):
                    assert error.problems and all(p.source == "fuzz.csv" for p in error.problems)
                return
            event(f"accepted: {'written' if written else 'all skipped'}")
            # Accepted: every row either landed or was skipped as already logged; nothing else was written.
            assert written == checked.count
            assert checked.count + checked.skipped + checked.duplicates == rows
            after = catalog.counts()
            assert after["outcomes"] == before["outcomes"] + written
            assert {t: n for t, n in after.items() if t not in {"outcomes", "audit_log"}} == \
                   {t: n for t, n in before.items() if t not in {"outcomes", "audit_log"}}
            if written:
                assert len(stored_ids(catalog, checked.rows.column("fingerprint").to_pylist())) == written

        upload()


# ====================================================================================== 2. crash safety
CHILD = """
import sys

import strategy.outcomes as outcomes
from strategy.catalog import Catalog

real_commit = outcomes.commit


def announced_commit(*args, **kwargs):
    print("started", flush=True)
    return real_commit(*args, **kwargs)


outcomes.commit = announced_commit  # log_file looks commit up when it calls it
with Catalog.open(sys.argv[1]) as catalog:
    result = outcomes.log_file(catalog, sys.argv[2], recompute_after=False)
print("finished", result.written, flush=True)
"""


def _big_outcome_file(path, tasks: pd.DataFrame, rows: int, prefix: str) -> None:
    rng = np.random.default_rng(rows)
    names = tasks["name"].to_numpy()
    pq.write_table(pa.table({
        "task": names[rng.integers(0, len(names), rows)],
        "n_human": rng.integers(0, 5_000, rows),
        "n_synthetic": rng.integers(1, 5_000, rows),
        "metric": np.full(rows, "crash score"),
        "value": rng.random(rows),
        "run_id": [f"{prefix}{i}" for i in range(rows)],
        "notes": np.full(rows, "bulk import killed mid-commit " * 2),
    }), path)


def test_a_killed_import_leaves_the_catalog_as_it_was(demo_path, tmp_path):
    with Catalog.open(demo_path) as catalog:
        before = catalog.counts()
        tasks = catalog.tasks()[["id", "name"]]
    prefix = "crash-"
    rows = 400_000
    for attempt in range(3):
        target = tmp_path / f"attempt-{attempt}.duckdb"
        shutil.copy(demo_path, target)
        source = tmp_path / f"outcomes-{attempt}.parquet"
        _big_outcome_file(source, tasks, rows, prefix)
        errors = tmp_path / f"child-{attempt}.err"
        with open(errors, "w") as stderr:
            child = subprocess.Popen([sys.executable, "-c", CHILD, str(target), str(source)], cwd=PROJECT,
                                     stdout=subprocess.PIPE, stderr=stderr, text=True)
        try:
            line = child.stdout.readline()
            assert line.strip() == "started", f"the child failed before committing: {line!r} {errors.read_text()}"
            time.sleep(0.3)
            running = child.poll() is None
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        rest = child.stdout.read()
        child.stdout.close()
        if running:
            assert child.returncode == -signal.SIGKILL
            assert "finished" not in rest
            break
        rows *= 2  # the import finished within the pause: try again with a bigger file
    else:
        pytest.fail("the import always finished before it could be killed, even with a large file")

    with Catalog.open(target) as catalog:
        assert catalog.counts() == before, "the killed import must leave no row behind (nor its audit entry)"
        with catalog.cursor() as cur:
            assert cur.execute("SELECT count(*) FROM outcomes WHERE starts_with(run_id, ?)",
                               [prefix]).fetchone()[0] == 0
        # The recovered catalog still takes writes, and keeps them.
        catalog.add_records("outcomes", [Outcome(task_id=tasks["id"].iloc[0], n_human=10, n_synthetic=10,
                                                 metric="after crash", value=0.5, run_id="after-crash")])
    with Catalog.open(target) as catalog:
        assert catalog.counts()["outcomes"] == before["outcomes"] + 1


# ======================================================================================= 3. concurrency
def test_eight_threads_sharing_one_catalog_each_land_every_write(demo_path):
    threads, per_thread = 8, 50  # bench/bench_reliability.py runs 8 × 2,000 (the soak); this checks the count
    errors: list[BaseException] = []
    with Catalog.open(demo_path) as catalog:
        before = catalog.counts()
        task_ids = list(catalog.tasks()["id"])
        start = threading.Barrier(threads)

        def work(worker: int) -> None:
            try:
                start.wait()
                for i in range(per_thread):
                    outcome = Outcome(task_id=task_ids[(worker + i) % len(task_ids)], n_human=100 + i,
                                      n_synthetic=worker * 10 + 1, metric="threaded score", value=i / per_thread,
                                      run_id=f"thread-{worker}-{i}")
                    written = catalog.add_records("outcomes", [outcome])
                    assert written == 1
            except BaseException as error:  # reported below, with the thread that raised it
                errors.append(error)

        workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert errors == []
        total = threads * per_thread
        after = catalog.counts()
        assert after["outcomes"] == before["outcomes"] + total
        assert after["audit_log"] == before["audit_log"] + total
        with catalog.cursor() as cur:
            rows, run_ids, ids = cur.execute(
                "SELECT count(*), count(DISTINCT run_id), count(DISTINCT id) FROM outcomes "
                "WHERE starts_with(run_id, 'thread-')").fetchone()
        assert rows == run_ids == ids == total
    with Catalog.open(demo_path) as catalog:  # and every write reached the file
        assert catalog.counts()["outcomes"] == before["outcomes"] + total


# ====================================================================================== 4. hostile text
HOSTILE = {
    "sql": "'); DROP TABLE tasks; --",
    "script": "<script>alert(1)</script>",
    "formula": '=HYPERLINK("http://x")',
    "formula-plus": "+cmd|' /C calc'!A0",
    "formula-at": "@SUM(A1:A9)",
    "unicode": "\u202eevil\u202c 🙂👩🏽‍🔬 מדד ✓",
}
LONG = ("<script>alert(1)</script> '); DROP TABLE tasks; -- =1+1 \u202e🙂 a\tb " * 2_000)[:100_000]
# Control characters are refused in every text field (tab and line breaks are allowed in long text only).
CONTROL = "a\x00b\x07c\x1b[31m"
TASK_TEXT = ("name", "domain", "description", "metric")
DATASET_TEXT = ("name", "provenance", "licence", "cost_source")
OUTCOME_TEXT = ("notes", "run_id")


def _limit(model, field: str) -> int:
    return _text_limits(model)[field][1]


def _fit(text: str, model, field: str) -> str:
    """The longest prefix of the text a field accepts (no surrounding spaces, which Name fields strip)."""
    return text[:_limit(model, field)].strip()


def test_hostile_text_is_stored_exactly_and_exported_safely(demo_path):
    # Refused by every model with a clear ValidationError on that field alone: a 100,000-character string (over
    # every text field's limit) and control characters (also refused by the form's checks in SQL, below).
    for model, fields, base in ((Task, TASK_TEXT, {"name": "n", "domain": "d", "modality": "text", "metric": "m"}),
                                (Dataset, DATASET_TEXT, {"name": "n", "source_kind": "human", "modality": "text",
                                                         "samples": 1}),
                                (Outcome, OUTCOME_TEXT, {"task_id": "t", "n_human": 1, "n_synthetic": 0,
                                                         "metric": "m", "value": 1.0})):
        for field in fields:
            for text, reason in ((LONG, "at most"), (CONTROL, "must not contain control characters")):
                with pytest.raises(ValidationError) as refused:
                    model(**(base | {field: text}))
                assert [e["loc"] for e in refused.value.errors()] == [(field,)]
                assert reason in str(refused.value)
    texts = dict(HOSTILE, long=LONG.replace("\t", " "))

    with Catalog.open(demo_path) as catalog:
        before = catalog.counts()
        tasks, datasets, outcomes = {}, {}, {}
        for key, text in texts.items():
            task = Task(modality="text", **{f: _fit(text, Task, f) for f in TASK_TEXT})
            tasks[key] = task
            datasets[key] = Dataset(task_id=task.id, source_kind="synthetic", modality="text", samples=10,
                                    **{f: _fit(text, Dataset, f) for f in DATASET_TEXT})
            outcomes[key] = [Outcome(task_id=task.id, metric=task.metric, n_human=200 * i, n_synthetic=2_000 - 200 * i,
                                     value=0.5 + 0.04 * i, notes=_fit(text, Outcome, "notes"),
                                     run_id=f"{i}{_fit(text, Outcome, 'run_id')}"[:200].strip())
                             for i in range(6)]
        assert catalog.save_tasks(list(tasks.values())) == (len(texts), 0)
        catalog.add_records("datasets", list(datasets.values()))
        catalog.add_records("outcomes", [o for rows in outcomes.values() for o in rows])
        # The form path too: the task is named by its hostile name, and the notes travel through SQL.
        for key, text in HOSTILE.items():
            row = {"task": tasks[key].name, "n_human": 50, "n_synthetic": 50, "metric": tasks[key].metric,
                   "value": 0.6, "higher_is_better": "", "regime": "", "human_eval": "true", "cost": 0,
                   "run_id": f"form {text}", "notes": text, "dataset_ids": datasets[key].id}
            checked = validate(catalog, pd.DataFrame([row], columns=COLUMNS).astype(str), "form")
            assert checked.problems == [] and checked.tasks == [tasks[key].id]
            assert commit(catalog, checked, label="form") == 1

        # Read back: every table is still there, and every text is stored byte for byte.
        with catalog.cursor() as cur:
            present = {r[0] for r in cur.execute("SELECT table_name FROM information_schema.tables "
                                                 "WHERE table_schema = 'main'").fetchall()}
        assert set(TABLES) | {"schema_version"} <= present
        after = catalog.counts()
        assert after["tasks"] == before["tasks"] + len(texts)
        assert after["outcomes"] == before["outcomes"] + 6 * len(texts) + len(HOSTILE)
        stored_datasets = catalog.datasets().set_index("id")
        for key, task in tasks.items():
            stored = catalog.task(task.id)
            for field in TASK_TEXT:
                assert getattr(stored, field).encode() == getattr(task, field).encode(), (key, field)
            assert catalog.task(task.name).id == task.id
            for field in DATASET_TEXT:
                assert stored_datasets.loc[datasets[key].id, field].encode() == \
                       getattr(datasets[key], field).encode(), (key, field)
            logged = catalog.outcomes(task.id).set_index("id")
            for outcome in outcomes[key]:
                for field in OUTCOME_TEXT:
                    assert logged.loc[outcome.id, field].encode() == getattr(outcome, field).encode(), (key, field)
            if key in HOSTILE:
                from_form = logged[logged["source"] == "measured"]
                from_form = from_form[from_form["run_id"] == f"form {HOSTILE[key]}"]
                assert list(from_form["notes"]) == [HOSTILE[key]], key

        for field in ("metric", "notes", "run_id"):
            row = {"task": tasks["sql"].name, "n_human": 50, "n_synthetic": 50, "metric": "m", "value": 0.6,
                   "higher_is_better": "", "regime": "", "human_eval": "true", "cost": 0, "run_id": "", "notes": "",
                   "dataset_ids": ""} | {field: CONTROL}
            checked = validate(catalog, pd.DataFrame([row], columns=COLUMNS).astype(str), "form")
            assert [(p.field, p.reason.startswith("must not contain control characters")) for p in checked.problems] \
                == [(field, True)]
        assert catalog.counts()["outcomes"] == before["outcomes"] + 6 * len(texts) + len(HOSTILE)

        # Export a summary of the hostile tasks (with recommendations, so charts carry the metric names too; control
        # characters in chart text are the next test's subject, as they can abort the process).
        for key in ("sql", "script", "formula", "unicode"):
            recommend_task(catalog, tasks[key].id)
        bundle = build_summary(catalog, task_ids=[t.id for t in tasks.values()])
        exported = {fmt: render(bundle, fmt).decode("utf-8") for fmt in ("html", "md", "csv", "json")}

    page = exported["html"]
    assert "<script" not in page.lower(), "user text reached the HTML unescaped"
    assert "<svg" in page, "the recommended tasks should have their charts inline"
    for key, task in tasks.items():
        # Bidi and control characters are shown as visible escapes (\u202e), so they cannot reorder the page.
        # (each task's heading carries its table-of-contents anchor, and the contents list the same text)
        assert re.search(rf'<h2 id="section-\d+">{re.escape(html.escape(inert(task.name)))}</h2>', page), key
        assert f">{html.escape(inert(task.name))}</a></li>" in page, key
    assert "<script>" not in exported["md"] and r"\<script\>alert(1)\</script\>" in exported["md"]

    table = list(csv.DictReader(io.StringIO(exported["csv"], newline="")))
    by_id = {row["task_id"]: row for row in table}
    assert set(by_id) == {t.id for t in tasks.values()}
    for key, task in tasks.items():
        for column, text in (("task", task.name), ("domain", task.domain), ("metric", task.metric)):
            text = inert(text)
            expected = "'" + text if text.startswith(FORMULA_STARTS) else text
            assert by_id[task.id][column] == expected, (key, column)
    assert not any(cell.startswith(("=", "+", "@")) for row in table for cell in row.values())

    document = json.loads(exported["json"])
    exported_tasks = {t["task_id"]: t for t in document["tasks"]}
    for key, task in tasks.items():
        for field in TASK_TEXT:
            assert exported_tasks[task.id][field] == getattr(task, field), (key, field)


CHART_CHILD = """
import sys

from strategy.catalog import Catalog
from strategy.errors import StrategyError
from strategy.export import render
from strategy.summary import build_summary

with Catalog.open(sys.argv[1]) as catalog:
    for task_id in sys.argv[2:]:
        bundle = build_summary(catalog, task_ids=[task_id])
        for fmt in ("html", "pdf"):
            try:
                render(bundle, fmt)
            except StrategyError:
                print("refused", task_id, fmt, flush=True)
            except Exception as error:
                print("failed", task_id, fmt, type(error).__name__, str(error)[:200].replace(chr(10), " "), flush=True)
            else:
                print("exported", task_id, fmt, flush=True)
"""


def test_control_characters_in_an_older_catalog_are_cleaned_on_upgrade_and_export(demo_path):
    """A metric name is drawn into the charts of the HTML and PDF exports, and text that is not valid in XML
    (control characters) can abort the process inside the chart renderer. Such text is refused now, but a catalog
    written before the rule may hold it: opening it applies migration 4, which replaces it with spaces, so every
    read validates and every export completes. The export runs in a child process because a crash in the
    renderer aborts the interpreter."""
    metrics = {"line break": "score\nper run", "control": CONTROL, "bell": "F1\x07", "escape": "\x1b[31mAUC"}
    for metric in metrics.values():
        with pytest.raises(ValidationError, match="must not contain control characters"):
            Task(name="x", domain="d", modality="text", metric=metric)
    with Catalog.open(demo_path) as catalog:
        tasks = {key: Task(name=f"chart text {key}", domain="reliability", modality="text", metric=f"metric {key}")
                 for key in metrics}
        catalog.save_tasks(list(tasks.values()))
        catalog.add_records("outcomes", [
            Outcome(task_id=task.id, metric=task.metric, n_human=200 * i, n_synthetic=2_000 - 200 * i,
                    value=0.5 + 0.04 * i, notes="tab\tand line\nbreak stay") for task in tasks.values()
            for i in range(6)])
        for task in tasks.values():
            recommend_task(catalog, task.id)
        with catalog.transaction() as cur:  # what a catalog from before the rule may hold
            for key, task in tasks.items():
                cur.execute("UPDATE tasks SET metric = ?, name = ? WHERE id = ?",
                            [metrics[key], f"\x07chart text {key}", task.id])
                cur.execute("UPDATE outcomes SET metric = ?, notes = notes || ? WHERE task_id = ?",
                            [metrics[key], "\x00", task.id])
            cur.execute("DELETE FROM schema_version WHERE version >= 4")
        assert catalog.schema_version == 3
        with pytest.raises(ValidationError):
            catalog.task(next(iter(tasks.values())).id)

    with Catalog.open(demo_path) as catalog:
        assert catalog.schema_version == LATEST_VERSION
        for key, task in tasks.items():
            stored = catalog.task(task.id)
            assert stored.name == f"chart text {key}"
            assert stored.metric == re.sub(r"[\x00-\x1f\x7f]", " ", metrics[key]).strip()
            notes = set(catalog.outcomes(task.id)["notes"])
            assert notes == {"tab\tand line\nbreak stay "}, notes
            assert catalog.outcome(catalog.outcomes(task.id)["id"].iloc[0]).metric == stored.metric
    child = subprocess.run([sys.executable, "-c", CHART_CHILD, str(demo_path), *(t.id for t in tasks.values())],
                           cwd=PROJECT, capture_output=True, text=True, timeout=240)
    reported = {tuple(line.split(" ", 3)[1:3]): line for line in child.stdout.splitlines()}
    panic = next((line for line in child.stderr.splitlines() if "panicked" in line or "Failed" in line), "")
    assert child.returncode == 0, (f"the export killed the process (exit {child.returncode}) after "
                                   f"{len(reported)} of {2 * len(tasks)} exports: {panic}")
    for key, task in tasks.items():
        for fmt in ("html", "pdf"):
            line = reported.get((task.id, fmt), "missing")
            assert line.startswith("exported"), f"{key} ({metrics[key]!r}), {fmt}: {line}"


def test_chart_text_is_sanitised_before_the_renderer():
    """Defence in depth: whatever text reaches a chart, the renderer is given no control characters."""
    chart = alt.Chart(pd.DataFrame({"metric": ["\x1b[31mAUC", "F1\x07"], "value": [1.0, 2.0]}),
                      title="a\x00b").mark_bar().encode(x="metric", y="value")
    text = json.dumps(chart_spec(chart))
    assert "AUC" in text and "F1" in text and "a b" in text
    assert not re.search(r"\\u00[01][0-9a-f]|\\u007f", text), text


# ====================================================================================== 5. upload limit
class CountingReader:
    """A byte stream that records every read: how many bytes were asked for and how many it gave."""

    def __init__(self, data: bytes, name: str = "stream.csv"):
        self._data, self._position, self.name = data, 0, name
        self.requests: list[int | None] = []
        self.returned = 0

    def read(self, size: int | None = -1) -> bytes:
        self.requests.append(size)
        end = len(self._data) if size is None or size < 0 else self._position + size
        chunk = self._data[self._position:end]
        self._position += len(chunk)
        self.returned += len(chunk)
        return chunk


def _outcome_csv(tasks: pd.DataFrame, size: int) -> bytes:
    """A valid outcome CSV of exactly ``size`` bytes (the last row's notes pad it)."""
    lines = ["task,n_human,n_synthetic,metric,value,run_id,notes"]
    length, i = len(lines[0]) + 1, 0
    while length < size - 200:
        name = tasks["name"].iloc[i % len(tasks)].replace('"', '""')  # names may hold commas: quote them
        lines.append(f'"{name}",{100 + i},{50 + i},limit score,0.5,limit-{i},x')
        length += len(lines[-1]) + 1
        i += 1
    text = "\n".join(lines) + "\n"
    data = (text[:-1] + "x" * (size - len(text)) + "\n").encode()
    assert len(data) == size
    return data


def test_a_stream_over_the_upload_limit_is_refused_without_being_read(demo_catalog, monkeypatch):
    monkeypatch.setenv(UPLOAD_LIMIT_ENV, "0.01")
    limit = upload_limit_bytes()
    assert limit == int(0.01 * 1024 * 1024)
    tasks = demo_catalog.tasks()

    huge = CountingReader(_outcome_csv(tasks, 40 * limit), name="huge.csv")
    with pytest.raises(ImportRejected) as refused:
        read_outcome_file(huge)
    assert refused.value.problems[0].source == "huge.csv"
    assert "huge.csv" in str(refused.value) and "upload limit" in str(refused.value)
    assert huge.returned <= limit + 1, f"{huge.returned:,} bytes were read of a file over a {limit:,}-byte limit"
    assert all(size is not None and 0 <= size <= limit + 1 for size in huge.requests), huge.requests

    # A declared size over the limit is refused before a single byte is read.
    declared = CountingReader(_outcome_csv(tasks, 40 * limit))
    with pytest.raises(ImportRejected, match="upload limit"):
        read_outcome_file(declared, label="declared.csv", size=40 * limit)
    assert declared.returned == 0

    # One byte over is refused; exactly at the limit is read whole and imports.
    with pytest.raises(ImportRejected, match="upload limit"):
        read_data_file(CountingReader(_outcome_csv(tasks, limit + 1)), label="over.csv", limit=limit)
    exact = CountingReader(_outcome_csv(tasks, limit))
    label, table = read_outcome_file(exact, label="exact.csv")
    assert exact.returned == limit and label == "exact.csv"
    checked = validate(demo_catalog, table, label)
    assert checked.problems == [] and commit(demo_catalog, checked, label=label) == table.num_rows > 0


def test_a_file_over_the_upload_limit_is_refused_by_its_size(demo_catalog, tmp_path, monkeypatch):
    path = tmp_path / "outcomes.csv"
    path.write_bytes(_outcome_csv(demo_catalog.tasks(), 3 * 1024 * 1024))
    monkeypatch.setenv(UPLOAD_LIMIT_ENV, "1")
    before = demo_catalog.counts()
    tracemalloc.start()
    try:
        with pytest.raises(ImportRejected) as refused:
            read_outcome_file(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(path) in str(refused.value) and "upload limit" in str(refused.value)
    assert refused.value.problems[0].source == str(path)
    assert peak < 1024 * 1024, f"{peak:,} bytes were allocated while refusing a file over the limit"
    assert demo_catalog.counts() == before

    # The same file under a larger limit (the variable is read on every call) is accepted.
    monkeypatch.setenv(UPLOAD_LIMIT_ENV, "4")
    label, table = read_outcome_file(path)
    assert label == str(path) and table.num_rows > 10_000
    assert os.path.getsize(path) > 1024 * 1024
