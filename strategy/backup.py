"""Backups: the whole catalog as one Parquet file per table plus a manifest, and restoring one into an empty
catalog. Works the same on an embedded file and on a lake, and between them.

A restore trusts nothing in the folder. The manifest must name every table its schema version has, with a
whole row count for each; every file must hold exactly that many rows, with the columns and types of its
table at that version. The rows are then loaded into a scratch in-memory catalog built by the same
migrations, brought up to the current schema there (with the row fixes of later versions), and checked as
every other write path checks them: each row through its table's model, ids and task names unique, task
references known. Only then are they written, in one transaction. One problem and nothing is written; the
message names the file, the row (counted from 1), the field and the reason.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ValidationError, field_validator

from strategy import __version__
from strategy.access import Permission
from strategy.catalog import MIGRATIONS, TABLES, Catalog
from strategy.errors import CatalogError, ImportRejected, Problem
from strategy.models import Name, Recommendation, Record, ShortText, describe_errors, new_id, utc_now
from strategy.store.mechanism import is_out_of_space
from strategy.store.schema import AUDIT_RENAMES
from strategy.store.tasks import duplicate_names

MANIFEST = "manifest.json"
FORMAT = "strategy.backup/1"
# A manifest is a few hundred bytes; anything far larger is not one, and is not read into memory.
MANIFEST_LIMIT = 1_000_000
# The file row number each scratch row came from; no table of ours has a column of that name.
ROW = "backup_row__"
# Types of a file's column that may be put into a CAST back (DuckDB's own spelling of plain types only).
_PLAIN_TYPE = re.compile(r"^[A-Z][A-Z0-9_ ]*(\(\d+(, ?\d+)?\))?(\[\])*$")
# Which attribute of a Recommendation each queryable column of the recommendations table repeats.
_RECOMMENDATION_ATTRIBUTES = {"expected_value": ("expected_metric", "value"), "expected_low": ("expected_metric", "low"),
                              "expected_high": ("expected_metric", "high"), "snapshot_id": ("snapshot",)}
_MISSING = object()


class ModelStateRow(Record):
    """A row of model_state as its writer (Catalog.save_model_state) makes it: the payload is a JSON object."""

    id: str
    kind: Name
    version: ShortText
    payload_json: str
    created_by: Name
    created_at: datetime

    @field_validator("payload_json")
    @classmethod
    def _json_object(cls, text: str) -> str:
        try:
            parsed = json.loads(text)
        except ValueError:
            raise ValueError("is not valid JSON") from None
        if not isinstance(parsed, dict):
            raise ValueError("must be a JSON object")
        return text


# ------------------------------------------------------------------------------------------------ backup
def backup(catalog: Catalog, folder: str | os.PathLike) -> dict:
    """Write a consistent snapshot of every table (one read transaction) into a new or empty folder.

    Files are written under temporary names and renamed at the end, the manifest last, so a folder with a
    manifest always holds a whole backup. On any failure (a full disk, a damaged catalog) every file written
    and the folder, if this made it, are removed. Returns the manifest."""
    catalog.acting(Permission.ADMINISTER_THE_CATALOG)
    target = Path(folder)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise CatalogError(f"Backup folder {target} already exists and is not empty; choose a new folder.")
    made_folders = [parent for parent in [target, *target.parents] if not parent.exists()]
    written: list[Path] = []
    try:
        target.mkdir(parents=True, exist_ok=True)
        rows = {}
        with catalog.reading() as view:
            for table in TABLES:
                with view.cursor() as cur:
                    data = cur.execute(f"SELECT * FROM {table} ORDER BY id").to_arrow_table()
                part = target / f".{table}.parquet.part"
                written.append(part)
                pq.write_table(data, part)
                rows[table] = data.num_rows
            schema_version = view.schema_version
            snapshot = view.pinned_snapshot
        manifest = {"format": FORMAT, "schema_version": schema_version, "rows": rows,
                    "created_at": utc_now().isoformat(), "created_by": catalog.actor, "source": catalog.label,
                    "backend": catalog.backend, "snapshot": snapshot, "strategy_version": __version__}
        manifest_part = target / f".{MANIFEST}.part"
        written.append(manifest_part)
        manifest_part.write_text(json.dumps(manifest, indent=2))
        for table in TABLES:
            final = target / f"{table}.parquet"
            written.append(final)
            (target / f".{table}.parquet.part").replace(final)
        written.append(target / MANIFEST)
        manifest_part.replace(target / MANIFEST)  # last: from here on the folder holds a whole backup
    except BaseException as error:
        _remove(written, made_folders)
        if isinstance(error, OSError | pa.ArrowException | duckdb.Error):
            if is_out_of_space(error):
                raise CatalogError(f"No space left on device while writing the backup to {target}; the backup "
                                   "is incomplete and was removed. Free some space and try again.") from None
            raise CatalogError(f"Could not write the backup to {target} ({error}); the backup is incomplete and "
                               "was removed.") from None
        raise
    return manifest


def _remove(files: list[Path], folders: list[Path]) -> None:
    """Take back a backup that did not finish: its files, then the folders it created (innermost first)."""
    for path in files:
        with suppress(OSError):
            path.unlink(missing_ok=True)
    for folder in folders:
        with suppress(OSError):
            folder.rmdir()


# ------------------------------------------------------------------------------------------------ manifest
def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def read_manifest(folder: str | os.PathLike) -> dict:
    """The manifest of a backup folder, with its keys checked: a one-line refusal names the file and the key."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise CatalogError(f"{folder} is not a backup: it has no {MANIFEST}. Nothing was restored.")
    try:
        size = path.stat().st_size
        if size > MANIFEST_LIMIT:
            raise CatalogError(f"{path} is {size:,} bytes, far more than a backup manifest holds. Nothing was "
                               "restored.")
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CatalogError(f"{path} cannot be read as a backup manifest ({error}). Nothing was restored.") from None
    if not isinstance(manifest, dict):
        raise CatalogError(f"{path} must hold a JSON object (it holds a {type(manifest).__name__}). "
                           "Nothing was restored.")
    if manifest.get("format") != FORMAT:
        raise CatalogError(f"{path}, key 'format': must be {FORMAT!r} (got {_shown(manifest.get('format'))}); "
                           f"this is not a {FORMAT} manifest. Nothing was restored.")
    problems = []
    version = manifest.get("schema_version", _MISSING)
    if version is _MISSING:
        problems.append(("schema_version", "is missing"))
    elif not _whole(version) or version < 1:
        problems.append(("schema_version", f"must be a whole number, 1 or more (got {_shown(version)})"))
    rows = manifest.get("rows", _MISSING)
    if rows is _MISSING:
        problems.append(("rows", "is missing"))
    elif not isinstance(rows, dict):
        problems.append(("rows", f"must be an object of table name to row count (got a {type(rows).__name__})"))
    else:
        problems += [(f"rows.{table}", f"must be a whole number of rows, 0 or more (got {_shown(count)})")
                     for table, count in rows.items() if not _whole(count) or count < 0]
    created = manifest.get("created_at", _MISSING)
    if created is _MISSING:
        problems.append(("created_at", "is missing"))
    elif not isinstance(created, str) or _when(created) is None:
        problems.append(("created_at", f"must be a date and time such as 2025-01-31T09:30:00 (got {_shown(created)})"))
    if problems:
        listed = "; ".join(f"key {key!r} {reason}" for key, reason in problems)
        raise CatalogError(f"{path}: {listed}. Nothing was restored.")
    return manifest


def _when(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


# ------------------------------------------------------------------------------------------------ restore
def restore(catalog: Catalog, folder: str | os.PathLike) -> dict[str, int]:
    """Load a backup into an empty catalog in one transaction, committed only when every row passed the
    checks of every other write path and every table's row count matches the manifest. Returns the rows
    restored per table."""
    actor = catalog.acting(Permission.ADMINISTER_THE_CATALOG)
    source = Path(folder)
    manifest = read_manifest(source)
    version = manifest["schema_version"]
    if version > catalog.schema_version:
        raise CatalogError(f"{source / MANIFEST}, key 'schema_version': the backup has schema version {version}; "
                           f"this catalog is at {catalog.schema_version}. Upgrade strategy first. Nothing was restored.")
    catalog.require_empty("restore", "Nothing was restored.")
    with _scratch(version) as scratch:
        tables = _tables(scratch)
        _check_listed(source / MANIFEST, manifest["rows"], tables, version)
        problems = []
        for table in tables:
            problems += _load(scratch, table, source / f"{table}.parquet", manifest["rows"][table], version)
        if problems:
            raise ImportRejected(problems)
        for number, _, statements in MIGRATIONS:  # up to the current schema, with later versions' row fixes
            if number > version:
                for statement in statements:
                    scratch.execute(statement)
        for table in TABLES:  # a table younger than the backup is empty, and needs the row numbers too
            if ROW not in _columns(scratch, table):
                scratch.execute(f"ALTER TABLE {table} ADD COLUMN {ROW} BIGINT")
        problems = _check_rows(catalog, scratch)
        if problems:
            raise ImportRejected(problems)
        loaded = {table: scratch.execute(f"SELECT * EXCLUDE ({ROW}) FROM {table} ORDER BY {ROW}").to_arrow_table()
                  for table in TABLES}
    expected = {table: manifest["rows"].get(table, 0) for table in TABLES}
    with catalog.transaction() as cur:
        occupied = {table: rows for table in TABLES
                    if (rows := cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0])}
        if occupied:  # written by someone else since the check above
            listed = ", ".join(f"{rows} {table}" for table, rows in occupied.items())
            raise CatalogError(f"{catalog.label} is not empty ({listed}); restore only into an empty catalog. "
                               "Nothing was restored.")
        catalog.lock_task_names(cur)
        for table, data in loaded.items():
            if data.num_rows:
                catalog.append_frame(cur, table, data)
        found = {table: cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}
        if found != expected:
            raise CatalogError(f"The restored row counts {found} differ from the manifest. Nothing was restored.")
        catalog.audit(cur, actor, "restore", "catalog", [new_id()],
                       {"from": str(source), "rows": found, "backup_created_at": manifest["created_at"]})
    return found


@contextmanager
def _scratch(version: int) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory catalog built by the migrations up to ``version``: the schema the backup was taken at."""
    scratch = duckdb.connect()
    try:
        for number, _, statements in MIGRATIONS:
            if number <= version:
                for statement in statements:
                    scratch.execute(statement)
        yield scratch
    finally:
        scratch.close()


def _tables(scratch) -> list[str]:
    """The tables of ours that exist in this scratch catalog, in TABLES order."""
    present = {row[0] for row in scratch.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    return [table for table in TABLES if table in present]


def _columns(scratch, table: str) -> dict[str, str]:
    return dict(scratch.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' "
        "AND table_name = ? ORDER BY ordinal_position", [table]).fetchall())


def _check_listed(path: Path, rows: dict, tables: list[str], version: int) -> None:
    unknown = sorted(set(rows) - set(tables))
    missing = [table for table in tables if table not in rows]
    problems = []
    if unknown:
        problems.append(f"names unknown table(s) {', '.join(repr(t) for t in unknown)}")
    if missing:
        problems.append(f"has no row count for table(s) {', '.join(missing)}, which every backup of schema "
                        f"version {version} holds")
    if problems:
        raise CatalogError(f"{path}, key 'rows': {'; '.join(problems)}. Nothing was restored.")


def _load(scratch, table: str, path: Path, expected: int, version: int) -> list[Problem]:
    """Put one file into its scratch table, numbering its rows. A file that cannot be read or holds another
    number of rows than the manifest says is refused at once; columns the table does not have (or lacks), and
    values its column types cannot hold, are returned as problems."""
    label = path.name
    try:
        file = pq.ParquetFile(path)
        try:
            # The count is in the file's footer: a file with the wrong number of rows is refused unread.
            if file.metadata.num_rows != expected:
                raise CatalogError(f"{path} holds {file.metadata.num_rows} rows; the manifest says {expected}. "
                                   "Nothing was restored.")
            data = file.read()
        finally:
            file.close()
    except (OSError, ValueError, pa.ArrowException) as error:
        raise CatalogError(f"{path} cannot be read as Parquet ({error}). Nothing was restored.") from None
    columns = _columns(scratch, table)
    names = data.column_names
    problems = [Problem(label, None, name, "appears more than once") for name in sorted(set(names))
                if names.count(name) > 1]
    problems += [Problem(label, None, name, f"is not a column of the {table} table at schema version {version}")
                 for name in names if name not in columns]
    problems += [Problem(label, None, name, f"is missing: every {table} file of schema version {version} has it")
                 for name in columns if name not in names]
    if problems:
        return problems
    scratch.execute(f"ALTER TABLE {table} ADD COLUMN {ROW} BIGINT")
    scratch.register("incoming_backup", data.append_column(ROW, pa.array(np.arange(1, data.num_rows + 1))))
    try:
        given = {row[0]: row[1] for row in scratch.execute("DESCRIBE SELECT * FROM incoming_backup").fetchall()}
        for column, wanted in columns.items():
            if given[column] != wanted:
                problems += _mistyped(scratch, label, column, given[column], wanted)
        if problems:
            return problems
        listed = ", ".join(f'"{column}"' for column in columns)
        cast = ", ".join(f'CAST("{column}" AS {kind})' for column, kind in columns.items())
        scratch.execute(f"INSERT INTO {table} ({listed}, {ROW}) SELECT {cast}, {ROW} FROM incoming_backup")
    finally:
        scratch.unregister("incoming_backup")
    return []


def _mistyped(scratch, label: str, column: str, given: str, wanted: str) -> list[Problem]:
    """Rows whose value in this column its table's type cannot hold unchanged (a fraction in a count, text in a
    number, a number too large); the first few are named."""
    if not _PLAIN_TYPE.match(given):
        return [Problem(label, None, column, f"has type {given}; the column holds {wanted}")]
    changed = (f'TRY_CAST("{column}" AS {wanted}) IS NULL OR '
               f'CAST(TRY_CAST("{column}" AS {wanted}) AS {given}) IS DISTINCT FROM "{column}"')
    found = scratch.execute(
        f'SELECT {ROW}, CAST("{column}" AS VARCHAR) FROM incoming_backup WHERE "{column}" IS NOT NULL AND ({changed}) '
        f"ORDER BY {ROW} LIMIT 5").fetchall()
    return [Problem(label, row, column, f"cannot be stored as {wanted} without change (got {_shown(value)})")
            for row, value in found]


# ------------------------------------------------------------------------------------------------ row checks
def _check_rows(catalog: Catalog, scratch) -> list[Problem]:
    """Every row of every table checked as the write paths check it; returns the problems found."""
    problems, records = [], {}
    for table in TABLES:
        label = f"{table}.parquet"
        query = scratch.execute(f"SELECT * EXCLUDE ({ROW}) FROM {table} ORDER BY {ROW}")
        names = [column[0] for column in query.description]
        rows = [dict(zip(names, values, strict=True)) for values in query.fetchall()]
        model = TABLES[table]
        check = (functools.partial(_recommendation, label) if table == "recommendations" else
                 _validator(ModelStateRow if model is None else model, table))
        checked = [check(position, row) for position, row in enumerate(rows, start=1)]
        records[table] = [record for record, _ in checked]
        problems += [problem for _, found in checked for problem in found]
    if problems:
        return problems
    # The integrity a constraint would give, by the catalog's own checks: ids unique in each table, task names
    # unique ignoring case, task references known (against the backup's own tasks, in the scratch catalog).
    with catalog.cursor() as target:
        for table, listed in records.items():
            problems += _relabel(_refused(catalog.check_new_ids, target, table, listed), table)
        problems += _relabel(duplicate_names(records["tasks"], "tasks"), "tasks")
        problems += _relabel(_refused(catalog.check_new_names, target, records["tasks"]), "tasks")
    for table, listed in records.items():
        if table != "tasks":
            problems += _relabel(_refused(catalog.check_task_ids, scratch, table, listed), table)
    return problems


def _refused(check, *args) -> list[Problem]:
    try:
        check(*args)
    except ImportRejected as rejected:
        return list(rejected.problems)
    return []


def _relabel(problems: list[Problem], table: str) -> list[Problem]:
    return [replace(problem, source=f"{table}.parquet") for problem in problems]


def _added_later() -> set[tuple[str, str]]:
    """(table, column) of every column a migration added to an existing table: rows older than that migration
    hold NULL there in any catalog, and so in its backups."""
    added = set()
    for number, _, statements in MIGRATIONS:
        for statement in statements:
            found = re.match(r"ALTER TABLE (\w+) ADD COLUMN (\w+)", statement)
            if number > 1 and found:
                added.add((found[1], found[2]))
    return added


def _validator(model: type[BaseModel], table: str):
    """A check of one stored row through its table's model. A NULL in a column a migration added takes the
    field's default (as the rows written before it have); any other NULL goes to the model, which refuses it
    unless the field may be empty."""
    label = f"{table}.parquet"
    renames = {column: field for field, column in AUDIT_RENAMES.items()} if table == "audit_log" else {}
    back = {field: column for column, field in renames.items()}
    defaulted = {column for added_to, column in _added_later() if added_to == table}

    def check(position: int, row: dict) -> tuple[BaseModel | None, list[Problem]]:
        values = {renames.get(column, column): value for column, value in row.items()
                  if value is not None or column not in defaulted}
        try:
            return model.model_validate(values), []
        except ValidationError as error:
            return None, [Problem(label, position, back.get(field, field), reason)
                          for field, reason in describe_errors(error)]
    return check


def _recommendation(label: str, position: int, row: dict) -> tuple[Recommendation | None, list[Problem]]:
    """A stored recommendation: its JSON must be a valid Recommendation and the queryable columns beside it
    must say the same (the portfolio reads the columns), and its fit JSON must parse."""
    problems = []
    fit = row.get("fit_json")
    if fit is not None:
        try:
            json.loads(fit)
        except ValueError:
            problems.append(Problem(label, position, "fit_json", "is not valid JSON"))
    payload = row.get("payload_json")
    if not isinstance(payload, str):
        return None, [*problems, Problem(label, position, "payload_json", "is required")]
    try:
        recommendation = Recommendation.model_validate_json(payload)
    except ValidationError as error:
        return None, [*problems, *(Problem(label, position, "payload_json" if field == "record" else
                                           f"payload_json.{field}", reason)
                                   for field, reason in describe_errors(error))]
    for column, value in row.items():
        path = _RECOMMENDATION_ATTRIBUTES.get(column, (column,))
        if column in ("payload_json", "fit_json") or path[0] not in Recommendation.model_fields:
            continue
        said = recommendation
        for attribute in path:
            said = getattr(said, attribute)
        if not _same(value, said):
            problems.append(Problem(label, position, column, f"is {_shown(value)} but its payload_json says "
                                                             f"{_shown(said)}"))
    return (None if problems else recommendation), problems


def _empty(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _same(stored, said) -> bool:
    if _empty(stored) or _empty(said):
        return _empty(stored) and _empty(said)
    if isinstance(stored, bool) or isinstance(said, bool):
        return stored is said
    if isinstance(stored, int | float) and isinstance(said, int | float):
        return stored == said or math.isclose(stored, said, rel_tol=1e-12)
    return stored == said
