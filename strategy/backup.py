"""Backups: the whole catalog as one Parquet file per table plus a manifest, and restoring one into an empty
catalog. Works the same on an embedded file and on a lake, and between them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq

from strategy import __version__
from strategy.catalog import TABLES, Catalog, row_updates_since
from strategy.errors import CatalogError
from strategy.models import new_id, utc_now

MANIFEST = "manifest.json"
FORMAT = "strategy.backup/1"


def backup(catalog: Catalog, folder: str | os.PathLike) -> dict:
    """Write a consistent snapshot of every table (one read transaction) into a new or empty folder.

    Files are written under temporary names and renamed at the end, the manifest last, so a folder with a
    manifest always holds a whole backup. Returns the manifest."""
    catalog._allowed("administer the catalog")
    target = Path(folder)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise CatalogError(f"Backup folder {target} already exists and is not empty; choose a new folder.")
    target.mkdir(parents=True, exist_ok=True)
    rows = {}
    with catalog.reading() as view:
        for table in TABLES:
            with view.cursor() as cur:
                data = cur.execute(f"SELECT * FROM {table} ORDER BY id").to_arrow_table()
            pq.write_table(data, target / f".{table}.parquet.part")
            rows[table] = data.num_rows
        schema_version = view.schema_version
        snapshot = view.pinned_snapshot
    for table in TABLES:
        (target / f".{table}.parquet.part").replace(target / f"{table}.parquet")
    manifest = {"format": FORMAT, "schema_version": schema_version, "rows": rows, "created_at": utc_now().isoformat(),
                "created_by": catalog.actor, "source": catalog.label, "backend": catalog.backend,
                "snapshot": snapshot, "strategy_version": __version__}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def read_manifest(folder: str | os.PathLike) -> dict:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise CatalogError(f"{folder} is not a backup: it has no {MANIFEST}. Nothing was restored.")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise CatalogError(f"{path} cannot be read as a backup manifest ({error}). Nothing was restored.") from None
    if manifest.get("format") != FORMAT:
        raise CatalogError(f"{path} is not a {FORMAT} manifest. Nothing was restored.")
    return manifest


def restore(catalog: Catalog, folder: str | os.PathLike) -> dict[str, int]:
    """Load a backup into an empty catalog in one transaction, committed only when every table's row count
    matches the manifest. Returns the rows restored per table."""
    actor = catalog._allowed("administer the catalog")
    source = Path(folder)
    manifest = read_manifest(source)
    if manifest["schema_version"] > catalog.schema_version:
        raise CatalogError(f"The backup in {source} has schema version {manifest['schema_version']}; this catalog "
                           f"is at {catalog.schema_version}. Upgrade strategy first. Nothing was restored.")
    catalog.require_empty("restore", "Nothing was restored.")
    tables = {}
    for table, expected in manifest["rows"].items():
        if table not in TABLES:
            raise CatalogError(f"The backup in {source} names an unknown table {table!r}. Nothing was restored.")
        path = source / f"{table}.parquet"
        try:
            tables[table] = pq.read_table(path)
        except (OSError, ValueError) as error:
            raise CatalogError(f"{path} cannot be read ({error}). Nothing was restored.") from None
        if tables[table].num_rows != expected:
            raise CatalogError(f"{path} holds {tables[table].num_rows} rows; the manifest says {expected}. "
                               "Nothing was restored.")
    with catalog.transaction() as cur:
        for table, data in tables.items():
            if data.num_rows:
                catalog._append_frame(cur, table, data)
        for statement in row_updates_since(manifest["schema_version"]):
            cur.execute(statement)
        found = {table: cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables}
        if found != manifest["rows"]:
            raise CatalogError(f"The restored row counts {found} differ from the manifest. Nothing was restored.")
        catalog._audit(cur, actor, "restore", "catalog", [new_id()],
                       {"from": str(source), "rows": found, "backup_created_at": manifest["created_at"]})
    return found
