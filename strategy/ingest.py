"""Reading records from files people keep: CSV and JSON (an array, an object, or JSON lines), and Parquet.

Everything is checked before anything is written, and every problem names the
file, the row (counted from 1, header excluded) and the field.
"""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pydantic import BaseModel, ValidationError

from strategy.errors import ImportRejected, Problem
from strategy.models import Task, describe_errors

Model = TypeVar("Model", bound=BaseModel)

# Stable ids for demo and file-loaded tasks, so the same file names the same task everywhere.
TASK_NAMESPACE = uuid.UUID("5d3c1f0e-8a4b-4c9e-9f57-2b1d7e6a9c30")


def task_id_for(name: str) -> str:
    return str(uuid.uuid5(TASK_NAMESPACE, name.strip().lower()))


def decode_utf8(raw: bytes, label: str) -> str:
    """File bytes as text, or a message saying where the first byte that is not UTF-8 sits."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportRejected([Problem(
            label, None, "file",
            f"is not UTF-8 text (byte 0x{raw[error.start]:02x} at position {error.start}); save it as UTF-8",
        )]) from None


def read_text(source: str | Path | IO[bytes], label: str | None = None) -> tuple[str, str]:
    """Return (label, text) of a UTF-8 file or byte stream; ``-`` reads standard input."""
    if isinstance(source, (str, Path)):
        label = label or str(source)
        try:
            raw = Path(source).read_bytes()
        except OSError as error:
            raise ImportRejected([Problem(label, None, "file", f"cannot be read: {error.strerror}")]) from None
    else:
        label = label or getattr(source, "name", "<stdin>")
        raw = source.read()
        if isinstance(raw, str):
            raw = raw.encode()
    text = decode_utf8(raw, label)
    if not text.strip():
        raise ImportRejected([Problem(label, None, "file", "is empty")])
    return label, text


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
    JSON values keep their JSON types.
    """
    label, text = read_text(source, label)
    fmt = fmt or guess_format(label, text)
    if fmt == "csv":
        try:
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
        except (pd.errors.ParserError, ValueError) as error:
            raise ImportRejected([Problem(label, None, "file", f"is not valid CSV: {error}")]) from None
        if frame.empty:
            raise ImportRejected([Problem(label, None, "file", "has a header but no rows")])
        frame.columns = [str(c).strip() for c in frame.columns]
        rows = [{k: v for k, v in row.items() if v != ""} for row in frame.to_dict(orient="records")]
        return label, rows, list(frame.columns)
    rows = _json_rows(label, text)
    return label, rows, list(dict.fromkeys(key for row in rows for key in row))


def _json_rows(label: str, text: str) -> list[dict]:
    stripped = text.strip()
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as whole_error:
        # Not one JSON document: unless it is an array, read it as JSON lines, one record per line.
        lines = [line for line in stripped.splitlines() if line.strip()]
        if len(lines) < 2 or stripped.startswith("["):
            raise ImportRejected([Problem(
                label, None, "file",
                f"is not valid JSON: {whole_error.msg} (line {whole_error.lineno}, column {whole_error.colno})",
            )]) from None
        data = []
        for position, line in enumerate(lines, start=1):
            try:
                data.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ImportRejected([Problem(label, position, "record",
                                              f"is not valid JSON: {error.msg}")]) from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        raise ImportRejected([Problem(label, None, "file", "holds no records")])
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
            problems.extend(Problem(label, position, field, reason) for field, reason in describe_errors(error))
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
        problems.append(Problem(label, None, ", ".join(unknown),
                                f"unknown column; expected some of: {', '.join(TASK_FILE_FIELDS)}"))
    if missing:
        problems.append(Problem(label, None, ", ".join(missing), "required column is missing"))
    if problems:
        raise ImportRejected(problems)
    return validate_rows(label, rows, Task, prepare=lambda row: _prepare_task(
        {k: v for k, v in row.items() if k not in extra_fields}))


# ----------------------------------------------------------------------------- data files
UPLOAD_LIMIT_ENV = "STRATEGY_MAX_UPLOAD_MB"
DEFAULT_UPLOAD_LIMIT_MB = 50
# Streamlit's maxUploadSize counts megabytes of 1,024 × 1,024 bytes; the CLI and the messages count alike.
_MB = 1024 * 1024


def upload_limit_bytes() -> int:
    """The same limit as the app's upload widget (.streamlit/config.toml), overridable for the CLI."""
    return int(float(os.environ.get(UPLOAD_LIMIT_ENV, DEFAULT_UPLOAD_LIMIT_MB)) * _MB)


def _format_of(label: str, head: bytes) -> str:
    suffix = Path(label).suffix.lower()
    if suffix == ".parquet" or head.startswith(b"PAR1"):
        return "parquet"
    if suffix in {".jsonl", ".ndjson", ".json"} or head.lstrip()[:1] in (b"{", b"["):
        return "jsonl"
    return "csv"


def read_data_file(source: str | Path | IO[bytes], *, label: str | None = None,
                   size: int | None = None, limit: int | None = None) -> tuple[str, pa.Table]:
    """Read a CSV, Parquet or JSON-lines file (a path or a byte stream) into an Arrow table.

    Given a ``limit`` in bytes, a larger file is refused before it is read.
    """
    if isinstance(source, (str, Path)):
        label = label or str(source)
        try:
            size = Path(source).stat().st_size
        except OSError as error:
            raise ImportRejected([Problem(label, None, "file", f"cannot be read: {error.strerror}")]) from None
        if limit is not None and size > limit:
            raise _too_large(label, size, limit)
        raw = Path(source).read_bytes()
    else:
        label = label or getattr(source, "name", "<stdin>")
        if limit is not None and size is not None and size > limit:
            raise _too_large(label, size, limit)
        raw = source.read() if limit is None else source.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise _too_large(label, len(raw), limit)
    if not raw.strip():
        raise ImportRejected([Problem(label, None, "file", "is empty")])
    fmt = _format_of(label, raw[:64])
    if fmt == "parquet":
        try:
            table = pq.read_table(io.BytesIO(raw))
        except (pa.ArrowInvalid, OSError) as error:
            raise ImportRejected([Problem(label, None, "file", f"is not a readable Parquet file: {error}")]) from None
    else:
        text = decode_utf8(raw, label)
        try:
            if fmt == "csv":
                # Arrow's reader is multi-threaded; types it cannot infer stay text and are checked later.
                table = pacsv.read_csv(io.BytesIO(text.encode("utf-8")),
                                       convert_options=pacsv.ConvertOptions(null_values=[""], strings_can_be_null=True))
            else:
                stripped = text.strip()
                frame = (pd.read_json(io.StringIO(stripped), dtype=False) if stripped.startswith("[")
                         else pd.read_json(io.StringIO(stripped), lines=True, dtype=False))
                table = pa.Table.from_pandas(frame.astype(object).where(frame.notna(), None), preserve_index=False)
        except (ValueError, pa.ArrowInvalid) as error:
            kind = "CSV" if fmt == "csv" else "JSON lines"
            raise ImportRejected([Problem(label, None, "file", f"is not valid {kind}: {error}")]) from None
    table = table.rename_columns([str(c).strip() for c in table.column_names])
    if table.num_rows == 0:
        raise ImportRejected([Problem(label, None, "file", "has a header but no rows")])
    return label, table


def _too_large(label: str, size: int, limit: int) -> ImportRejected:
    return ImportRejected([Problem(label, None, "file", f"is {size / _MB:,.1f} MB, over the upload limit of "
                                                        f"{limit / _MB:,.0f} MB; split it into smaller files")])
