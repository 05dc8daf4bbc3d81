"""JSON lines (and a JSON array of records): repeated keys refused, every value checked against its
column's kind, so a mixed column is named instead of silently read as text.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.json as pajson

from strategy.errors import ImportRejected, Problem
from strategy.ingest.display import inert, shown
from strategy.ingest.limits import MAX_ROW_BYTES, Bounds
from strategy.ingest.reading import refusal, refuse_long_rows, text_lines, too_many_rows


class RepeatedKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def unique_pairs(pairs: list[tuple[str, object]]) -> dict:
    record = dict(pairs)
    if len(record) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise RepeatedKey(key)
            seen.add(key)
    return record


def json_line_records(label: str, lines: Iterable[str]) -> list:
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
            records.append(json.loads(line, object_pairs_hook=unique_pairs))
        except RepeatedKey as repeated:
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


# ------------------------------------------------------------------------------- JSON
def _scalar(arrow_type: pa.DataType) -> bool:
    return (pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_null(arrow_type)
            or pa.types.is_boolean(arrow_type) or pa.types.is_integer(arrow_type)
            or pa.types.is_floating(arrow_type))


def read_json(body: bytes, text: str, label: str, bounds: Bounds, text_fields: set[str]) -> pa.Table:
    """JSON lines (or a JSON array) as an Arrow table of text, numbers and true/false values only.

    Arrow reads well-formed JSON lines; anything it refuses or reads as something else (nested values,
    mixed types, a repeated key) is read again in Python, which names the row and field at fault.
    """
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            data = json.loads(stripped, object_pairs_hook=unique_pairs)
        except RepeatedKey as repeated:
            raise refusal(label, "appears twice in one record", field=inert(repeated.key)) from None
        except json.JSONDecodeError as error:
            raise refusal(label, f"is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})") \
                from None
        if bounds.rows is not None and isinstance(data, list) and len(data) > bounds.rows:
            raise too_many_rows(label, len(data), bounds)
        return _records_table(label, data if isinstance(data, list) else [data], text_fields)
    refuse_long_rows(body, label, header=False)
    if bounds.rows is not None:
        lines = text_lines(body)
        if lines > bounds.rows:
            blank = sum(1 for _ in re.finditer(rb"\n[ \t\r]*(?=\n)", body.strip()))
            if lines - blank > bounds.rows:
                raise too_many_rows(label, lines - blank, bounds)
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
        records = [json.loads(stripped, object_pairs_hook=unique_pairs)]
    except (json.JSONDecodeError, RepeatedKey):
        records = json_line_records(label, stripped.split("\n"))
    return _records_table(label, records, text_fields)


_WORDS = {str: "text", bool: "true/false", int: "a number", float: "a number", dict: "a JSON object",
          list: "a JSON list", type(None): "null"}


def nested_value(label: str, row: int | None, name: str, kind: type) -> Problem:
    """The problem of a field holding an object or a list (``kind``: dict or list), which no metric reads."""
    return Problem(label, row, inert(name), f"holds {_WORDS[kind]}; expected text, a number or true/false (nested "
                                            "values are not read)")


def _records_table(label: str, records: list, text_fields: set[str]) -> pa.Table:
    """Parsed JSON records as columns; refuses non-objects, nested values and a column mixing types."""
    if not records:
        raise refusal(label, "holds no records")
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
            return None, nested_value(label, row, name, type(value))
    first = next((i, v) for i, v in enumerate(values, 1) if v is not None)
    for row, value in enumerate(values, 1):
        if value is not None and group[type(value)] != group[type(first[1])]:
            return None, Problem(label, row, inert(name),
                                 f"is {_WORDS[type(value)]} ({shown(value)}), but row {first[0]} holds "
                                 f"{_WORDS[type(first[1])]}; every row must give a field values of one type "
                                 "(quote numbers meant as text)")
    return None, Problem(label, None, inert(name), "holds values of mixed types")
