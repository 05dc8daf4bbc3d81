"""Hostile and odd input files for `strategy log` and `strategy tasks add` (issue 16).

Each case of the corpus runs the real command line against a copy of the demo catalog and asserts the exact
outcome: the exit status (1 for a refused file, 2 for a usage error), the message naming the file, the row and
the field with the reason, no traceback, and that a refused file wrote nothing (every table's row count is
compared before and after). Odd but valid files (a BOM, a repeated row, a value over several lines) are
accepted and write exactly what they hold. The decompression bombs are real files: a Parquet file of twenty
million rows is a few hundred KB.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from strategy.catalog import Catalog
from strategy.cli import main
from strategy.errors import ImportRejected
from strategy.ingest import read_tasks
from strategy.outcomes import log_file
from strategy.quality import read_sample

TASK = "Chest X-ray triage"
OTHER_TASK = "Tuberculosis screening on chest X-rays"
HEADER = "task,n_human,n_synthetic,metric,value,run_id,notes"
TASK_HEADER = "name,domain,modality,metric,interaction"
SETTINGS = ("STRATEGY_MAX_UPLOAD_MB", "STRATEGY_MAX_ROWS", "STRATEGY_MAX_DECODED_MB", "STRATEGY_MAX_SAMPLE_ROWS",
            "STRATEGY_MAX_SAMPLE_DECODED_MB")
# The first demo outcome of the task, as stored: a row with exactly these values is already logged.
DEMO_RUN = {"task": TASK, "n_human": 0, "n_synthetic": 1200, "metric": "AUROC", "value": 0.7112, "cost": 24.0,
            "run_id": "demo-chest-x-ray-triage-01",
            "notes": "Illustrative: drawn from a simulated learning curve, not a measured result."}


def csv_file(*rows: str, header: str = HEADER) -> bytes:
    return (header + "\n" + "".join(row + "\n" for row in rows)).encode("utf-8")


def row(i: int = 0, *, run: str = "", notes: str = "", n_human: str | None = None, task: str = TASK,
        value: str = "0.7") -> str:
    return f"{task},{n_human if n_human is not None else 100 + i},{50 + i},AUROC,{value},{run},{notes}"


def record(**fields) -> dict:
    return {"task": TASK, "n_human": 100, "n_synthetic": 50, "metric": "AUROC", "value": 0.7} | fields


def lines(*records: dict | str) -> bytes:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records).encode("utf-8")


def raw_record(rest: str) -> str:
    """A JSON line written by hand, for what json.dumps cannot write (a repeated key, a number beyond a double)."""
    return '{"task": ' + json.dumps(TASK) + ', "n_human": 1, "n_synthetic": 1, "metric": "AUROC", ' + rest + "}"


def task_csv(*rows: str, header: str = TASK_HEADER) -> bytes:
    return csv_file(*rows, header=header)


def parquet(table: pa.Table, **options) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        pq.write_table(table, path, **options)
    return write


def outcomes_table(rows: int, **columns) -> pa.Table:
    base = {"task": pa.array([TASK] * rows), "n_human": pa.array(np.arange(rows) + 1),
            "n_synthetic": pa.array(np.zeros(rows, dtype=np.int64)), "metric": pa.array(["AUROC"] * rows),
            "value": pa.array(np.full(rows, 0.7))}
    return pa.table(base | columns)


def constant_text(rows: int, text: str) -> pa.DictionaryArray:
    """One text repeated: a dictionary of one value, so the file stays small however many rows it has."""
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), pa.array([text]))


def invalid_utf8_text() -> pa.Array:
    offsets = np.array([0, 2, 4], dtype=np.int32).tobytes()
    return pa.Array.from_buffers(pa.string(), 2, [None, pa.py_buffer(offsets), pa.py_buffer(b"ok\xff\xfe")])


def truncated_parquet(path: Path) -> None:
    buffer = io.BytesIO()
    pq.write_table(outcomes_table(10), buffer)
    path.write_bytes(buffer.getvalue()[:-40])


def multiline_notes(path: Path) -> None:
    path.write_bytes(csv_file(*(row(i, notes=f'"first line {i}\nsecond line"') for i in range(6))))


def jsonl_with_blank_lines(path: Path) -> None:
    path.write_bytes(b"\n\n".join(json.dumps(record(n_human=100 + i)).encode() for i in range(10)) + b"\n\n\n")


@dataclass(frozen=True)
class Case:
    id: str
    command: str                                    # "log" or "tasks add"
    file: str                                       # a name in the working folder, or a path such as /dev/zero
    content: bytes | Callable[[Path], None] | None  # None: the path exists already (or must not)
    says: tuple[str, ...]                           # each appears in the output
    exit_code: int = 1
    env: tuple[tuple[str, str], ...] = ()
    adds: tuple[tuple[str, int], ...] = ()          # rows an accepted file adds, per table


def refused(id: str, command: str, file: str, content, *says: str, env: dict | None = None,
            exit_code: int = 1) -> Case:
    return Case(id, command, file, content, says, exit_code, tuple((env or {}).items()))


def accepted(id: str, command: str, file: str, content, *says: str, adds: dict, env: dict | None = None) -> Case:
    return Case(id, command, file, content, says, 0, tuple((env or {}).items()), tuple(adds.items()))


LOG, TASKS = "log", "tasks add"
ROWS_1000 = {"STRATEGY_MAX_ROWS": "1000"}
FORTY_ROWS = csv_file(*(row(i) for i in range(40)))
SETTING_REASON = {"STRATEGY_MAX_UPLOAD_MB": "must be a number of megabytes above 0",
                  "STRATEGY_MAX_ROWS": "must be a whole number of rows above 0",
                  "STRATEGY_MAX_DECODED_MB": "must be a number of megabytes above 0"}


def bad_setting(id: str, command: str, name: str, value: str) -> Case:
    file = "runs.csv" if command == LOG else "tasks.csv"
    content = csv_file(row()) if command == LOG else task_csv("A,B,text,m,1")
    return refused(id, command, file, content, f"Error: {name} {SETTING_REASON[name]} (got {value!r})",
                   env={name: value})


CASES = [
    # --- one run id, one run: repeats within the file and against the catalog
    accepted("log-csv-same-run-twice-same-values", LOG, "runs.csv", csv_file(row(1, run="r1"), row(1, run="r1")),
             "1 outcomes written, 0 skipped as already logged", adds={"outcomes": 1}),
    refused("log-csv-same-run-twice-other-values", LOG, "runs.csv",
            csv_file(row(1, run="r1"), row(2, run="r2"), row(1, run="r1", value="0.9")),
            "runs.csv, row 3, field 'run_id': run 'r1' is also on row 1 with other values (value)"),
    accepted("log-csv-identical-rows-without-run-id", LOG, "runs.csv", csv_file(row(3), row(3), row(3)),
             "1 outcomes written, 0 skipped", adds={"outcomes": 1}),
    refused("log-csv-same-run-other-datasets", LOG, "runs.csv",
            csv_file(row(1, run="r1") + ",", row(1, run="r1") + ",\"ds-1, ds-2\"", header=HEADER + ",dataset_ids"),
            "runs.csv, row 2, field 'run_id': run 'r1' is also on row 1 with other values (dataset_ids)"),
    refused("log-csv-same-outcome-other-cost-without-run-id", LOG, "runs.csv",
            csv_file(f"{TASK},7,7,AUROC,0.5,10", f"{TASK},7,7,AUROC,0.5,12",
                     header="task,n_human,n_synthetic,metric,value,cost"),
            "runs.csv, row 2, field 'cost': repeats row 1 (same task, counts, metric, value, regime and notes)"),
    refused("log-csv-run-already-logged-other-values", LOG, "runs.csv",
            csv_file(row(0, run=DEMO_RUN["run_id"])),
            f"runs.csv, row 1, field 'run_id': run '{DEMO_RUN['run_id']}' is already logged with other values "
            "(n_human, n_synthetic, value, regime, cost, notes); log it under a new run id"),
    accepted("log-csv-run-already-logged-same-values", LOG, "runs.csv",
             csv_file(",".join(f'"{v}"' if isinstance(v, str) else str(v) for v in DEMO_RUN.values()),
                      header="task,n_human,n_synthetic,metric,value,cost,run_id,notes"),
             "0 outcomes written, 1 skipped as already logged", adds={"outcomes": 0}),
    accepted("log-csv-same-run-id-for-two-tasks", LOG, "runs.csv",
             csv_file(row(1, run="shared"), row(1, run="shared", task=OTHER_TASK).replace("AUROC", "AUPRC")),
             "2 outcomes written", adds={"outcomes": 2}),
    # --- bombs and row limits (the 20-million-row Parquet file at the real default is its own test below)
    refused("log-parquet-rows-over-lowered-limit", LOG, "runs.parquet", parquet(outcomes_table(1001)),
            "runs.parquet, field 'file': has 1,001 rows, over the limit of 1,000 rows; split it into smaller "
            "files, or raise STRATEGY_MAX_ROWS", env=ROWS_1000),
    refused("log-parquet-dictionary-text-decodes-over-limit", LOG, "runs.parquet",
            parquet(outcomes_table(3000, notes=constant_text(3000, "x" * 19_000))),
            "runs.parquet, field 'file': decodes to more than 1 MB, over the limit of 1 MB; split it into "
            "smaller files, or raise STRATEGY_MAX_DECODED_MB", env={"STRATEGY_MAX_DECODED_MB": "1"}),
    refused("log-parquet-compressed-text-decodes-over-limit", LOG, "runs.parquet",
            parquet(outcomes_table(200, notes=pa.array(["y" * 19_000] * 200)), use_dictionary=False,
                    compression="zstd"),
            "runs.parquet, field 'file': decodes to 3.6 MB, over the limit of 1 MB",
            env={"STRATEGY_MAX_DECODED_MB": "1"}),
    refused("log-csv-rows-over-lowered-limit", LOG, "runs.csv", csv_file(*(row(i) for i in range(1001))),
            "runs.csv, field 'file': has more than 1,000 rows, over the limit of 1,000 rows", env=ROWS_1000),
    accepted("log-csv-values-over-lines-count-as-rows-not-lines", LOG, "runs.csv", multiline_notes,
             "6 outcomes written", adds={"outcomes": 6}, env={"STRATEGY_MAX_ROWS": "6"}),
    refused("log-jsonl-rows-over-lowered-limit", LOG, "runs.jsonl",
            lines(*(record(n_human=100 + i) for i in range(11))),
            "runs.jsonl, field 'file': has 11 rows, over the limit of 10 rows", env={"STRATEGY_MAX_ROWS": "10"}),
    accepted("log-jsonl-blank-lines-are-not-rows", LOG, "runs.jsonl", jsonl_with_blank_lines,
             "10 outcomes written", adds={"outcomes": 10}, env={"STRATEGY_MAX_ROWS": "10"}),
    refused("log-json-array-rows-over-lowered-limit", LOG, "runs.json",
            json.dumps([record(n_human=100 + i) for i in range(11)]).encode(),
            "runs.json, field 'file': has 11 rows, over the limit of 10 rows", env={"STRATEGY_MAX_ROWS": "10"}),
    refused("log-csv-gzip-is-not-decompressed", LOG, "runs.csv.gz",
            gzip.compress(csv_file(*(row(i) for i in range(100)))),
            "runs.csv.gz, field 'file': is not UTF-8 text (byte 0x8b at position 1, line 1)"),
    refused("log-csv-over-upload-limit", LOG, "runs.csv", FORTY_ROWS,
            f"runs.csv, field 'file': is {len(FORTY_ROWS):,} bytes, over the upload limit of 1,048 bytes "
            "(STRATEGY_MAX_UPLOAD_MB for the command line)",
            env={"STRATEGY_MAX_UPLOAD_MB": "0.001"}),
    # --- settings with no usable value: one line naming the variable and the value
    bad_setting("log-env-upload-limit-word", LOG, "STRATEGY_MAX_UPLOAD_MB", "abc"),
    bad_setting("log-env-upload-limit-negative", LOG, "STRATEGY_MAX_UPLOAD_MB", "-5"),
    bad_setting("log-env-upload-limit-zero", LOG, "STRATEGY_MAX_UPLOAD_MB", "0"),
    bad_setting("log-env-upload-limit-nan", LOG, "STRATEGY_MAX_UPLOAD_MB", "nan"),
    bad_setting("log-env-upload-limit-infinite", LOG, "STRATEGY_MAX_UPLOAD_MB", "inf"),
    bad_setting("log-env-row-limit-word", LOG, "STRATEGY_MAX_ROWS", "lots"),
    bad_setting("log-env-row-limit-zero", LOG, "STRATEGY_MAX_ROWS", "0"),
    bad_setting("log-env-row-limit-fraction", LOG, "STRATEGY_MAX_ROWS", "1.5"),
    bad_setting("log-env-row-limit-exponent", LOG, "STRATEGY_MAX_ROWS", "1e6"),
    bad_setting("log-env-decoded-limit-word", LOG, "STRATEGY_MAX_DECODED_MB", "big"),
    bad_setting("tasks-add-env-upload-limit-word", TASKS, "STRATEGY_MAX_UPLOAD_MB", "abc"),
    bad_setting("tasks-add-env-row-limit-negative", TASKS, "STRATEGY_MAX_ROWS", "-1"),
    # --- what is not a file
    refused("log-dev-zero", LOG, "/dev/zero", None,
            "/dev/zero, field 'file': is a device, not a file; give the path of a CSV, JSON or Parquet file"),
    refused("tasks-add-dev-zero", TASKS, "/dev/zero", None, "/dev/zero, field 'file': is a device, not a file"),
    refused("log-directory", LOG, "folder", lambda path: path.mkdir(), "'folder': Is a directory", exit_code=2),
    refused("tasks-add-directory", TASKS, "folder", lambda path: path.mkdir(), "'folder': Is a directory",
            exit_code=2),
    refused("log-missing-file", LOG, "nowhere.csv", None, "'nowhere.csv': No such file or directory",
            exit_code=2),
    # --- JSON lines: nested values, mixed types, non-finite numbers, broken records
    refused("log-jsonl-object-as-count", LOG, "runs.jsonl", lines(record(), record(n_human={"a": 1})),
            "runs.jsonl, row 2, field 'n_human': holds a JSON object; expected text, a number or true/false"),
    refused("log-jsonl-list-as-value", LOG, "runs.jsonl", lines(record(value=[0.7, 0.8])),
            "runs.jsonl, row 1, field 'value': holds a JSON list"),
    refused("log-jsonl-number-then-text-in-one-column", LOG, "runs.jsonl",
            lines(record(), record(n_human="200")),
            "runs.jsonl, row 2, field 'n_human': is text ('200'), but row 1 holds a number; every row must give "
            "a field values of one type"),
    refused("log-jsonl-true-then-number-in-one-column", LOG, "runs.jsonl",
            lines(record(human_eval=True), record(human_eval=1)),
            "runs.jsonl, row 2, field 'human_eval': is a number ('1'), but row 1 holds true/false"),
    refused("log-jsonl-nan-value", LOG, "runs.jsonl", lines(record(), record(value=float("nan"))),
            "runs.jsonl, row 2, field 'value': must be a finite number (got 'nan')"),
    refused("log-jsonl-infinite-cost", LOG, "runs.jsonl", lines(record(cost=float("inf"))),
            "runs.jsonl, row 1, field 'cost': must be a finite number, 0 or more"),
    refused("log-jsonl-minus-infinity-count", LOG, "runs.jsonl", lines(record(n_synthetic=float("-inf"))),
            "runs.jsonl, row 1, field 'n_synthetic': must be 0 or more (got -inf)"),
    refused("log-jsonl-number-beyond-double", LOG, "runs.jsonl", lines(raw_record('"value": 1e400')),
            "runs.jsonl, row 1, field 'value': must be a finite number (got 'inf')"),
    refused("log-jsonl-integer-beyond-64-bits", LOG, "runs.jsonl", lines(record(n_human=10**30)),
            "runs.jsonl, row 1, field 'n_human': is more samples than any dataset holds"),
    refused("log-jsonl-repeated-key", LOG, "runs.jsonl",
            lines(record(), raw_record('"value": 0.7, "value": 0.9')),
            "runs.jsonl, row 2, field 'value': appears twice in this record"),
    refused("log-jsonl-broken-record", LOG, "runs.jsonl", lines(record(), '{"task": "x", "n_human": }'),
            "runs.jsonl, row 2, field 'record': is not valid JSON: Expecting value"),
    refused("log-jsonl-list-instead-of-object", LOG, "runs.jsonl", lines(record(), "[1, 2]"),
            "runs.jsonl, row 2, field 'record': is a JSON list, not a JSON object"),
    refused("log-json-array-with-a-number", LOG, "runs.json", json.dumps([record(), 3]).encode(),
            "runs.json, row 2, field 'record': is a number, not a JSON object"),
    refused("log-jsonl-hex-count-as-text", LOG, "runs.jsonl", lines(record(n_human="0x10")),
            "runs.jsonl, row 1, field 'n_human': must be written in plain decimal digits (got '0x10')"),
    refused("log-jsonl-bom-on-the-second-line", LOG, "runs.jsonl",
            lines(record()) + "\ufeff".encode() + lines(record(n_human=5)),
            "runs.jsonl, row 2, field 'record': is not valid JSON: Unexpected UTF-8 BOM"),
    refused("log-jsonl-line-over-the-row-limit", LOG, "runs.jsonl", lines(record(), record(notes="n" * 2_000_000)),
            "runs.jsonl, row 2, field 'record': is 2,000,", "bytes long, over the limit of 1,048,576 bytes a row "
            "may take"),
    refused("log-jsonl-bell-in-notes", LOG, "runs.jsonl", lines(record(notes="ring\u0007")),
            "runs.jsonl, row 1, field 'notes': must not contain control characters"),
    accepted("log-jsonl-with-bom", LOG, "runs.jsonl", "\ufeff".encode() + lines(record(run_id="bom")),
             "1 outcomes written", adds={"outcomes": 1}),
    accepted("log-jsonl-one-pretty-printed-object", LOG, "run.json",
             json.dumps(record(run_id="pretty"), indent=2).encode(), "1 outcomes written", adds={"outcomes": 1}),
    # --- counts: plain decimal digits only
    refused("log-csv-hex-count", LOG, "runs.csv", csv_file(row(n_human="0x10")),
            "runs.csv, row 1, field 'n_human': must be written in plain decimal digits (got '0x10'): hex, octal, "
            "binary, exponents, digit separators and a leading + are refused"),
    refused("log-csv-octal-count", LOG, "runs.csv", csv_file(row(n_human="0o17")),
            "runs.csv, row 1, field 'n_human': must be written in plain decimal digits (got '0o17')"),
    refused("log-csv-binary-count", LOG, "runs.csv", csv_file(row(n_human="0b101")),
            "runs.csv, row 1, field 'n_human': must be written in plain decimal digits (got '0b101')"),
    refused("log-csv-digit-separator-count", LOG, "runs.csv", csv_file(row(n_human="1_000")),
            "runs.csv, row 1, field 'n_human': must be written in plain decimal digits (got '1_000')"),
    refused("log-csv-leading-plus-count", LOG, "runs.csv", csv_file(row(n_human="+5")),
            "runs.csv, row 1, field 'n_human': must be written in plain decimal digits (got '+5')"),
    refused("log-csv-exponent-count", LOG, "runs.csv", csv_file(row(n_human="1e3")),
            "runs.csv, row 1, field 'n_human': must be written in plain decimal digits (got '1e3')"),
    refused("log-csv-fullwidth-digits-count", LOG, "runs.csv", csv_file(row(n_human="１２")),
            "runs.csv, row 1, field 'n_human': is not a number (got '１２')"),
    refused("log-csv-fractional-count", LOG, "runs.csv", csv_file(row(n_human="2.5")),
            "runs.csv, row 1, field 'n_human': must be a whole number of samples (got 2.5)"),
    accepted("log-csv-whole-float-count", LOG, "runs.csv", csv_file(row(n_human="1200.0", run="float")),
             "1 outcomes written", adds={"outcomes": 1}),
    refused("log-parquet-hex-count-as-text", LOG, "runs.parquet",
            parquet(outcomes_table(2, n_human=pa.array(["12", "0x10"]))),
            "runs.parquet, row 2, field 'n_human': must be written in plain decimal digits (got '0x10')"),
    accepted("log-parquet-whole-float-counts", LOG, "runs.parquet",
             parquet(outcomes_table(2, n_human=pa.array([1200.0, 1300.0]))), "2 outcomes written",
             adds={"outcomes": 2}),
    # --- CSV and Parquet structure, encodings, control characters
    refused("log-csv-empty", LOG, "runs.csv", b"", "runs.csv, field 'file': is empty"),
    refused("log-csv-whitespace-only", LOG, "runs.csv", b" \n\t\n\n", "runs.csv, field 'file': is empty"),
    refused("log-csv-header-only", LOG, "runs.csv", csv_file(), "runs.csv, field 'file': has a header but no rows"),
    accepted("log-csv-with-bom", LOG, "runs.csv", "\ufeff".encode() + csv_file(row(run="bom")),
             "1 outcomes written", adds={"outcomes": 1}),
    refused("log-csv-latin-1", LOG, "runs.csv", csv_file(row(notes="café")).decode().encode("latin-1"),
            "runs.csv, field 'file': is not UTF-8 text (byte 0xe9 at position", "line 2); save it as UTF-8"),
    refused("log-csv-utf-16", LOG, "runs.csv", csv_file(row()).decode().encode("utf-16"),
            "runs.csv, field 'file': is not UTF-8 text (byte 0xff at position 0, line 1)"),
    refused("log-csv-extra-field", LOG, "runs.csv", csv_file(row(1), row(2) + ",surplus"),
            "runs.csv, row 2, field 'record': has 8 fields where the header has 7"),
    refused("log-csv-unclosed-quote", LOG, "runs.csv",
            csv_file(row(1), row(2, notes='"never closed'), row(3), row(4)),
            "runs.csv, row 2, field 'record': has a quote that is never closed, so every later row would become "
            "part of one value"),
    accepted("log-csv-bare-quote-inside-a-value", LOG, "runs.csv", csv_file(row(1, notes='5" screen', run="q")),
             "1 outcomes written", adds={"outcomes": 1}),
    refused("log-csv-10-mb-line", LOG, "runs.csv", csv_file(row(1), row(2, notes="n" * 10_000_000)),
            "runs.csv, row 2, field 'record': is 10,000,", "bytes long, over the limit of 1,048,576 bytes"),
    refused("log-csv-2-mb-header", LOG, "runs.csv", csv_file(row(1), header=HEADER + "," + "h" * 2_000_000),
            "runs.csv, field 'record': the header is 2,000,"),
    refused("log-csv-escape-sequence-in-task", LOG, "runs.csv", csv_file(row(task="\x1b[31mred")),
            "runs.csv, row 1, field 'task': no task has the id or name '\\x1b[31mred'"),
    refused("log-csv-bidi-override-in-task", LOG, "runs.csv", csv_file(row(task="\u202etxt.exe")),
            "runs.csv, row 1, field 'task': no task has the id or name '\\u202etxt.exe'"),
    refused("log-csv-nul-in-notes", LOG, "runs.csv", csv_file(row(notes="a\x00b")),
            "runs.csv, row 1, field 'notes': must not contain control characters"),
    refused("log-csv-repeated-column", LOG, "runs.csv", csv_file(row() + ",0.8", header=HEADER + ",value"),
            "runs.csv, field 'value': appears more than once in the header"),
    refused("log-parquet-truncated", LOG, "runs.parquet", truncated_parquet,
            "runs.parquet, field 'file': is not a readable Parquet file"),
    refused("log-parquet-no-rows", LOG, "runs.parquet", parquet(outcomes_table(0)),
            "runs.parquet, field 'file': has no rows"),
    refused("log-parquet-nested-notes", LOG, "runs.parquet",
            parquet(outcomes_table(1, notes=pa.array([{"a": 1}]))),
            "runs.parquet, field 'notes': holds nested values (struct<a: int64>)"),
    refused("log-parquet-binary-run-id", LOG, "runs.parquet",
            parquet(outcomes_table(1, run_id=pa.array([b"\x00\xff"], pa.binary()))),
            "runs.parquet, field 'run_id': holds binary values; expected text"),
    refused("log-parquet-text-not-utf8", LOG, "runs.parquet", parquet(outcomes_table(2, notes=invalid_utf8_text())),
            "runs.parquet, row 2, field 'notes': is not UTF-8 text"),
    # --- task files
    refused("tasks-add-hex-score", TASKS, "tasks.csv", task_csv("A,B,text,m,0x3"),
            "tasks.csv, row 1, field 'interaction': must be written in plain decimal digits"),
    refused("tasks-add-leading-plus-score", TASKS, "tasks.csv", task_csv("A,B,text,m,1", "C,D,text,m,+3"),
            "tasks.csv, row 2, field 'interaction': must be written in plain decimal digits", "(got '+3')"),
    refused("tasks-add-digit-separator-score", TASKS, "tasks.csv", task_csv("A,B,text,m,0_3"),
            "tasks.csv, row 1, field 'interaction': must be written in plain decimal digits: hex, octal, "
            "exponents, digit separators and a leading + are refused (got '0_3')"),
    refused("tasks-add-true-as-score", TASKS, "tasks.json",
            json.dumps([{"name": "A", "domain": "B", "modality": "text", "metric": "m", "interaction": True}]).encode(),
            "tasks.json, row 1, field 'interaction': must be a whole number, not true/false"),
    refused("tasks-add-object-as-score", TASKS, "tasks.jsonl",
            lines({"name": "A", "domain": "B", "modality": "text", "metric": "m", "interaction": 1},
                  {"name": "C", "domain": "B", "modality": "text", "metric": "m", "interaction": {"x": 1}}),
            "tasks.jsonl, row 2, field 'interaction': Input should be a valid integer"),
    refused("tasks-add-nan-score", TASKS, "tasks.jsonl",
            lines({"name": "A", "domain": "B", "modality": "text", "metric": "m", "interaction": float("nan")}),
            "tasks.jsonl, row 1, field 'interaction'"),
    refused("tasks-add-10-mb-line", TASKS, "tasks.csv", task_csv("A,B,text,m,1", "C," + "d" * 10_000_000 + ",text,m,1"),
            "tasks.csv, row 2, field 'record': is 10,000,", "bytes long, over the limit of 1,048,576 bytes"),
    refused("tasks-add-empty", TASKS, "tasks.csv", b"", "tasks.csv, field 'file': is empty"),
    refused("tasks-add-header-only", TASKS, "tasks.csv", task_csv(), "tasks.csv, field 'file': has a header but no rows"),
    refused("tasks-add-latin-1", TASKS, "tasks.csv", "name,domain,modality,metric\nCafé,B,text,m\n".encode("latin-1"),
            "tasks.csv, field 'file': is not UTF-8 text (byte 0xe9 at position 31, line 2)"),
    refused("tasks-add-escape-sequence-in-name", TASKS, "tasks.csv", task_csv("\x1b]0;owned\x07,B,text,m,1"),
            "tasks.csv, row 1, field 'name': must not contain control characters"),
    refused("tasks-add-rows-over-lowered-limit", TASKS, "tasks.csv",
            task_csv("A,B,text,m,1", "C,B,text,m,1", "D,B,text,m,1"),
            "tasks.csv, field 'file': has 3 rows, over the limit of 2 rows; split it into smaller files, or raise "
            "STRATEGY_MAX_ROWS", env={"STRATEGY_MAX_ROWS": "2"}),
    refused("tasks-add-unclosed-quote", TASKS, "tasks.csv", task_csv("A,B,text,m,1", '"C,B,text,m,1', "D,B,text,m,1"),
            "tasks.csv, row 2, field 'record': has a quote that is never closed"),
    refused("tasks-add-extra-field", TASKS, "tasks.csv", task_csv("A,B,text,m,1", "C,B,text,m,1,surplus"),
            "tasks.csv, row 2, field 'record': has 6 fields where the header has 5"),
    refused("tasks-add-repeated-json-key", TASKS, "tasks.json",
            b'[{"name": "A", "domain": "B", "modality": "text", "metric": "m", "interaction": 1, "interaction": 4}]',
            "tasks.json, field 'interaction': appears twice in one record"),
    refused("tasks-add-over-upload-limit", TASKS, "tasks.csv", task_csv(*(f"T{i},B,text,m,1" for i in range(100))),
            "tasks.csv, field 'file': is 1,", "over the upload limit of 1,048 bytes",
            env={"STRATEGY_MAX_UPLOAD_MB": "0.001"}),
    accepted("tasks-add-with-bom", TASKS, "tasks.csv", "\ufeff".encode() + task_csv("Bom task,B,text,m,1"),
             "1 tasks created, 0 updated", adds={"tasks": 1}),
]


@pytest.fixture(autouse=True)
def default_settings(monkeypatch):
    """Every case starts from the documented defaults, whatever the shell running the tests has set."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)


def counts(location: Path) -> dict[str, int]:
    with Catalog.open(location) as catalog:
        return catalog.counts()


def invoke(demo_path: Path, *args: str, input=None):
    return CliRunner().invoke(main, ["--catalog", str(demo_path), *args], input=input)


def assert_clean_exit(result, exit_code: int) -> None:
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_input_file(case: Case, demo_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, value in case.env:
        monkeypatch.setenv(name, value)
    target = Path(case.file)
    if isinstance(case.content, bytes):
        target.write_bytes(case.content)
    elif case.content is not None:
        case.content(target)
    before = counts(demo_path)
    args = [*case.command.split(), case.file] + (["--no-recompute"] if case.command == LOG else [])
    result = invoke(demo_path, *args)
    assert_clean_exit(result, case.exit_code)
    for text in case.says:
        assert text in result.output, result.output[:2000]
    after = counts(demo_path)
    if case.exit_code:
        assert after == before, "a refused file must write nothing"
        if any(name for name, _ in case.env) and "must be" in case.says[0]:
            assert result.output.strip().count("\n") == 0, "a bad setting is a one-line message"
    else:
        assert {table: after[table] - before[table] for table, _ in case.adds} == dict(case.adds)


def test_the_corpus_is_large_and_named():
    assert len(CASES) >= 50
    assert len({case.id for case in CASES}) == len(CASES)


# --------------------------------------------------------------------------------------------- real bombs
BOMB_ROWS = 20_000_000


@pytest.fixture(scope="session")
def bomb(tmp_path_factory) -> Path:
    """A real Parquet file of 20,000,000 outcome rows, every column constant: a few hundred KB on disk."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.parquet"
    n = 1_000_000
    part = pa.table({"task": constant_text(n, TASK), "n_human": pa.array(np.full(n, 100, dtype=np.int64)),
                     "n_synthetic": pa.array(np.full(n, 50, dtype=np.int64)), "metric": constant_text(n, "AUROC"),
                     "value": pa.array(np.full(n, 0.7))})
    with pq.ParquetWriter(path, part.schema) as writer:
        for _ in range(BOMB_ROWS // n):
            writer.write_table(part, row_group_size=n)
    return path


def test_the_bomb_is_small_on_disk_and_huge_in_rows(bomb):
    assert pq.ParquetFile(bomb).metadata.num_rows == BOMB_ROWS
    assert bomb.stat().st_size < 1024 * 1024, "the bomb should be far below the 50 MB upload limit"


@pytest.fixture
def no_decoding(monkeypatch):
    """Fails the test if any Parquet rows are decoded."""
    def refuse(*args, **kwargs):
        raise AssertionError("rows were decoded before the row limit was checked")
    monkeypatch.setattr(pq.ParquetFile, "iter_batches", refuse)
    monkeypatch.setattr(pq.ParquetFile, "read", refuse)
    monkeypatch.setattr(pq, "read_table", refuse)


def test_a_parquet_bomb_is_refused_at_the_default_limit_from_its_metadata(bomb, demo_path, no_decoding):
    before = counts(demo_path)
    result = invoke(demo_path, "log", str(bomb))
    assert_clean_exit(result, 1)
    assert (f"{bomb}, field 'file': has 20,000,000 rows, over the limit of 2,000,000 rows; split it into smaller "
            "files, or raise STRATEGY_MAX_ROWS") in result.output
    assert counts(demo_path) == before


def test_the_python_api_refuses_the_bomb_too(bomb, demo_catalog, no_decoding):
    before = demo_catalog.counts()
    with pytest.raises(ImportRejected, match="has 20,000,000 rows, over the limit of 2,000,000 rows"):
        log_file(demo_catalog, bomb)
    assert demo_catalog.counts() == before


def test_the_sample_reader_has_its_own_higher_row_limit(bomb, tmp_path, monkeypatch, no_decoding):
    with pytest.raises(ImportRejected) as refused_sample:
        read_sample(bomb)
    assert ("has 20,000,000 rows, over the limit of 10,000,000 rows; split it into smaller files, or raise "
            "STRATEGY_MAX_SAMPLE_ROWS") in str(refused_sample.value)
    other = tmp_path / "synthetic.csv"
    other.write_text("task\na\nb\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--catalog", str(tmp_path / "c.duckdb"), "assess", "--human", str(bomb),
                                       "--synthetic", str(other)])
    assert_clean_exit(result, 1)
    assert f"{bomb}, field 'file': has 20,000,000 rows" in result.output


def test_a_lowered_sample_limit_refuses_a_sample_that_an_outcome_file_may_hold(tmp_path, monkeypatch):
    path = tmp_path / "sample.parquet"
    pq.write_table(pa.table({"x": np.arange(50)}), path)
    assert len(read_sample(path).frame) == 50
    monkeypatch.setenv("STRATEGY_MAX_SAMPLE_ROWS", "49")
    with pytest.raises(ImportRejected, match="has 50 rows, over the limit of 49 rows; .* STRATEGY_MAX_SAMPLE_ROWS"):
        read_sample(path)


# ------------------------------------------------------------------------------------ endless streams
class Endless(io.RawIOBase):
    """A stream that never ends (like /dev/zero on a pipe); it counts what it served and gives up, failing the
    test, if read far beyond any limit."""

    def __init__(self, unit: bytes, ceiling: int):
        self.unit, self.ceiling, self.served = unit, ceiling, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.served > self.ceiling:
            raise AssertionError(f"{self.served:,} bytes read from an endless stream")
        n = len(buffer)
        buffer[:n] = (self.unit * (n // len(self.unit) + 1))[:n]
        self.served += n
        return n


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("command", "unit"), [("log", csv_file(row())), ("tasks add", task_csv("A,B,text,m,1"))],
                         ids=["log-endless-stdin", "tasks-add-endless-stdin"])
def test_an_endless_standard_input_is_read_only_to_the_limit(command, unit, demo_path, monkeypatch):
    monkeypatch.setenv("STRATEGY_MAX_UPLOAD_MB", "0.01")
    limit = int(0.01 * 1024 * 1024)
    stream = Endless(unit, 100 * limit)
    before = counts(demo_path)
    result = invoke(demo_path, *command.split(), "-", input=io.BufferedReader(stream, buffer_size=4096))
    assert_clean_exit(result, 1)
    assert "<stdin>, field 'file': is more than 10,485 bytes, over the upload limit of 10,485 bytes" in result.output
    assert stream.served <= limit + 1 + 4096, f"{stream.served:,} bytes read for a limit of {limit:,}"
    assert counts(demo_path) == before


def _feed(fifo: Path, data: bytes | None, stop: threading.Event, written: list[int]) -> None:
    """Write ``data`` (or endless lines when None) into a named pipe once a reader opens it."""
    deadline = time.monotonic() + 20
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:  # no reader yet
            if stop.is_set() or time.monotonic() > deadline:
                return
            time.sleep(0.01)
    os.set_blocking(fd, True)
    try:
        if data is not None:
            os.write(fd, data)
            written.append(len(data))
            return
        chunk = csv_file(*(row(i) for i in range(100)))
        while not stop.is_set():
            os.write(fd, chunk)
            written.append(len(chunk))
    except BrokenPipeError:
        pass
    finally:
        os.close(fd)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("endless", [False, True], ids=["log-named-pipe-finite", "log-named-pipe-endless"])
def test_a_named_pipe_is_read_as_a_bounded_stream(endless, demo_path, tmp_path, monkeypatch):
    monkeypatch.setenv("STRATEGY_MAX_UPLOAD_MB", "0.01")
    fifo = tmp_path / "runs.csv"
    os.mkfifo(fifo)
    stop, written = threading.Event(), []
    feeder = threading.Thread(target=_feed, args=(fifo, None if endless else csv_file(row(run="piped")), stop,
                                                  written), daemon=True)
    feeder.start()
    before = counts(demo_path)
    try:
        result = invoke(demo_path, "log", str(fifo), "--no-recompute")
    finally:
        stop.set()
        feeder.join(10)
    if endless:
        assert_clean_exit(result, 1)
        assert f"{fifo}, field 'file': is more than 10,485 bytes, over the upload limit" in result.output
        assert counts(demo_path) == before
    else:
        assert_clean_exit(result, 0)
        assert "1 outcomes written" in result.output
        assert counts(demo_path)["outcomes"] == before["outcomes"] + 1


@pytest.mark.parametrize("kind", ["directory", "device", "named-pipe"])
def test_the_python_api_refuses_what_is_not_a_regular_file_without_reading_it(kind, demo_catalog, tmp_path):
    path = {"directory": tmp_path, "device": Path("/dev/zero"), "named-pipe": tmp_path / "pipe.csv"}[kind]
    if kind == "named-pipe":
        os.mkfifo(path)  # opening it would block until a writer came: it must not be opened at all
    reason = {"directory": "is a directory, not a file", "device": "is a device, not a file",
              "named-pipe": "is not a regular file"}[kind]
    before = demo_catalog.counts()
    with pytest.raises(ImportRejected, match=reason):
        log_file(demo_catalog, path)
    with pytest.raises(ImportRejected, match=reason):
        read_tasks(path)
    assert demo_catalog.counts() == before


# ------------------------------------------------------------------------- what an accepted file stores
def test_log_file_counts_duplicates_apart_from_rows_already_logged(demo_catalog):
    data = csv_file(row(1, run="a"), row(1, run="a"), row(2), row(2), row(3, run="b"))
    first = log_file(demo_catalog, io.BytesIO(data), label="runs.csv", recompute_after=False)
    assert (first.written, first.duplicates, first.skipped) == (3, 2, 0)
    again = log_file(demo_catalog, io.BytesIO(data), label="runs.csv", recompute_after=False)
    assert (again.written, again.duplicates, again.skipped) == (0, 0, 5)
    changed = data.replace(b"0.7,b,", b"0.9,b,")
    before = demo_catalog.counts()
    with pytest.raises(ImportRejected) as refused_again:
        log_file(demo_catalog, io.BytesIO(changed), label="runs.csv", recompute_after=False)
    assert [str(p) for p in refused_again.value.problems] == [
        "runs.csv, row 5, field 'run_id': run 'b' is already logged with other values (value); log it under a "
        "new run id"]
    assert demo_catalog.counts() == before


def test_a_json_object_or_list_in_notes_is_stored_as_compact_json_text(demo_catalog):
    data = lines(record(run_id="obj", notes={"split": "B", "seeds": [1, 2]}), record(run_id="list", notes=[1, "é"]),
                 record(run_id="text", notes="plain"), record(run_id="number", notes=3))
    result = log_file(demo_catalog, io.BytesIO(data), label="runs.jsonl", recompute_after=False)
    assert result.written == 4
    stored = demo_catalog.outcomes().set_index("run_id")["notes"]
    assert stored["obj"] == '{"split":"B","seeds":[1,2]}'
    assert stored["list"] == '[1,"é"]'
    assert (stored["text"], stored["number"]) == ("plain", "3")


def test_counts_written_as_whole_floats_are_stored_as_integers(demo_catalog):
    log_file(demo_catalog, io.BytesIO(csv_file(row(n_human="1200.0", run="f"))), label="runs.csv",
             recompute_after=False)
    stored = demo_catalog.outcomes().set_index("run_id")
    assert int(stored.loc["f", "n_human"]) == 1200


def test_relogging_the_same_file_on_the_command_line_skips_every_row(demo_path, tmp_path):
    path = tmp_path / "runs.csv"
    path.write_bytes(csv_file(row(1, run="x1"), row(2, run="x2")))
    first = invoke(demo_path, "log", str(path), "--no-recompute")
    assert_clean_exit(first, 0)
    assert "2 outcomes written, 0 skipped" in first.output
    before = counts(demo_path)
    again = invoke(demo_path, "log", str(path), "--no-recompute")
    assert_clean_exit(again, 0)
    assert "0 outcomes written, 2 skipped as already logged" in again.output
    assert counts(demo_path)["outcomes"] == before["outcomes"]
