"""The team-scale backend: DuckLake with its catalog in PostgreSQL and its data as Parquet files.

Everything here is about reaching a lake (finding the extensions in their pip packages, attaching, keeping
it tidy); the schema, queries and writes are the catalog's and are the same on both backends.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import tempfile
from pathlib import Path

import duckdb

from strategy.errors import CatalogError

LAKE_PREFIX = "ducklake:"
DATA_PATH_ENV = "STRATEGY_DATA_PATH"
# The name the lake is attached under; every query runs with it as the default database.
ALIAS = "lake"
# Inserts of up to this many rows are kept in PostgreSQL rather than as a Parquet file each, so one outcome
# from a form is one small catalog write; `strategy maintain` moves them to Parquet later.
INLINE_ROWS = 500
# The extension packages and the name DuckDB gives each extension's entry point; httpfs lets the data path be
# an object store (s3://, gs://, https://).
EXTENSIONS = {"ducklake": ("duckdb_extension_ducklake", "ducklake"),
              "postgres": ("duckdb_extension_postgres", "postgres_scanner"),
              "httpfs": ("duckdb_extension_httpfs", "httpfs")}
INSTALL_HINT = "Install the team-scale extras with: pip install -e '.[lake]'"

# Addresses and data paths come from deployment settings, and ATTACH takes no parameters, so they are
# checked against a plain character set before they are quoted into the statement.
_SAFE_TEXT = re.compile(r"^[^'\"\\\x00-\x1f\x7f;]+$")
_SECRET = re.compile(r"(password\s*=\s*)(\S+)", re.IGNORECASE)


def is_lake(location: str) -> bool:
    return str(location).startswith(LAKE_PREFIX)


def redact(location: str) -> str:
    """The address as it may be shown: a password in it is masked."""
    return _SECRET.sub(r"\1***", str(location))


def _literal(text: str, what: str) -> str:
    if not _SAFE_TEXT.match(text):
        raise CatalogError(
            f"The {what} {redact(text)!r} has a character a catalog address cannot hold (a quote, backslash, "
            "semicolon or control character); nothing was opened.")
    return f"'{text}'"


def _extension_file(package: str, entry: str) -> Path:
    """The extension binary inside its pip package, under the file name DuckDB's loader expects.

    The postgres wheel ships ``postgres.duckdb_extension`` while its entry point is ``postgres_scanner``, and
    DuckDB derives the entry point from the file name; a copy with the right name is kept in a cache folder.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise CatalogError(f"A DuckLake catalog needs the {package} package, which is not installed. {INSTALL_HINT}")
    root = Path(next(iter(spec.submodule_search_locations))) / "extensions" / f"v{duckdb.__version__}"
    found = sorted(root.glob("*.duckdb_extension"))
    if not found:
        raise CatalogError(f"{package} has no extension built for DuckDB {duckdb.__version__}. {INSTALL_HINT}")
    source = found[0]
    if source.stem == entry:
        return source
    cache = Path(tempfile.gettempdir()) / f"strategy-duckdb-extensions-{duckdb.__version__}"
    target = cache / f"{entry}.duckdb_extension"
    if not target.exists() or target.stat().st_size != source.stat().st_size:
        cache.mkdir(parents=True, exist_ok=True)
        partial = cache / f".{entry}.{os.getpid()}.part"
        shutil.copyfile(source, partial)
        partial.replace(target)  # atomic, so processes starting together never load half a file
    return target


def connect(location: str, *, data_path: str | None = None, snapshot: int | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the lake attached (at a snapshot, read-only, when one is given) and in use."""
    connection = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        for package, entry in EXTENSIONS.values():
            connection.execute(f"LOAD {_literal(str(_extension_file(package, entry)), 'extension path')}")
        options = [f"DATA_INLINING_ROW_LIMIT {INLINE_ROWS}"]
        if data_path:
            folder = str(data_path) if "://" in str(data_path) else str(Path(data_path).resolve())
            options.append(f"DATA_PATH {_literal(folder.rstrip('/') + '/', 'data path')}")
        if snapshot is not None:
            options += [f"SNAPSHOT_VERSION {int(snapshot)}", "READ_ONLY"]
        connection.execute(f"ATTACH {_literal(location, 'catalog address')} AS {ALIAS} ({', '.join(options)})")
        connection.execute(f"USE {ALIAS}")
    except duckdb.Error as error:
        connection.close()
        raise CatalogError(_explain_attach_failure(location, data_path, snapshot, error)) from None
    except BaseException:
        connection.close()
        raise
    return connection


def _explain_attach_failure(location: str, data_path: str | None, snapshot: int | None, error: duckdb.Error) -> str:
    text = redact(str(error))
    shown = redact(location)
    if "data_path is not set" in text:
        return (f"{shown} holds no catalog yet, and creating one needs a folder or bucket for its data files: "
                f"give --data-path or set ${DATA_PATH_ENV}. Nothing was created.")
    if "Unable to connect" in text or "connection to server" in text:
        return f"Could not reach the PostgreSQL server of {shown}. Is it running, and are the host and port right? Detail: {text}"
    if snapshot is not None and "snapshot" in text.lower():
        return f"{shown} has no snapshot {snapshot}. `strategy status` shows the current one. Detail: {text}"
    return f"Could not open the DuckLake catalog {shown}: {text}"


def current_snapshot(cursor: duckdb.DuckDBPyConnection) -> int:
    """The snapshot this cursor reads (inside a transaction: the one the transaction started from)."""
    return int(cursor.execute(f"SELECT id FROM {ALIAS}.current_snapshot()").fetchone()[0])


def _live_files(cursor) -> int:
    return cursor.execute(
        f"SELECT count(*) FROM __ducklake_metadata_{ALIAS}.ducklake_data_file WHERE end_snapshot IS NULL"
    ).fetchone()[0]


def _snapshots(cursor) -> int:
    return cursor.execute(f"SELECT count(*) FROM {ALIAS}.snapshots()").fetchone()[0]


def maintain(cursor, *, expire_days: float | None = None) -> dict[str, int]:
    """Move inlined rows to Parquet, merge small files, optionally expire old snapshots, delete unused files.

    Expiring is opt-in because a recommendation reproduces only while its snapshot is kept.
    """
    before = {"data files": _live_files(cursor), "snapshots": _snapshots(cursor)}
    flushed = cursor.execute(f"CALL ducklake_flush_inlined_data('{ALIAS}')").fetchall()
    cursor.execute(f"CALL ducklake_merge_adjacent_files('{ALIAS}')").fetchall()
    if expire_days is not None:
        cursor.execute(
            f"CALL ducklake_expire_snapshots('{ALIAS}', older_than => now() - to_days(CAST(? AS INTEGER)))",
            [int(expire_days)]).fetchall()
    cursor.execute(f"CALL ducklake_cleanup_old_files('{ALIAS}', cleanup_all => true)").fetchall()
    return {
        "rows moved from the catalog database to Parquet": int(sum(row[-1] for row in flushed)),
        "live data files before": before["data files"], "live data files after": _live_files(cursor),
        "snapshots before": before["snapshots"], "snapshots after": _snapshots(cursor),
    }
