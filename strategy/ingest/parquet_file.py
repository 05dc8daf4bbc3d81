"""Parquet: the rows counted from the file's metadata and the bytes it decodes to bounded batch by batch,
before the table is materialised (Parquet compresses, so its size on disk bounds nothing).
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from strategy.errors import ImportRejected, Problem
from strategy.ingest.display import inert
from strategy.ingest.limits import Bounds
from strategy.ingest.reading import refusal, too_large_decoded, too_many_rows

# ------------------------------------------------------------------------------ Parquet
_BATCH_ROWS = 65_536


def read_parquet(raw: bytes, label: str, bounds: Bounds) -> pa.Table:
    """Rows counted from the metadata and bytes decoded batch by batch, each against its limit, so a
    small file of many millions of rows is refused before it is decompressed."""
    try:
        parquet = pq.ParquetFile(io.BytesIO(raw))
        meta, schema = parquet.metadata, parquet.schema_arrow
    except (pa.ArrowException, OSError, ValueError) as error:
        raise refusal(label, f"is not a readable Parquet file: {inert(str(error))}") from None
    if bounds.rows is not None and meta.num_rows > bounds.rows:
        raise too_many_rows(label, meta.num_rows, bounds)
    declared = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if bounds.decoded is not None and declared > bounds.decoded:
        raise too_large_decoded(label, declared, bounds)
    batches, rows, decoded = [], 0, 0
    try:
        for batch in parquet.iter_batches(batch_size=_BATCH_ROWS):
            rows += batch.num_rows
            decoded += _expanded_nbytes(batch)
            if bounds.rows is not None and rows > bounds.rows:
                raise too_many_rows(label, None, bounds)
            if bounds.decoded is not None and decoded > bounds.decoded:
                raise too_large_decoded(label, None, bounds)
            batches.append(batch)
        table = pa.Table.from_batches(batches, schema=schema)
    except (pa.ArrowException, OSError, ValueError) as error:
        raise refusal(label, f"is not a readable Parquet file: {inert(str(error))}") from None
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
