"""CSV: rows counted from the text before Arrow parses it, and a broken row (an unclosed quote, a row of
another width) located and named instead of Arrow's offset.
"""

from __future__ import annotations

import csv
import io

import pyarrow as pa
import pyarrow.csv as pacsv

from strategy.errors import ImportRejected, Problem
from strategy.ingest.display import inert
from strategy.ingest.limits import MAX_ROW_BYTES, Bounds
from strategy.ingest.reading import long_row, refusal, refuse_long_rows, text_lines, too_many_rows

# Python's csv module (used only to locate a broken row) must read fields as long as Arrow does.
csv.field_size_limit(max(csv.field_size_limit(), 2 * MAX_ROW_BYTES))


# ---------------------------------------------------------------------------------- CSV
def read_csv(body: bytes, text: str, label: str, bounds: Bounds, *, as_text: bool) -> pa.Table:
    refuse_long_rows(body, label, header=True)
    if bounds.rows is not None and text_lines(body) - 1 > bounds.rows:
        # More lines than rows allowed; values may span lines, so count the records (streamed, bounded).
        records = _count_csv_records(body, bounds.rows)
        if records is not None and records > bounds.rows:
            raise too_many_rows(label, None, bounds)
    if body.count(b'"') % 2:  # a quote left open swallows every later row into one value: find it
        _refuse_unclosed_quote(text, label)
    types = {}
    if as_text:
        try:
            header = next(csv.reader(io.StringIO(text.lstrip("\ufeff")[:2 * MAX_ROW_BYTES])), [])
        except csv.Error as error:  # e.g. a bare carriage return inside the header line
            raise refusal(label, f"its header line cannot be read as CSV ({error})", row=None,
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
            raise (long_row(body, label, header=True)
                   or refusal(label, f"has a row over the limit of {MAX_ROW_BYTES:,} bytes a row may take "
                                     "(a quoted value running over many lines?)")) from None
        raise refusal(label, f"is not valid CSV: {inert(str(error))}") from None
    if wrong_width:
        raise _width_problems(text, label) or refusal(
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


UNCLOSED = "has a quote that is never closed, so every later row would become part of one value"


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
            raise refusal(label, UNCLOSED, row=records, field="record") from None


def width_reason(found: int, expected: int) -> str:
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
                problems.append(Problem(label, row, "record", width_reason(len(record), len(header))))
                if len(problems) >= 20:
                    break
    except csv.Error as error:
        problems.append(Problem(label, None, "file", f"is not valid CSV: {inert(str(error))}"))
    return ImportRejected(problems) if problems else None
