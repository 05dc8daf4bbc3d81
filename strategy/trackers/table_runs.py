"""Runs from a table: CSV, Parquet or JSON lines with any column names (ClearML's and Aim's exports, the CSV that
W&B's runs table downloads, a team's own spreadsheet).

Each row is a run and each column a key the mapping can name. A few columns are understood without mapping,
matched ignoring case: the run's id (``run_id``, ``id``, ``run id``; else ``name``, as W&B's export has no id
column), its name, its state (``state``, ``status``: W&B writes ``finished``, ``crashed``…) and its tags
(``tags``, comma-separated). The table is read with the bounds of any outcome file, every cell as text.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import pyarrow as pa

from strategy.ingest import file_bounds, read_data_file, upload_limit_bytes
from strategy.trackers.runs import FINISHED, TrackedRun

ID_COLUMNS = ("run_id", "run id", "id", "runid", "run")
NAME_COLUMNS = ("name", "run_name", "run name", "display name")
STATE_COLUMNS = ("state", "status")
TAG_COLUMNS = ("tags",)


def _column(names: list[str], wanted: tuple[str, ...]) -> str | None:
    folded = {name.lower(): name for name in names}
    return next((folded[w] for w in wanted if w in folded), None)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_run_table(source: str | Path | IO[bytes], *, label: str | None = None,
                   size: int | None = None) -> tuple[str, list[TrackedRun]]:
    """The file's label and its rows as runs. A row without an id keeps an empty run id: it is then known by
    its content, as an outcome file's row without a run id is."""
    label, table = read_data_file(source, label=label, size=size, limit=upload_limit_bytes(), bounds=file_bounds(),
                                  text_csv=True)
    return label, runs_of_table(table)


def runs_of_table(table: pa.Table) -> list[TrackedRun]:
    names = table.column_names
    id_column = _column(names, ID_COLUMNS)
    name_column = _column(names, NAME_COLUMNS)
    id_column = id_column or name_column
    state_column, tag_column = _column(names, STATE_COLUMNS), _column(names, TAG_COLUMNS)
    runs = []
    for row in table.to_pylist():
        cells = {key: _text(value) for key, value in row.items()}
        tags = {tag.strip(): "" for tag in cells.get(tag_column, "").split(",") if tag.strip()} if tag_column else {}
        state = cells.get(state_column, "").upper() if state_column else ""
        params = {key: value for key, value in cells.items() if value != "" and key != tag_column}
        runs.append(TrackedRun(run_id=cells.get(id_column, "") if id_column else "",
                               name=cells.get(name_column, "") if name_column else "",
                               state=state or FINISHED, params=params, tags=tags))
    return runs
