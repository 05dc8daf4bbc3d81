"""Outcome and sample files: a CSV, Parquet or JSON-lines file, recognised by its name or its first bytes,
read into an Arrow table within its bounds by the reader of its format.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO

import pyarrow as pa

from strategy.ingest.csv_file import read_csv
from strategy.ingest.json_file import read_json
from strategy.ingest.limits import Bounds, decoded_limit_bytes
from strategy.ingest.parquet_file import read_parquet
from strategy.ingest.reading import UPLOAD_LIMIT_WORDS, decode_utf8, read_bytes, refusal

_BOM = b"\xef\xbb\xbf"


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
        raise refusal(label, "is empty")
    fmt = _format_of(label, body[:64])
    if fmt == "parquet":
        table = read_parquet(raw, label, bounds)
    else:
        text = decode_utf8(raw, label)
        if fmt == "csv":
            table = read_csv(body, text, label, bounds, as_text=text_csv)
        else:
            table = read_json(body, text, label, bounds, set(text_fields))
    table = table.rename_columns([str(c).strip() for c in table.column_names])
    if table.num_rows == 0:
        raise refusal(label, "has no rows" if fmt == "parquet" else "has a header but no rows")
    return label, table
