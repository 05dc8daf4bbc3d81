"""Reading records from files people keep: CSV and JSON (an array, an object, or JSON lines), and Parquet.

Everything is checked before anything is written, and every problem names the
file, the row (counted from 1, header excluded) and the field. Files are
bounded before they are materialised: in bytes as read (the upload limit), in
rows (counted from Parquet metadata, or from the lines of a text file) and in
bytes once decoded (Parquet, which compresses), so no file can exhaust memory.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import stat
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq
from pydantic import BaseModel, ValidationError

from strategy.errors import ImportRejected, Problem, StrategyError
from strategy.models import Task, describe_errors

Model = TypeVar("Model", bound=BaseModel)

# Stable ids for demo and file-loaded tasks, so the same file names the same task everywhere.
TASK_NAMESPACE = uuid.UUID("5d3c1f0e-8a4b-4c9e-9f57-2b1d7e6a9c30")

# Streamlit's maxUploadSize counts megabytes of 1,024 × 1,024 bytes; the CLI and the messages count alike.
_MB = 1024 * 1024
# The longest row (CSV record or JSON line) read: Arrow's block size. A row of notes at their 20,000-character
# limit takes at most 80 KB, so only a broken or hostile file comes near it.
MAX_ROW_BYTES = _MB
_BOM = b"\xef\xbb\xbf"
# Python's csv module (used only to locate a broken row) must read fields as long as Arrow does.
csv.field_size_limit(max(csv.field_size_limit(), 2 * MAX_ROW_BYTES))


def task_id_for(name: str) -> str:
    return str(uuid.uuid5(TASK_NAMESPACE, name.strip().lower()))


# ----------------------------------------------------------------------------- settings
UPLOAD_LIMIT_ENV = "STRATEGY_MAX_UPLOAD_MB"
DEFAULT_UPLOAD_LIMIT_MB = 50
ROW_LIMIT_ENV = "STRATEGY_MAX_ROWS"
DEFAULT_ROW_LIMIT = 2_000_000
SAMPLE_ROW_LIMIT_ENV = "STRATEGY_MAX_SAMPLE_ROWS"
DEFAULT_SAMPLE_ROW_LIMIT = 10_000_000
DECODED_LIMIT_ENV = "STRATEGY_MAX_DECODED_MB"
DEFAULT_DECODED_LIMIT_MB = 1024
SAMPLE_DECODED_LIMIT_ENV = "STRATEGY_MAX_SAMPLE_DECODED_MB"
DEFAULT_SAMPLE_DECODED_LIMIT_MB = 4096


class BadSetting(StrategyError):
    """An environment variable holding no usable value; the message names the variable and the value."""


def _setting(name: str, default: float, *, whole: bool) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    text = raw.strip()
    value: float | None = None
    if whole:
        value = int(text) if re.fullmatch(r"[0-9]+", text) else None
    elif re.fullmatch(r"[0-9]*\.?[0-9]+|[0-9]+\.", text):
        value = float(text)
    if value is None or not math.isfinite(value) or value <= 0:
        what = "a whole number of rows above 0" if whole else "a number of megabytes above 0"
        raise BadSetting(f"{name} must be {what} (got {inert(repr(raw))}); unset it to use the default of "
                         f"{default:,}")
    return value


def upload_limit_bytes() -> int:
    """The same limit as the app's upload widget (.streamlit/config.toml), overridable for the CLI."""
    return int(_setting(UPLOAD_LIMIT_ENV, DEFAULT_UPLOAD_LIMIT_MB, whole=False) * _MB)


def row_limit() -> int:
    """The most rows an outcome or task file may hold."""
    return int(_setting(ROW_LIMIT_ENV, DEFAULT_ROW_LIMIT, whole=True))


def sample_row_limit() -> int:
    """The most rows a sample read for a humanness assessment may hold."""
    return int(_setting(SAMPLE_ROW_LIMIT_ENV, DEFAULT_SAMPLE_ROW_LIMIT, whole=True))


def decoded_limit_bytes() -> int:
    """The most bytes an outcome or task file may take once decoded (Parquet decompressed, text as read)."""
    return int(_setting(DECODED_LIMIT_ENV, DEFAULT_DECODED_LIMIT_MB, whole=False) * _MB)


def sample_decoded_limit_bytes() -> int:
    """The most bytes a sample may take once decoded."""
    return int(_setting(SAMPLE_DECODED_LIMIT_ENV, DEFAULT_SAMPLE_DECODED_LIMIT_MB, whole=False) * _MB)


@dataclass(frozen=True)
class Bounds:
    """How many rows a file may hold and how many bytes it may decode to, and the settings that say so."""

    rows: int | None = None
    rows_setting: str = ROW_LIMIT_ENV
    decoded: int | None = None
    decoded_setting: str = DECODED_LIMIT_ENV


def file_bounds() -> Bounds:
    """Bounds of outcome and task files."""
    return Bounds(row_limit(), ROW_LIMIT_ENV, decoded_limit_bytes(), DECODED_LIMIT_ENV)


def sample_bounds() -> Bounds:
    """Bounds of the samples a humanness assessment reads (larger: assessments read big samples)."""
    return Bounds(sample_row_limit(), SAMPLE_ROW_LIMIT_ENV, sample_decoded_limit_bytes(), SAMPLE_DECODED_LIMIT_ENV)


# ----------------------------------------------------------------------------- messages
# Control, bidi and invisible characters from a file are shown as escapes, never sent to a terminal as they are.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def inert(text: str) -> str:
    """Text with control, bidi and invisible characters written as escapes (\\x1b, \\u202e)."""
    return _INVISIBLE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                          else f"\\u{ord(m.group()):04x}", text)


def shown(value, width: int = 40) -> str:
    """A value quoted for a message: inert and cut to ``width`` characters."""
    text = str(value)
    return "'" + inert(text[:width] + ("…" if len(text) > width else "")) + "'"


def _size(n: int) -> str:
    if n >= _MB:
        return f"{n / _MB:,.1f}".removesuffix(".0") + " MB"
    return f"{n:,} bytes"


def _refuse(label: str, reason: str, *, row: int | None = None, field: str = "file") -> ImportRejected:
    return ImportRejected([Problem(label, row, field, reason)])


def _too_many_rows(label: str, found: int | None, bounds: Bounds) -> ImportRejected:
    count = f"{found:,} rows" if found is not None else f"more than {bounds.rows:,} rows"
    return _refuse(label, f"has {count}, over the limit of {bounds.rows:,} rows; split it into smaller files, "
                          f"or raise {bounds.rows_setting}")


def _too_large_decoded(label: str, found: int | None, bounds: Bounds) -> ImportRejected:
    size = _size(found) if found is not None else f"more than {_size(bounds.decoded)}"
    return _refuse(label, f"decodes to {size}, over the limit of {_size(bounds.decoded)}; split it into smaller "
                          f"files, or raise {bounds.decoded_setting}")


def _too_large(label: str, size: int | None, limit: int, what: str) -> ImportRejected:
    shown_size = _size(size) if size is not None else f"more than {_size(limit)}"
    return _refuse(label, f"is {shown_size}, over the {what.format(limit=_size(limit))}; split it into smaller "
                          "files")


UPLOAD_LIMIT_WORDS = f"upload limit of {{limit}} ({UPLOAD_LIMIT_ENV} for the command line)"


# ----------------------------------------------------------------------------- bytes
def _kind_of(mode: int) -> str | None:
    """Why a file of this mode cannot be read as a file, or None when it can."""
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a file; give the path of a CSV, JSON or Parquet file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a file"
    return None


def _read_bounded(handle, limit: int | None) -> bytes:
    """Read to the end, or at most ``limit`` + 1 bytes (enough to know a stream is over the limit)."""
    if limit is None:
        data = handle.read()
        return data.encode() if isinstance(data, str) else data
    chunks, total = [], 0
    while total <= limit:
        chunk = handle.read(limit + 1 - total)
        if not chunk:
            break
        if isinstance(chunk, str):
            chunk = chunk.encode()
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def read_bytes(source: str | Path | IO[bytes], label: str | None = None, *, limit: int | None = None,
               size: int | None = None, what: str = UPLOAD_LIMIT_WORDS) -> tuple[str, bytes]:
    """(label, bytes) of a file path or a byte stream, reading at most ``limit`` + 1 bytes.

    A path must be a regular file (not a directory, device or named pipe); a stream may be a pipe (standard
    input) but not a device or directory. Over the limit is refused, before reading when the size is known.
    """
    if isinstance(source, (str, Path)):
        label = label or str(source)
        try:
            info = os.stat(source)
        except OSError as error:
            raise _refuse(label, f"cannot be read: {error.strerror}") from None
        reason = _kind_of(info.st_mode) or (None if stat.S_ISREG(info.st_mode)
                                            else "is not a regular file (a named pipe?); give the path of a file")
        if reason:
            raise _refuse(label, reason)
        if limit is not None and info.st_size > limit:
            raise _too_large(label, info.st_size, limit, what)
        try:
            with open(source, "rb") as handle:
                raw = _read_bounded(handle, limit)
        except OSError as error:
            raise _refuse(label, f"cannot be read: {error.strerror}") from None
    else:
        name = getattr(source, "name", None)
        label = label or (name if isinstance(name, str) and name else "<stdin>")
        try:
            info = os.fstat(source.fileno())
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            info = None
        if info is not None:
            reason = _kind_of(info.st_mode)
            if reason and not (stat.S_ISCHR(info.st_mode) and os.isatty(source.fileno())):
                raise _refuse(label, reason)
            if size is None and stat.S_ISREG(info.st_mode):
                size = info.st_size
        if limit is not None and size is not None and size > limit:
            raise _too_large(label, size, limit, what)
        try:
            raw = _read_bounded(source, limit)
        except OSError as error:
            raise _refuse(label, f"cannot be read: {error.strerror}") from None
    if limit is not None and len(raw) > limit:
        raise _too_large(label, None, limit, what)
    return label, raw


def decode_utf8(raw: bytes, label: str) -> str:
    """File bytes as text, or a message saying where the first byte that is not UTF-8 sits."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        data = error.object
        line = data.count(b"\n", 0, error.start) + 1
        raise _refuse(label, f"is not UTF-8 text (byte 0x{data[error.start]:02x} at position {error.start}, "
                             f"line {line:,}); save it as UTF-8") from None


def read_text(source: str | Path | IO[bytes], label: str | None = None, *,
              limit: int | None = None) -> tuple[str, str]:
    """Return (label, text) of a UTF-8 file or byte stream (at most ``limit`` bytes); ``-`` reads standard
    input."""
    label, raw = read_bytes(source, label, limit=limit)
    text = decode_utf8(raw, label)
    if not text.strip():
        raise _refuse(label, "is empty")
    return label, text


def _long_row(data: bytes | str, label: str, *, header: bool) -> ImportRejected | None:
    """The refusal of the first line longer than MAX_ROW_BYTES, naming its row (blank lines are not rows),
    or None. A Python loop over lines: only run once a file is known to hold such a line."""
    newline = b"\n" if isinstance(data, bytes) else "\n"
    start, line, row = 0, 0, 0
    while True:
        end = data.find(newline, start)
        stop = len(data) if end < 0 else end
        length = stop - start
        if length > MAX_ROW_BYTES // 4:  # a character takes 1 to 4 bytes
            piece = data[start:stop]
            length = len(piece) if isinstance(piece, bytes) else len(piece.encode())
        is_header = header and line == 0
        if not is_header and (length > 64 or data[start:stop].strip()):
            row += 1
        if length > MAX_ROW_BYTES:
            return _refuse(label, f"{'the header ' if is_header else ''}is {length:,} bytes long, over the limit of "
                                  f"{MAX_ROW_BYTES:,} bytes a row may take", row=None if is_header else row,
                           field="record")
        if end < 0:
            return None
        start, line = end + 1, line + 1


def _may_hold_long_row(data: bytes | str) -> bool:
    """Whether some line may be longer than MAX_ROW_BYTES: such a line covers a whole window of a quarter of
    that length (an eighth in characters) without a line break. A few hundred C-level searches for a file at
    the upload limit; the exact (slower) search runs only when one window has no line break."""
    newline, window = (b"\n", MAX_ROW_BYTES // 4) if isinstance(data, bytes) else ("\n", MAX_ROW_BYTES // 8)
    if len(data) <= window:
        return False
    return any(data.find(newline, start, start + window) < 0 for start in range(0, len(data) - window, window))


def _refuse_long_rows(data: bytes | str, label: str, *, header: bool) -> None:
    if _may_hold_long_row(data):
        too_long = _long_row(data, label, header=header)
        if too_long:
            raise too_long


def _text_lines(data: bytes) -> int:
    """Lines of a text file, not counting blank lines at its end."""
    body = data.rstrip()
    return body.count(b"\n") + 1 if body else 0


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
        _refuse_long_rows(text, label, header=True)
        if text.rstrip().count("\n") > rows_limit:  # more lines than rows allowed: count the records
            try:
                records = sum(1 for record in csv.reader(io.StringIO(text)) if record) - 1
            except csv.Error as error:
                raise _refuse(label, f"cannot be read as CSV ({error})") from None
            if records > rows_limit:
                raise _too_many_rows(label, records, bounds)
        try:
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
        except (pd.errors.ParserError, ValueError) as error:
            unclosed = re.search(r"EOF inside string starting at row (\d+)", str(error))
            if unclosed:
                raise _refuse(label, _UNCLOSED, row=int(unclosed.group(1)), field="record") from None
            found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
            if found:
                expected, line, saw = (int(g) for g in found.groups())
                raise _refuse(label, _width_reason(saw, expected), row=line - 1, field="record") from None
            raise _refuse(label, f"is not valid CSV: {inert(str(error))}") from None
        if frame.empty:
            raise _refuse(label, "has a header but no rows")
        frame.columns = [str(c).strip() for c in frame.columns]
        rows = [{k: v for k, v in row.items() if v != ""} for row in frame.to_dict(orient="records")]
        return label, rows, list(frame.columns)
    rows = _json_rows(label, text)
    if len(rows) > rows_limit:
        raise _too_many_rows(label, len(rows), bounds)
    return label, rows, list(dict.fromkeys(key for row in rows for key in row))


class _RepeatedKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, object]]) -> dict:
    record = dict(pairs)
    if len(record) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise _RepeatedKey(key)
            seen.add(key)
    return record


def _json_line_records(label: str, lines: Iterable[str]) -> list:
    """One value per non-blank line, or ImportRejected naming every line (row) that is not JSON."""
    records, problems = [], []
    for line in lines:
        if not line.strip():
            continue
        position = len(records) + 1
        if len(line) > MAX_ROW_BYTES // 4 and len(line.encode()) > MAX_ROW_BYTES:
            problems.append(Problem(label, position, "record", f"is {len(line.encode()):,} bytes long, over the "
                                                               f"limit of {MAX_ROW_BYTES:,} bytes a row may take"))
            records.append(None)
            continue
        try:
            records.append(json.loads(line, object_pairs_hook=_unique_pairs))
        except _RepeatedKey as repeated:
            problems.append(Problem(label, position, inert(repeated.key), "appears twice in this record"))
            records.append(None)
        except json.JSONDecodeError as error:
            problems.append(Problem(label, position, "record",
                                    f"is not valid JSON: {error.msg} (column {error.colno})"))
            records.append(None)
        if len(problems) >= 20:
            break
    if problems:
        raise ImportRejected(problems)
    return records


def _json_rows(label: str, text: str) -> list[dict]:
    stripped = text.strip()
    try:
        data = json.loads(stripped, object_pairs_hook=_unique_pairs)
    except _RepeatedKey as repeated:
        raise _refuse(label, "appears twice in one record", field=inert(repeated.key)) from None
    except json.JSONDecodeError as whole_error:
        # Not one JSON document: unless it is an array, read it as JSON lines, one record per line.
        lines = [line for line in stripped.split("\n") if line.strip()]
        if len(lines) < 2 or stripped.startswith("["):
            raise _refuse(label, f"is not valid JSON: {whole_error.msg} (line {whole_error.lineno}, "
                                 f"column {whole_error.colno})") from None
        data = _json_line_records(label, lines)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        raise _refuse(label, "holds no records")
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


# ----------------------------------------------------------------------------- data files
def _format_of(label: str, head: bytes) -> str:
    suffix = Path(label).suffix.lower()
    if suffix == ".parquet" or head.startswith(b"PAR1"):
        return "parquet"
    if suffix in {".jsonl", ".ndjson", ".json"} or head.lstrip()[:1] in (b"{", b"["):
        return "jsonl"
    return "csv"


def read_data_file(source: str | Path | IO[bytes], *, label: str | None = None,
                   size: int | None = None, limit: int | None = None, bounds: Bounds | None = None,
                   text_csv: bool = False, text_fields: Iterable[str] = ()) -> tuple[str, pa.Table]:
    """Read a CSV, Parquet or JSON-lines file (a path or a byte stream) into an Arrow table.

    Given a ``limit`` in bytes, a larger file is refused before it is read (else the decoded limit bounds
    the bytes read). ``bounds`` limits the rows, counted before the rows are materialised, and the bytes
    a Parquet file decodes to. With ``text_csv`` every CSV cell stays text (nothing is inferred, so
    ``0x10`` is not read as 16); ``text_fields`` of JSON are kept as text, an object or list as compact
    JSON.
    """
    bounds = bounds or Bounds(decoded=decoded_limit_bytes())
    if limit is not None:
        label, raw = read_bytes(source, label, limit=limit, size=size, what=UPLOAD_LIMIT_WORDS)
    else:
        label, raw = read_bytes(source, label, limit=bounds.decoded, size=size,
                                what=f"limit of {{limit}} ({bounds.decoded_setting})")
    body = raw[len(_BOM):] if raw.startswith(_BOM) else raw
    if not body.strip():
        raise _refuse(label, "is empty")
    fmt = _format_of(label, body[:64])
    if fmt == "parquet":
        table = _read_parquet(raw, label, bounds)
    else:
        text = decode_utf8(raw, label)
        if fmt == "csv":
            table = _read_csv(body, text, label, bounds, as_text=text_csv)
        else:
            table = _read_json(body, text, label, bounds, set(text_fields))
    table = table.rename_columns([str(c).strip() for c in table.column_names])
    if table.num_rows == 0:
        raise _refuse(label, "has no rows" if fmt == "parquet" else "has a header but no rows")
    return label, table


# ------------------------------------------------------------------------------ Parquet
_BATCH_ROWS = 65_536


def _read_parquet(raw: bytes, label: str, bounds: Bounds) -> pa.Table:
    """Rows counted from the metadata and bytes decoded batch by batch, each against its limit, so a
    small file of many millions of rows is refused before it is decompressed."""
    try:
        parquet = pq.ParquetFile(io.BytesIO(raw))
        meta, schema = parquet.metadata, parquet.schema_arrow
    except (pa.ArrowException, OSError, ValueError) as error:
        raise _refuse(label, f"is not a readable Parquet file: {inert(str(error))}") from None
    if bounds.rows is not None and meta.num_rows > bounds.rows:
        raise _too_many_rows(label, meta.num_rows, bounds)
    declared = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if bounds.decoded is not None and declared > bounds.decoded:
        raise _too_large_decoded(label, declared, bounds)
    batches, rows, decoded = [], 0, 0
    try:
        for batch in parquet.iter_batches(batch_size=_BATCH_ROWS):
            rows += batch.num_rows
            decoded += _expanded_nbytes(batch)
            if bounds.rows is not None and rows > bounds.rows:
                raise _too_many_rows(label, None, bounds)
            if bounds.decoded is not None and decoded > bounds.decoded:
                raise _too_large_decoded(label, None, bounds)
            batches.append(batch)
        table = pa.Table.from_batches(batches, schema=schema)
    except (pa.ArrowException, OSError, ValueError) as error:
        raise _refuse(label, f"is not a readable Parquet file: {inert(str(error))}") from None
    _check_utf8(table, label)
    return table


def _expanded_nbytes(batch: pa.RecordBatch) -> int:
    """Bytes of a batch once every dictionary column is expanded (as DuckDB expands it to check each row):
    one long text repeated in a dictionary is a few bytes to Arrow and a copy per row to the checks."""
    total = 0
    for column in batch.columns:
        if pa.types.is_dictionary(column.type):
            values = column.dictionary
            if pa.types.is_string(values.type) or pa.types.is_binary(values.type) or \
                    pa.types.is_large_string(values.type) or pa.types.is_large_binary(values.type):
                lengths = pc.binary_length(values)
                total += (pc.sum(pc.take(lengths, column.indices)).as_py() or 0) + 8 * len(column)
            else:
                total += 8 * len(column)
        else:
            total += column.nbytes
    return total


def _check_utf8(table: pa.Table, label: str) -> None:
    """Parquet text is not checked for UTF-8 by Arrow; name the first cell that is not."""
    problems = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        offset = 0
        for chunk in column.chunks:
            try:
                chunk.validate(full=True)
            except pa.ArrowInvalid:
                for index, value in enumerate(chunk.cast(pa.binary()).to_pylist()):
                    try:
                        if value is not None:
                            value.decode("utf-8")
                    except UnicodeDecodeError:
                        problems.append(Problem(label, offset + index + 1, inert(name), "is not UTF-8 text"))
                        break
                break
            offset += len(chunk)
    if problems:
        raise ImportRejected(problems)


# ---------------------------------------------------------------------------------- CSV
def _read_csv(body: bytes, text: str, label: str, bounds: Bounds, *, as_text: bool) -> pa.Table:
    _refuse_long_rows(body, label, header=True)
    if bounds.rows is not None and _text_lines(body) - 1 > bounds.rows:
        # More lines than rows allowed; values may span lines, so count the records (streamed, bounded).
        records = _count_csv_records(body, bounds.rows)
        if records is not None and records > bounds.rows:
            raise _too_many_rows(label, None, bounds)
    if body.count(b'"') % 2:  # a quote left open swallows every later row into one value: find it
        _refuse_unclosed_quote(text, label)
    types = {}
    if as_text:
        try:
            header = next(csv.reader(io.StringIO(text.lstrip("\ufeff")[:2 * MAX_ROW_BYTES])), [])
        except csv.Error as error:  # e.g. a bare carriage return inside the header line
            raise _refuse(label, f"its header line cannot be read as CSV ({error})", row=None,
                          field="header") from None
        types = {name: pa.string() for name in header}
    wrong_width = []

    def invalid(row) -> str:
        wrong_width.append(row.actual_columns)
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(body), read_options=pacsv.ReadOptions(block_size=MAX_ROW_BYTES),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=invalid),
            convert_options=pacsv.ConvertOptions(null_values=[""], strings_can_be_null=True, column_types=types))
    except pa.ArrowInvalid as error:
        if "straddl" in str(error):
            raise (_long_row(body, label, header=True)
                   or _refuse(label, f"has a row over the limit of {MAX_ROW_BYTES:,} bytes a row may take "
                                     "(a quoted value running over many lines?)")) from None
        raise _refuse(label, f"is not valid CSV: {inert(str(error))}") from None
    if wrong_width:
        raise _width_problems(text, label) or _refuse(
            label, f"has {len(wrong_width):,} rows with the wrong number of fields (one has {wrong_width[0]})")
    return table


def _count_csv_records(body: bytes, stop_over: int) -> int | None:
    """CSV records after the header, counted by streaming the first column only; None if Arrow cannot."""
    try:
        reader = pacsv.open_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(block_size=MAX_ROW_BYTES, autogenerate_column_names=True, skip_rows=1),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=lambda row: "skip"),
            convert_options=pacsv.ConvertOptions(include_columns=["f0"], column_types={"f0": pa.string()}))
        count = 0
        for batch in reader:
            count += batch.num_rows
            if count > stop_over:
                break
        return count
    except pa.ArrowInvalid:
        return None


_UNCLOSED = "has a quote that is never closed, so every later row would become part of one value"


def _refuse_unclosed_quote(text: str, label: str) -> None:
    """Arrow reads a quote left open as a value running to the end of the file; Python's strict reader says
    which record it opens in (a bare quote inside a value, which also makes the count odd, reads fine)."""
    reader = csv.reader(io.StringIO(text), strict=True)
    records = 0
    try:
        for _ in reader:
            records += 1
    except csv.Error as error:
        if "end of data" in str(error):
            raise _refuse(label, _UNCLOSED, row=records, field="record") from None


def _width_reason(found: int, expected: int) -> str:
    return (f"has {found:,} field{'' if found == 1 else 's'} where the header has {expected:,} (check for a "
            "missing comma or an unclosed quote)")


def _width_problems(text: str, label: str) -> ImportRejected | None:
    """Name the rows whose number of fields differs from the header's (Arrow does not say which)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    problems = []
    try:
        header = next(reader, [])
        row = 0
        for record in reader:
            if not record:
                continue
            row += 1
            if len(record) != len(header):
                problems.append(Problem(label, row, "record", _width_reason(len(record), len(header))))
                if len(problems) >= 20:
                    break
    except csv.Error as error:
        problems.append(Problem(label, None, "file", f"is not valid CSV: {inert(str(error))}"))
    return ImportRejected(problems) if problems else None


# ------------------------------------------------------------------------------- JSON
def _scalar(arrow_type: pa.DataType) -> bool:
    return (pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_null(arrow_type)
            or pa.types.is_boolean(arrow_type) or pa.types.is_integer(arrow_type)
            or pa.types.is_floating(arrow_type))


def _read_json(body: bytes, text: str, label: str, bounds: Bounds, text_fields: set[str]) -> pa.Table:
    """JSON lines (or a JSON array) as an Arrow table of text, numbers and true/false values only.

    Arrow reads well-formed JSON lines; anything it refuses or reads as something else (nested values,
    mixed types, a repeated key) is read again in Python, which names the row and field at fault.
    """
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            data = json.loads(stripped, object_pairs_hook=_unique_pairs)
        except _RepeatedKey as repeated:
            raise _refuse(label, "appears twice in one record", field=inert(repeated.key)) from None
        except json.JSONDecodeError as error:
            raise _refuse(label, f"is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})") \
                from None
        if bounds.rows is not None and isinstance(data, list) and len(data) > bounds.rows:
            raise _too_many_rows(label, len(data), bounds)
        return _records_table(label, data if isinstance(data, list) else [data], text_fields)
    _refuse_long_rows(body, label, header=False)
    if bounds.rows is not None:
        lines = _text_lines(body)
        if lines > bounds.rows:
            blank = sum(1 for _ in re.finditer(rb"\n[ \t\r]*(?=\n)", body.strip()))
            if lines - blank > bounds.rows:
                raise _too_many_rows(label, lines - blank, bounds)
    table = None
    try:
        table = pajson.read_json(io.BytesIO(body), read_options=pajson.ReadOptions(block_size=MAX_ROW_BYTES))
        dated = [f.name for f in table.schema if pa.types.is_timestamp(f.type) or pa.types.is_date(f.type)]
        if dated:  # Arrow reads ISO dates as timestamps; the file holds text, so keep the text
            table = pajson.read_json(io.BytesIO(body), read_options=pajson.ReadOptions(block_size=MAX_ROW_BYTES),
                                     parse_options=pajson.ParseOptions(
                                         explicit_schema=pa.schema([(name, pa.string()) for name in dated])))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        table = None
    if table is not None and all(_scalar(f.type) for f in table.schema) and all(
            pa.types.is_string(f.type) or pa.types.is_null(f.type) for f in table.schema if f.name in text_fields):
        return table
    try:  # one object over several lines; JSON lines fail at once, on the second record
        records = [json.loads(stripped, object_pairs_hook=_unique_pairs)]
    except (json.JSONDecodeError, _RepeatedKey):
        records = _json_line_records(label, stripped.split("\n"))
    return _records_table(label, records, text_fields)


_WORDS = {str: "text", bool: "true/false", int: "a number", float: "a number", dict: "a JSON object",
          list: "a JSON list", type(None): "null"}


def _records_table(label: str, records: list, text_fields: set[str]) -> pa.Table:
    """Parsed JSON records as columns; refuses non-objects, nested values and a column mixing types."""
    if not records:
        raise _refuse(label, "holds no records")
    problems = [Problem(label, i, "record", f"is {_WORDS.get(type(r), 'a JSON value')}, not a JSON object")
                for i, r in enumerate(records, 1) if not isinstance(r, dict)][:20]
    if problems:
        raise ImportRejected(problems)
    names = list(dict.fromkeys(key for record in records for key in record))
    columns = {}
    for name in names:
        values = [record.get(name) for record in records]
        if name in text_fields:
            values = [v if v is None or isinstance(v, str)
                      else json.dumps(v, ensure_ascii=False, separators=(",", ":")) for v in values]
        column, problem = _json_column(label, name, values)
        if problem:
            problems.append(problem)
        else:
            columns[name] = column
    if problems:
        raise ImportRejected(problems)
    return pa.table(columns)


def _json_column(label: str, name: str, values: list) -> tuple[pa.Array | None, Problem | None]:
    kinds = set(map(type, values)) - {type(None)}
    if not kinds:
        return pa.nulls(len(values)), None
    if kinds <= {str}:
        return pa.array(values, pa.string()), None
    if kinds <= {bool}:
        return pa.array(values, pa.bool_()), None
    if kinds <= {int, float}:
        try:
            return pa.array(values, pa.float64() if float in kinds else None), None
        except (OverflowError, pa.ArrowInvalid):  # an integer beyond 64 bits: read the column as floats
            floats = []
            for row, value in enumerate(values, 1):
                try:
                    floats.append(None if value is None else float(value))
                except OverflowError:
                    return None, Problem(label, row, inert(name), f"is too large a number ({shown(value)})")
            return pa.array(floats, pa.float64()), None
    group = {str: "text", bool: "bool", int: "number", float: "number"}
    for row, value in enumerate(values, 1):
        if isinstance(value, (dict, list)):
            return None, Problem(label, row, inert(name), f"holds {_WORDS[type(value)]}; expected text, a number "
                                                          "or true/false (nested values are not read)")
    first = next((i, v) for i, v in enumerate(values, 1) if v is not None)
    for row, value in enumerate(values, 1):
        if value is not None and group[type(value)] != group[type(first[1])]:
            return None, Problem(label, row, inert(name),
                                 f"is {_WORDS[type(value)]} ({shown(value)}), but row {first[0]} holds "
                                 f"{_WORDS[type(first[1])]}; every row must give a field values of one type "
                                 "(quote numbers meant as text)")
    return None, Problem(label, None, inert(name), "holds values of mixed types")
