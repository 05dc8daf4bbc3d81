"""Backups (strategy/backup.py): a consistent snapshot of every table as Parquet with a manifest, restored only
into an empty catalog and only when every count matches. Runs on an embedded file and on a lake."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from strategy.access import Identity
from strategy.backup import MANIFEST, backup, restore
from strategy.catalog import TABLES, Catalog
from strategy.cli import main
from strategy.errors import CatalogError, PermissionDenied
from tests import seed_counts


def contents(catalog: Catalog) -> dict[str, pd.DataFrame]:
    with catalog.cursor() as cur:
        return {table: cur.execute(f"SELECT * FROM {table} ORDER BY id").df() for table in TABLES}


def test_backup_then_restore_gives_back_every_row(demo_location, empty_location, tmp_path):
    folder = tmp_path / "backup"
    result = CliRunner().invoke(main, ["--catalog", demo_location, "backup", str(folder)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((folder / MANIFEST).read_text())
    with Catalog.open(demo_location) as source:
        assert manifest["rows"] == source.counts()
        assert manifest["schema_version"] == source.schema_version
        original = contents(source)
    result = CliRunner().invoke(main, ["--catalog", empty_location, "restore", str(folder)])
    assert result.exit_code == 0, result.output
    assert "row counts verified" in result.output
    with Catalog.open(empty_location) as restored:
        again = contents(restored)
        last = restored.audit_log(1)
    for table in TABLES:
        if table == "audit_log":  # the restore is itself audited
            assert len(again[table]) == len(original[table]) + 1
            assert last["action"].tolist() == ["restore"]
            continue
        pd.testing.assert_frame_equal(again[table], original[table], check_dtype=False, obj=table)


def test_restore_into_a_catalog_with_rows_writes_nothing(demo_path, tmp_path):
    with Catalog.open(demo_path) as catalog:
        backup(catalog, tmp_path / "b")
        before = catalog.counts()
        with pytest.raises(CatalogError, match="is not empty .* Nothing was restored"):
            restore(catalog, tmp_path / "b")
        assert catalog.counts() == before


def test_a_backup_that_lost_rows_is_refused_and_nothing_is_restored(demo_path, empty_path, tmp_path):
    with Catalog.open(demo_path) as catalog:
        backup(catalog, tmp_path / "b")
    damaged = tmp_path / "b" / "outcomes.parquet"
    pq.write_table(pq.read_table(damaged).slice(0, 10), damaged)
    with Catalog.open(empty_path) as target:
        with pytest.raises(CatalogError, match=f"outcomes.parquet holds 10 rows; the manifest says {seed_counts.OUTCOMES}"):
            restore(target, tmp_path / "b")
        assert sum(target.counts().values()) == 0


def test_a_backup_from_an_older_schema_is_brought_up_to_date_as_it_is_restored(demo_path, empty_path, tmp_path):
    """A version-3 backup may hold control characters that version 4 replaces; the restore applies that too."""
    with Catalog.open(demo_path) as catalog:
        backup(catalog, tmp_path / "b")
    tasks_file, manifest_file = tmp_path / "b" / "tasks.parquet", tmp_path / "b" / MANIFEST
    tasks = pq.read_table(tasks_file).to_pandas()
    tasks.loc[0, "name"], tasks.loc[0, "description"] = "Old\x07name\t", "kept\ttab\x1b"
    pq.write_table(pa.Table.from_pandas(tasks, preserve_index=False), tasks_file)
    manifest = json.loads(manifest_file.read_text())
    # A version-3 backup has no table that a later version added (run_mappings, version 6).
    manifest["rows"].pop("run_mappings")
    (tmp_path / "b" / "run_mappings.parquet").unlink()
    manifest_file.write_text(json.dumps(manifest | {"schema_version": 3}))
    with Catalog.open(empty_path) as target:
        restore(target, tmp_path / "b")
        restored = target.task(tasks.loc[0, "id"])
        assert (restored.name, restored.description) == ("Old name", "kept\ttab ")
        assert len(target.tasks()) == len(tasks)


def test_a_folder_without_a_manifest_is_not_a_backup(empty_path, tmp_path):
    (tmp_path / "stuff").mkdir()
    with Catalog.open(empty_path) as target, pytest.raises(CatalogError, match="has no manifest.json"):
        restore(target, tmp_path / "stuff")


def test_backup_refuses_a_folder_that_has_files(demo_path, tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with Catalog.open(demo_path) as catalog, pytest.raises(CatalogError, match="not empty"):
        backup(catalog, tmp_path / "taken")
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["notes.txt"]


def test_backups_are_for_admins(demo_path, tmp_path):
    researcher = Identity("r@lab.org", "researcher")
    with Catalog.open(demo_path, identity=researcher) as catalog, pytest.raises(PermissionDenied, match="admin role"):
        backup(catalog, tmp_path / "b")
    assert not (tmp_path / "b").exists()
