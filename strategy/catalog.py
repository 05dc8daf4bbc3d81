"""The catalog: one open DuckDB database (an embedded file, or DuckLake with its catalog in PostgreSQL), its
cursors, transactions, retries and migrations, and who is acting.

``Catalog`` is the mechanism; each group of tables has its own small store in strategy.store (tasks, plain
records, outcomes, recommendations and model state, reports and the audit log), mixed into it so that every
caller keeps one object to hold. The schema lives in strategy.store.schema, the shared mechanism (retrying a
write whose commit lost a race, record frames, explaining a damaged or locked file) in strategy.store.mechanism.

Two backends, one code path: an embedded DuckDB file (the default), or DuckLake
(``ducklake:postgres:...``, see strategy.lake) for many writers at once. Every write method retries a DuckLake
commit conflict with backoff, so concurrent appends never reach the user as errors.

One DuckDB connection per process; every operation takes its own cursor, which DuckDB makes safe to use from
another thread. Table and column names in SQL come from the store modules only; every value a user typed
travels as a parameter or inside a registered DataFrame.
"""

from __future__ import annotations

import copy
import json
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
from pydantic import BaseModel

from strategy import lake
from strategy.access import Identity, Permission, local_identity
from strategy.errors import CatalogError
from strategy.models import new_id, utc_now
from strategy.store.mappings import MappingStore
from strategy.store.mechanism import (
    CATALOG_ENV,
    DEFAULT_LOCATION,
    damaged,
    explain_open_failure,
    is_damage,
    out_of_space,
    record_frame,
    refuse_schema_write,
    resolve_data_path,
    resolve_location,
    retrying,
)
from strategy.store.outcomes import OutcomeStore
from strategy.store.recommendations import RecommendationStore
from strategy.store.records import RecordStore
from strategy.store.reports import ReportStore
from strategy.store.schema import LATEST_VERSION, MIGRATIONS, RULE_WEIGHTS_KIND, TABLES, WRITE_PERMISSION
from strategy.store.tasks import TaskStore, task_from_row

# What callers import from here (the stores' modules are the catalog's own parts).
__all__ = ["CATALOG_ENV", "DEFAULT_LOCATION", "LATEST_VERSION", "MIGRATIONS", "RULE_WEIGHTS_KIND", "TABLES",
           "WRITE_PERMISSION", "Catalog", "resolve_data_path", "resolve_location", "retrying", "task_from_row"]


class Catalog(TaskStore, RecordStore, OutcomeStore, RecommendationStore, ReportStore, MappingStore):
    """An open catalog. Use :meth:`open`; close with :meth:`close` or a ``with`` block."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, location: str, *, snapshot: int | None = None):
        self._connection = connection
        self.location = location
        self.is_lake = lake.is_lake(location)
        # Set on an as-of view (a lake attached read-only at that snapshot) and on a reading() view.
        self.pinned_snapshot = snapshot
        self._pinned_cursor: duckdb.DuckDBPyConnection | None = None
        self._read_only = snapshot is not None
        self._write_lock = threading.Lock()
        # None: whoever runs this process, in local mode (see strategy.access.local_identity).
        self.identity: Identity | None = None

    def acting_as(self, identity: Identity | None) -> Catalog:
        """The same open catalog, with writes checked against and credited to this person (the app makes one
        per session; the connection is shared)."""
        view = copy.copy(self)
        view.identity = identity
        return view

    @property
    def who(self) -> Identity:
        return self.identity or local_identity()

    @property
    def actor(self) -> str:
        """The name writes are credited to."""
        return self.who.user

    def acting(self, *permissions: str, actor: str | None = None) -> str:
        """Check the signed-in person may make this write (before anything is written) and return the name
        it is recorded under: ``actor`` when a caller acts for someone (a service account's job), else
        theirs. Every write asks here once, by the permissions it needs."""
        who = self.who
        for permission in permissions:
            who.require(permission)
        return actor or who.user

    @property
    def label(self) -> str:
        """The location as it may be shown (a password in a lake address is masked)."""
        return lake.redact(self.location)

    @property
    def backend(self) -> str:
        return "DuckLake" if self.is_lake else "embedded DuckDB"

    @classmethod
    def open(cls, location: str | os.PathLike | None = None, *, data_path: str | os.PathLike | None = None,
             as_of: int | None = None, migrate: bool = True, identity: Identity | None = None) -> Catalog:
        """Open (creating if missing) and bring the schema up to date.

        ``location`` is a .duckdb file or a ``ducklake:postgres:...`` address; ``data_path`` is where a new
        lake keeps its files. ``as_of`` opens a lake read-only as it was at that snapshot.

        Refuses, before writing anything, a file that is not a DuckDB database,
        a DuckDB database that is not a catalog, and a catalog written by a
        newer schema than this program knows.
        """
        where = resolve_location(location)
        if lake.is_lake(where):
            connection = lake.connect(where, data_path=resolve_data_path(data_path), snapshot=as_of)
        else:
            if as_of is not None:
                raise CatalogError(
                    f"Catalog {where} is an embedded DuckDB file, which keeps no snapshots; --as-of needs a "
                    "DuckLake catalog (ducklake:postgres:...).")
            path = Path(where)
            if path.is_dir():
                raise CatalogError(f"Catalog {where} is a folder; give the path of a .duckdb file.")
            if not path.exists():
                refuse_schema_write(identity, f"Catalog {where} does not exist", "create it")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise CatalogError(f"Could not create the folder of catalog {where}: {error}. "
                                   "Nothing was written.") from None
            try:
                connection = duckdb.connect(where)
            except duckdb.Error as error:
                raise CatalogError(explain_open_failure(where, error)) from None
        catalog = cls(connection, where, snapshot=as_of)
        catalog.identity = identity
        try:
            catalog._check_compatible()
            if migrate and as_of is None:
                found = catalog.schema_version
                if found < LATEST_VERSION:
                    problem = (f"Catalog {catalog.label} holds no strategy catalog yet" if found == 0 else
                               f"Catalog {catalog.label} is at schema version {found} and needs migrating to "
                               f"version {LATEST_VERSION}")
                    refuse_schema_write(identity, problem, "create it" if found == 0 else "migrate it")
                    catalog.migrate()
        except BaseException:
            connection.close()
            raise
        return catalog

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _check_compatible(self) -> None:
        with self.cursor() as cur:
            tables = {row[0] for row in cur.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_catalog = current_database() AND table_schema = 'main'"
            ).fetchall()}
            if not tables:
                return
            if "schema_version" not in tables:
                listed = ", ".join(sorted(tables)[:5])
                raise CatalogError(
                    f"{self.label} is a DuckDB database but not a strategy catalog "
                    f"(it has tables {listed} and no schema_version table). "
                    "Point --catalog or STRATEGY_CATALOG at a new or existing catalog file."
                )
            found = cur.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0
        if found > LATEST_VERSION:
            raise CatalogError(
                f"{self.label} was written by a newer version of strategy (schema version "
                f"{found}; this version knows up to {LATEST_VERSION}). Upgrade strategy to open it; "
                "nothing was changed."
            )

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor for one read: its own DuckDB handle, closed afterwards (in a reading() view, the view's)."""
        if self._pinned_cursor is not None:
            with self._explained():
                yield self._pinned_cursor
            return
        cur = self._connection.cursor()
        try:
            with self._explained():
                if self.is_lake:
                    cur.execute(f"USE {lake.ALIAS}")  # a cursor does not inherit the connection's USE
                yield cur
        finally:
            cur.close()

    @contextmanager
    def _explained(self) -> Iterator[None]:
        """A damaged catalog (a block whose checksum fails, a file cut short) is said to be damaged, with the
        way back, rather than reaching the user as DuckDB's IO error."""
        try:
            yield
        except duckdb.Error as error:
            if is_damage(error):
                raise CatalogError(damaged(self.label, error)) from None
            raise

    @contextmanager
    def reading(self) -> Iterator[Catalog]:
        """A read-only view in which every read sees one consistent state of the catalog, whatever other
        writers commit meanwhile; on a lake its ``pinned_snapshot`` says which snapshot that is."""
        with self.cursor() as cur:
            cur.begin()
            view = copy.copy(self)
            view._pinned_cursor, view._read_only = cur, True
            try:
                if self.is_lake and self.pinned_snapshot is None:
                    view.pinned_snapshot = lake.current_snapshot(cur)
                yield view
            finally:
                cur.rollback()

    @property
    def snapshot(self) -> int | None:
        """The lake's current snapshot (the pinned one in a view); None for an embedded catalog."""
        if not self.is_lake:
            return None
        if self.pinned_snapshot is not None:
            return self.pinned_snapshot
        with self.cursor() as cur:
            return lake.current_snapshot(cur)

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor inside BEGIN … COMMIT; any exception rolls everything back."""
        if self._read_only:
            raise CatalogError(f"This view of {self.label} is read-only (a snapshot or a consistent read).")
        with self._write_lock, self.cursor() as cur, out_of_space(f"writing to the catalog {self.label}",
                                                                  "nothing was written"):
            cur.begin()
            try:
                yield cur
            except BaseException:
                cur.rollback()
                raise
            cur.commit()

    @property
    def schema_version(self) -> int:
        with self.cursor() as cur:
            exists = cur.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
                "AND table_schema = 'main' AND table_name = 'schema_version'"
            ).fetchone()[0]
            if not exists:
                return 0
            return cur.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]

    @retrying
    def migrate(self) -> list[int]:
        """Apply the migrations not yet applied, all in one transaction. Returns those applied."""
        current = self.schema_version
        pending = [m for m in MIGRATIONS if m[0] > current]
        if not pending:
            return []
        with self.transaction() as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_version "
                "(version INTEGER, description VARCHAR, applied_at TIMESTAMP)"
            )
            for version, description, statements in pending:
                for statement in statements:
                    cur.execute(statement)
                cur.execute(
                    "INSERT INTO schema_version VALUES (?, ?, ?)", [version, description, utc_now()]
                )
        return [m[0] for m in pending]

    def _append(self, cur: duckdb.DuckDBPyConnection, table: str, records: Sequence[BaseModel]) -> None:
        if records:
            self.append_frame(cur, table, record_frame(records, table))

    @staticmethod
    def append_frame(cur: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
        """Bulk insert through a registered DataFrame, never row by row."""
        view = f"incoming_{table}"
        cur.register(view, frame)
        try:
            cur.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {view}")
        finally:
            cur.unregister(view)

    def audit(self, cur, actor: str, action: str, entity: str, ids: Sequence[str], details: dict | None = None):
        """One audit row per record written; ids are made in the same statement so a bulk write stays cheap."""
        if len(ids) == 0:
            return
        cur.register("incoming_audit", pd.DataFrame({"entity_id": list(ids)}))
        try:
            cur.execute(
                "INSERT INTO audit_log BY NAME SELECT CAST(gen_random_uuid() AS VARCHAR) AS id, "
                "CAST(? AS TIMESTAMP) AS changed_at, ? AS actor, ? AS action, ? AS entity, entity_id, "
                "? AS details FROM incoming_audit",
                [utc_now(), actor, action, entity, json.dumps(details or {}, default=str)],
            )
        finally:
            cur.unregister("incoming_audit")

    def maintain(self, *, expire_days: float | None = None) -> dict[str, int]:
        """Tidy the storage: on a lake, flush inlined rows to Parquet, merge small files, optionally expire
        snapshots older than ``expire_days`` and delete files nothing refers to; embedded, a checkpoint.
        What it did is audited."""
        if self._read_only:
            raise CatalogError(f"This view of {self.label} is read-only.")
        actor = self.acting(Permission.ADMINISTER_THE_CATALOG)
        report = self._tidy(expire_days)
        self._record("maintain", "catalog", report, actor=actor)
        return report

    @retrying
    def _tidy(self, expire_days: float | None) -> dict[str, int]:
        with self._write_lock, self.cursor() as cur:
            if self.is_lake:
                return lake.maintain(cur, expire_days=expire_days)
            if expire_days is not None:
                raise CatalogError(f"{self.label} is an embedded DuckDB file: it keeps no snapshots to expire.")
            before = Path(self.location).stat().st_size
            with out_of_space(f"maintaining {self.label}", "the checkpoint did not complete and the catalog is "
                                                            "as it was"):
                cur.execute("CHECKPOINT")
            return {"file bytes before": before, "file bytes after": Path(self.location).stat().st_size}

    @retrying
    def _record(self, action: str, entity: str, details: dict, *, actor: str) -> None:
        """An audit entry for a write that touches no table of ours (maintenance)."""
        with self.transaction() as cur:
            self.audit(cur, actor, action, entity, [new_id()], details)

    def require_empty(self, verb: str, consequence: str) -> None:
        """Refuse to be the target of a copy or restore while any table has rows (they would mix two catalogs)."""
        occupied = {table: rows for table, rows in self.counts().items() if rows}
        if occupied:
            listed = ", ".join(f"{rows} {table}" for table, rows in occupied.items())
            raise CatalogError(f"{self.label} is not empty ({listed}); {verb} only into an empty catalog. "
                               f"{consequence}")

    def copy_into(self, target: Catalog, *, actor: str | None = None) -> dict[str, int]:
        """Copy every row of this catalog into an empty one (embedded into a lake, or back), in one transaction.

        The rows are read from one consistent state of this catalog, and the copy commits only when every
        table's row count in the target matches. Returns the rows copied per table.
        """
        actor = target.acting(Permission.ADMINISTER_THE_CATALOG, actor=actor)
        if target.location == self.location:
            raise CatalogError(f"{self.label} cannot be copied into itself.")
        if target.schema_version != self.schema_version:
            raise CatalogError(f"{target.label} is at schema version {target.schema_version} and {self.label} at "
                               f"{self.schema_version}; open both with this version of strategy first.")
        target.require_empty("copy", "Nothing was copied.")
        with self.reading() as source, target.transaction() as cur:
            expected = source.counts()
            for table in TABLES:
                with source.cursor() as read:
                    rows = read.execute(f"SELECT * FROM {table}").to_arrow_table()
                if rows.num_rows:
                    target.append_frame(cur, table, rows)
            found = {table: cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}
            if found != expected:
                differing = ", ".join(f"{t}: {expected[t]} read, {found[t]} written"
                                      for t in TABLES if found[t] != expected[t])
                raise CatalogError(f"The copy into {target.label} did not match ({differing}); nothing was copied.")
            target.audit(cur, actor, "copy", "catalog", [new_id()], {"from": self.label, "rows": expected})
        return expected
