"""Task and record files (CSV, a JSON array or object, JSON lines): rows as dicts, validated against a model
with every problem named, and the task file's own columns.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, TypeVar

import pandas as pd
from pydantic import BaseModel, ValidationError

from strategy.errors import ImportRejected, Problem
from strategy.ingest.csv_file import UNCLOSED, width_reason
from strategy.ingest.display import inert
from strategy.ingest.json_file import RepeatedKey, json_line_records, unique_pairs
from strategy.ingest.limits import ROW_LIMIT_ENV, Bounds, row_limit, upload_limit_bytes
from strategy.ingest.reading import read_text, refusal, refuse_long_rows, too_many_rows
from strategy.models import Task, describe_errors

Model = TypeVar("Model", bound=BaseModel)

# Stable ids for demo and file-loaded tasks, so the same file names the same task everywhere.
TASK_NAMESPACE = uuid.UUID("5d3c1f0e-8a4b-4c9e-9f57-2b1d7e6a9c30")


def task_id_for(name: str) -> str:
    return str(uuid.uuid5(TASK_NAMESPACE, name.strip().lower()))


# ----------------------------------------------------------------------------- task files
def guess_format(label: str, text: str) -> str:
    suffix = Path(label).suffix.lower()
    if suffix in {".json", ".jsonl", ".ndjson"}:
        return "json"
    if suffix == ".csv":
        return "csv"
    return "json" if text.lstrip()[:1] in "[{" else "csv"


def read_rows(source: str | Path | IO[bytes], *, label: str | None = None,
              fmt: str | None = None) -> tuple[str, list[dict], list[str]]:
    """Read a CSV or JSON file into (label, rows as plain dicts, column names).

    CSV cells stay text (empty cells are dropped, so model defaults apply);
    JSON values keep their JSON types. The file is bounded by the upload limit and the row limit.
    """
    limit, rows_limit = upload_limit_bytes(), row_limit()
    label, text = read_text(source, label, limit=limit)
    bounds = Bounds(rows_limit, ROW_LIMIT_ENV)
    fmt = fmt or guess_format(label, text)
    if fmt == "csv":
        refuse_long_rows(text, label, header=True)
        if text.rstrip().count("\n") > rows_limit:  # more lines than rows allowed: count the records
            try:
                records = sum(1 for record in csv.reader(io.StringIO(text)) if record) - 1
            except csv.Error as error:
                raise refusal(label, f"cannot be read as CSV ({error})") from None
            if records > rows_limit:
                raise too_many_rows(label, records, bounds)
        try:
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
        except (pd.errors.ParserError, ValueError) as error:
            unclosed = re.search(r"EOF inside string starting at row (\d+)", str(error))
            if unclosed:
                raise refusal(label, UNCLOSED, row=int(unclosed.group(1)), field="record") from None
            found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
            if found:
                expected, line, saw = (int(g) for g in found.groups())
                raise refusal(label, width_reason(saw, expected), row=line - 1, field="record") from None
            raise refusal(label, f"is not valid CSV: {inert(str(error))}") from None
        if frame.empty:
            raise refusal(label, "has a header but no rows")
        frame.columns = [str(c).strip() for c in frame.columns]
        rows = [{k: v for k, v in row.items() if v != ""} for row in frame.to_dict(orient="records")]
        return label, rows, list(frame.columns)
    rows = _json_rows(label, text)
    if len(rows) > rows_limit:
        raise too_many_rows(label, len(rows), bounds)
    return label, rows, list(dict.fromkeys(key for row in rows for key in row))


def _json_rows(label: str, text: str) -> list[dict]:
    stripped = text.strip()
    try:
        data = json.loads(stripped, object_pairs_hook=unique_pairs)
    except RepeatedKey as repeated:
        raise refusal(label, "appears twice in one record", field=inert(repeated.key)) from None
    except json.JSONDecodeError as whole_error:
        # Not one JSON document: unless it is an array, read it as JSON lines, one record per line.
        lines = [line for line in stripped.split("\n") if line.strip()]
        if len(lines) < 2 or stripped.startswith("["):
            raise refusal(label, f"is not valid JSON: {whole_error.msg} (line {whole_error.lineno}, "
                                 f"column {whole_error.colno})") from None
        data = json_line_records(label, lines)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        raise refusal(label, "holds no records")
    problems = [Problem(label, i, "record", "is not a JSON object") for i, row in enumerate(data, 1)
                if not isinstance(row, dict)]
    if problems:
        raise ImportRejected(problems)
    return data


def validate_rows(label: str, rows: list[dict], model: type[Model],
                  prepare: Callable[[dict], dict] | None = None) -> list[Model]:
    """Build one model per row or raise ImportRejected listing every bad row and field."""
    records, problems = [], []
    for position, row in enumerate(rows, start=1):
        try:
            records.append(model(**(prepare(row) if prepare else row)))
        except ValidationError as error:
            problems.extend(Problem(label, position, inert(field), inert(reason))
                            for field, reason in describe_errors(error))
        except TypeError as error:  # keys that are not text (a JSON object's keys always are)
            problems.append(Problem(label, position, "record", inert(str(error))))
    if problems:
        raise ImportRejected(problems)
    return records


# Fields a task file may carry; who/when come from the writer, never the file.
TASK_FILE_FIELDS = [
    name for name in Task.model_fields
    if name not in {"created_by", "created_at", "updated_by", "updated_at", "source", "status"}
]


def _prepare_task(row: dict) -> dict:
    prepared = dict(row)
    if "id" not in prepared and isinstance(prepared.get("name"), str) and prepared["name"].strip():
        prepared["id"] = task_id_for(prepared["name"])
    return prepared


def read_tasks(source: str | Path | IO[bytes], *, label: str | None = None,
               extra_fields: set[str] = frozenset()) -> list[Task]:
    """Tasks from a CSV or JSON file, validated as the task form validates them."""
    label, rows, columns = read_rows(source, label=label)
    allowed = set(TASK_FILE_FIELDS) | set(extra_fields)
    unknown = sorted(set(columns) - allowed)
    missing = sorted({"name", "domain", "modality", "metric"} - set(columns))
    problems = []
    if unknown:
        problems.append(Problem(label, None, inert(", ".join(unknown)),
                                f"unknown column; expected some of: {', '.join(TASK_FILE_FIELDS)}"))
    if missing:
        problems.append(Problem(label, None, ", ".join(missing), "required column is missing"))
    if problems:
        raise ImportRejected(problems)
    return validate_rows(label, rows, Task, prepare=lambda row: _prepare_task(
        {k: v for k, v in row.items() if k not in extra_fields}))
