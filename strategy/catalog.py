"""The catalog: DuckDB schema, migrations, parametrised queries and transactions.

The schema is portable on purpose (app-made UUIDs; no PRIMARY KEY, UNIQUE,
sequences or ``now()`` defaults) so the same statements run on an embedded
DuckDB file and on DuckLake, which supports none of those. Integrity that a
constraint would give (unique task names, known task ids) is checked here.

Two backends, one code path: an embedded DuckDB file (the default), or DuckLake with
its catalog in PostgreSQL (``ducklake:postgres:...``, see strategy.lake) for many
writers at once. Every write method retries a DuckLake commit conflict with
backoff, so concurrent appends never reach the user as errors.

One DuckDB connection per process; every operation takes its own cursor, which
DuckDB makes safe to use from another thread. Table and column names in SQL
come from this module only; every value a user typed travels as a parameter or
inside a registered DataFrame.
"""

from __future__ import annotations

import copy
import errno
import functools
import json
import os
import random
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
from pydantic import BaseModel

from strategy import lake
from strategy.access import ROLES, Identity, Permission, local_identity
from strategy.errors import CatalogError, ImportRejected, Problem, StrategyError, UnknownTask
from strategy.models import (
    FACTOR_NAMES,
    AuditEntry,
    CostTier,
    Dataset,
    Outcome,
    QualityReport,
    Recommendation,
    StoredModelState,
    StoredRecommendation,
    Task,
    new_id,
    utc_now,
)

DEFAULT_LOCATION = Path("data") / "catalog.duckdb"
CATALOG_ENV = "STRATEGY_CATALOG"

_STAMP = "created_by VARCHAR, created_at TIMESTAMP"
_FACTOR_COLUMNS = ", ".join(f"{name} TINYINT" for name in FACTOR_NAMES)

# Each migration is (version, description, statements). Append only: a
# released migration is never edited, so version N means the same everywhere.
MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (1, "tasks, datasets, outcomes, quality reports, recommendations, cost tiers, audit log", [
        f"""CREATE TABLE tasks (
            id VARCHAR, name VARCHAR, domain VARCHAR, modality VARCHAR, description VARCHAR,
            metric VARCHAR, higher_is_better BOOLEAN, status VARCHAR, source VARCHAR,
            {_FACTOR_COLUMNS}, budget DOUBLE, collapse_guard_opt_out VARCHAR,
            {_STAMP}, updated_by VARCHAR, updated_at TIMESTAMP)""",
        f"""CREATE TABLE datasets (
            id VARCHAR, name VARCHAR, task_id VARCHAR, source_kind VARCHAR, modality VARCHAR,
            samples BIGINT, cost_per_sample DOUBLE, provenance VARCHAR, licence VARCHAR,
            cost_source VARCHAR, source VARCHAR, {_STAMP})""",
        f"""CREATE TABLE outcomes (
            id VARCHAR, task_id VARCHAR, run_id VARCHAR, n_human BIGINT, n_synthetic BIGINT,
            regime VARCHAR, metric VARCHAR, value DOUBLE, higher_is_better BOOLEAN,
            human_eval BOOLEAN, cost DOUBLE, dataset_ids VARCHAR[], notes VARCHAR, fingerprint VARCHAR,
            source VARCHAR, deleted BOOLEAN, {_STAMP})""",
        f"""CREATE TABLE quality_reports (
            id VARCHAR, dataset_id VARCHAR, reference_dataset_id VARCHAR, task_id VARCHAR,
            modality VARCHAR, humanness DOUBLE, grade VARCHAR, metrics_json VARCHAR, {_STAMP})""",
        """CREATE TABLE recommendations (
            id VARCHAR, task_id VARCHAR, sourcing VARCHAR, human_share_spend DOUBLE,
            human_share_samples DOUBLE, n_human BIGINT, n_synthetic BIGINT, spend_human DOUBLE,
            spend_synthetic DOUBLE, budget DOUBLE, expected_value DOUBLE, expected_low DOUBLE,
            expected_high DOUBLE, confidence DOUBLE, low_confidence BOOLEAN, basis VARCHAR, regime VARCHAR,
            evidence_count BIGINT, rulebook_version VARCHAR, model_version VARCHAR, scenario VARCHAR,
            payload_json VARCHAR, fit_json VARCHAR, created_by VARCHAR, created_at TIMESTAMP)""",
        """CREATE TABLE model_state (
            id VARCHAR, kind VARCHAR, version VARCHAR, payload_json VARCHAR, created_by VARCHAR,
            created_at TIMESTAMP)""",
        """CREATE TABLE cost_tiers (
            id VARCHAR, name VARCHAR, kind VARCHAR, cost_per_sample DOUBLE, description VARCHAR,
            cost_source VARCHAR, updated_by VARCHAR, updated_at TIMESTAMP)""",
        """CREATE TABLE audit_log (
            id VARCHAR, changed_at TIMESTAMP, actor VARCHAR, action VARCHAR, entity VARCHAR,
            entity_id VARCHAR, details VARCHAR)""",
    ]),
]
MIGRATIONS.append(
    (2, "datasets: where a sample of the rows lives, so the humanness of a dataset can be assessed", [
        "ALTER TABLE datasets ADD COLUMN location VARCHAR",
    ]),
)
MIGRATIONS.append(
    (3, "recommendations: the catalog snapshot each was computed from, so it can be reproduced", [
        "ALTER TABLE recommendations ADD COLUMN snapshot_id BIGINT",
    ]),
)
# Control characters became refused in text fields after catalogs had been written; a catalog holding them
# would fail the models on read. The patterns are spelled out (not imported) so this migration never changes.
_LINE_COLUMNS = {
    "tasks": ("name", "domain", "metric", "created_by", "updated_by"),
    "datasets": ("name", "licence", "created_by"),
    "outcomes": ("run_id", "metric", "fingerprint", "created_by"),
    "quality_reports": ("grade", "created_by"),
    "cost_tiers": ("name", "updated_by"),
    "audit_log": ("actor", "action", "entity", "entity_id"),
}
_TEXT_COLUMNS = {
    "tasks": ("description", "collapse_guard_opt_out"),
    "datasets": ("provenance", "cost_source", "location"),
    "outcomes": ("notes",),
    "cost_tiers": ("description", "cost_source"),
    "audit_log": ("details",),
}


def _replace_control(table: str, columns: Sequence[str], pattern: str, *, trim: bool) -> str:
    def cleaned(column: str) -> str:
        replaced = f"regexp_replace({column}, '{pattern}', ' ', 'g')"
        # Names are stripped by the models; a control character at either end leaves no stray space.
        return f"trim({replaced})" if trim else replaced
    assignments = ", ".join(f"{c} = {cleaned(c)}" for c in columns)
    matches = " OR ".join(f"regexp_matches({c}, '{pattern}')" for c in columns)
    return f"UPDATE {table} SET {assignments} WHERE {matches}"


MIGRATIONS.append(
    (4, "text: control characters in names and notes (refused from now on) replaced by spaces", [
        *(_replace_control(t, cols, r"[\x00-\x1f\x7f]", trim=True) for t, cols in _LINE_COLUMNS.items()),
        *(_replace_control(t, cols, r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", trim=False)
          for t, cols in _TEXT_COLUMNS.items()),
    ]),
)
# Neither backend ever counts two appends as a conflict, so two writers could both pass the task-name check
# and both add a task of that name. Every task write also updates this one row: of two such writes at once,
# the second fails (at commit on DuckLake, at the update when embedded), runs again, and sees the first's name.
# Written so that running it twice changes nothing (tests rewind a catalog's version to re-run later ones).
MIGRATIONS.append(
    (5, "tasks: a one-row lock every task write updates, so two writers cannot both create the same name", [
        "CREATE TABLE IF NOT EXISTS task_name_lock (writes BIGINT)",
        "INSERT INTO task_name_lock SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM task_name_lock)",
    ]),
)
LATEST_VERSION = MIGRATIONS[-1][0]


# Which permission writing to each table needs (strategy.access.NEEDS says which role has it).
WRITE_PERMISSION = {"tasks": Permission.EDIT_TASKS, "datasets": Permission.EDIT_DATASETS, "outcomes": Permission.LOG_OUTCOMES,
                    "quality_reports": Permission.ASSESS_DATASETS, "recommendations": Permission.RECOMPUTE_RECOMMENDATIONS,
                    "model_state": Permission.RECOMPUTE_RECOMMENDATIONS, "cost_tiers": Permission.EDIT_COSTS}
# The model state that holds the admins' rule weights (the rest is fitted).
RULE_WEIGHTS_KIND = "rule_weights"

# A commit that lost a race to another writer is tried again after a growing, jittered pause.
CONFLICT_ATTEMPTS = 12
CONFLICT_FIRST_PAUSE = 0.02
CONFLICT_LONGEST_PAUSE = 1.0

# Which model each table holds; the only table names ever put into SQL text. Recommendations and
# model state have their own writers (they store JSON payloads beside queryable columns).
TABLES: dict[str, type[BaseModel] | None] = {
    "tasks": Task,
    "datasets": Dataset,
    "outcomes": Outcome,
    "quality_reports": QualityReport,
    "recommendations": None,
    "model_state": None,
    "cost_tiers": CostTier,
    "audit_log": AuditEntry,
}
_AUDIT_RENAMES = {"at": "changed_at"}
_ENTITY = {"tasks": "task", "datasets": "dataset", "outcomes": "outcome", "quality_reports": "quality report",
           "recommendations": "recommendation", "cost_tiers": "cost tier"}


def resolve_location(option: str | os.PathLike | None = None) -> str:
    """Where the catalog lives: the --catalog option, else $STRATEGY_CATALOG, else data/catalog.duckdb."""
    chosen = option or os.environ.get(CATALOG_ENV) or DEFAULT_LOCATION
    return str(chosen)


def resolve_data_path(option: str | os.PathLike | None = None) -> str | None:
    """Where a new DuckLake catalog keeps its Parquet files: --data-path, else $STRATEGY_DATA_PATH."""
    chosen = option or os.environ.get(lake.DATA_PATH_ENV)
    return str(chosen) if chosen else None


def is_conflict(error: BaseException) -> bool:
    """A commit refused because another writer changed the same table first: safe to run again."""
    return isinstance(error, duckdb.TransactionException) and "conflict" in str(error).lower()


def retrying(write):
    """Run a whole write again when its commit conflicts: each write is one transaction, so a retry starts
    from a clean slate and re-checks everything against what the other writer committed."""
    @functools.wraps(write)
    def attempt(self, *args, **kwargs):
        for tries in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                return write(self, *args, **kwargs)
            except duckdb.TransactionException as error:
                if not is_conflict(error) or tries == CONFLICT_ATTEMPTS:
                    raise
            pause = min(CONFLICT_LONGEST_PAUSE, CONFLICT_FIRST_PAUSE * 2 ** tries)
            time.sleep(pause * random.uniform(0.5, 1.0))
    return attempt


def _frame(records: Sequence[BaseModel], table: str) -> pd.DataFrame:
    rows = [record.model_dump() for record in records]
    frame = pd.DataFrame(rows, columns=list(TABLES[table].model_fields))
    if table == "audit_log":
        frame = frame.rename(columns=_AUDIT_RENAMES)
    return frame


class Catalog:
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

    # ----------------------------------------------------------------- opening
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
                _refuse_schema_write(identity, f"Catalog {where} does not exist", "create it")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise CatalogError(f"Could not create the folder of catalog {where}: {error}. "
                                   "Nothing was written.") from None
            try:
                connection = duckdb.connect(where)
            except duckdb.Error as error:
                raise CatalogError(_explain_open_failure(where, error)) from None
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
                    _refuse_schema_write(identity, problem, "create it" if found == 0 else "migrate it")
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

    # ------------------------------------------------------------ transactions
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
            if _is_damage(error):
                raise CatalogError(_damaged(self.label, error)) from None
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
        with self._write_lock, self.cursor() as cur, _out_of_space(f"writing to the catalog {self.label}",
                                                                  "nothing was written"):
            cur.begin()
            try:
                yield cur
            except BaseException:
                cur.rollback()
                raise
            cur.commit()

    # --------------------------------------------------------------- migrations
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

    # ------------------------------------------------------------------- writes
    def _append(self, cur: duckdb.DuckDBPyConnection, table: str, records: Sequence[BaseModel]) -> None:
        if records:
            self._append_frame(cur, table, _frame(records, table))

    @staticmethod
    def _append_frame(cur: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
        """Bulk insert through a registered DataFrame, never row by row."""
        view = f"incoming_{table}"
        cur.register(view, frame)
        try:
            cur.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {view}")
        finally:
            cur.unregister(view)

    def _audit(self, cur, actor: str, action: str, entity: str, ids: Sequence[str], details: dict | None = None):
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

    @retrying
    def save_tasks(self, tasks: Sequence[Task], *, actor: str | None = None,
                   source_label: str = "tasks") -> tuple[int, int]:
        """Create or update tasks (matched by id, else by name), all or nothing.

        Returns (created, updated). Task names are unique, ignoring case and
        surrounding spaces, across active and archived tasks.
        """
        actor = self.acting(Permission.EDIT_TASKS, actor=actor)
        problems = _duplicate_names(tasks, source_label)
        if problems:
            raise ImportRejected(problems)
        with self.transaction() as cur:
            self._lock_task_names(cur)
            existing = cur.execute(
                "SELECT id, lower(trim(name)), created_by, created_at, status, source FROM tasks"
            ).fetchall()
            by_id = {row[0]: row for row in existing}
            by_name = {row[1]: row for row in existing}
            # A row matches by id first; by name only when no other row of the batch claims that task by id
            # (so renaming A and giving a new task A's old name in one batch keeps two tasks).
            claimed = {task.id for task in tasks if task.id in by_id}
            created, updated, prepared = [], [], []
            for position, task in enumerate(tasks, start=1):
                key = task.name.strip().lower()
                match = by_id.get(task.id)
                if match is None and key in by_name and by_name[key][0] not in claimed:
                    match = by_name[key]
                holder = by_name.get(key)
                renamed_away = holder is not None and holder[0] in claimed and holder[0] != task.id
                if holder is not None and match is not None and holder[0] != match[0] and not renamed_away:
                    problems.append(Problem(source_label, position, "name",
                                            f"another task is already called {task.name!r}"))
                    continue
                if match is not None and match[0] in updated:
                    problems.append(Problem(source_label, position, "name",
                                            f"updates the same task as an earlier row ({task.name!r})"))
                    continue
                now = utc_now()
                if match is None:
                    prepared.append(task.model_copy(update={
                        "created_by": actor, "created_at": now, "updated_by": actor, "updated_at": now}))
                    created.append(task.id)
                else:
                    prepared.append(task.model_copy(update={
                        "id": match[0], "created_by": match[2], "created_at": match[3],
                        "status": match[4], "source": match[5], "updated_by": actor, "updated_at": now}))
                    updated.append(match[0])
            if problems:
                raise ImportRejected(problems)
            if updated:
                cur.execute("DELETE FROM tasks WHERE list_contains(?, id)", [updated])
            self._append(cur, "tasks", prepared)
            self._audit(cur, actor, "create", _ENTITY["tasks"], created)
            self._audit(cur, actor, "update", _ENTITY["tasks"], updated)
        return len(created), len(updated)

    def add_records(self, table: str, records: Sequence[BaseModel], *, actor: str | None = None,
                    action: str = "create") -> int:
        """Append datasets, outcomes, reports, recommendations or cost tiers in one transaction."""
        return self.write_batch({table: records}, actor=actor, action=action)[table]

    @retrying
    def write_batch(self, batch: dict[str, Sequence[BaseModel]], *, actor: str | None = None,
                    action: str = "create", needs: Sequence[Permission] = ()) -> dict[str, int]:
        """Append new records to several tables in one transaction: all land or none. Each table's write
        permission is checked, and ``needs`` adds others (seeding the demo is administering the catalog).

        Records are stamped with the actor and the time; task references are
        checked against tasks already stored or written in the same batch.
        """
        unknown = set(batch) - {table for table, model in TABLES.items() if model and table != "audit_log"}
        if unknown:
            raise ValueError(f"write_batch does not write {sorted(unknown)}")
        needs = {WRITE_PERMISSION[table] for table in batch} | set(needs)
        actor = self.acting(*sorted(needs), actor=actor)
        stamped = {table: [_stamp(r, actor) for r in records] for table, records in batch.items()}
        if "tasks" in stamped:
            problems = _duplicate_names(stamped["tasks"], "tasks")
            if problems:
                raise ImportRejected(problems)
        with self.transaction() as cur:
            if "tasks" in stamped:
                self._lock_task_names(cur)
            for table, records in stamped.items():
                self._check_new_ids(cur, table, records)
                if table == "tasks":
                    self._check_new_names(cur, records)
                self._append(cur, table, records)
                self._audit(cur, actor, action, _ENTITY[table], [r.id for r in records])
            for table, records in stamped.items():
                if table != "tasks":
                    self._check_task_ids(cur, table, records)
        return {table: len(records) for table, records in stamped.items()}

    def _check_new_ids(self, cur, table: str, records: Sequence[BaseModel]) -> None:
        """Ids are unique per table: the portable schema has no constraint to say so."""
        ids = [r.id for r in records]
        seen: dict[str, int] = {}
        problems = []
        for position, record_id in enumerate(ids, start=1):
            if record_id in seen:
                problems.append(Problem(table, position, "id", f"repeats row {seen[record_id]}'s id {record_id!r}"))
            seen.setdefault(record_id, position)
        taken = {row[0] for row in cur.execute(
            f"SELECT id FROM {table} WHERE list_contains(?, id)", [ids]).fetchall()}
        problems += [Problem(table, position, "id", f"a record with id {record_id!r} already exists")
                     for position, record_id in enumerate(ids, start=1) if record_id in taken]
        if problems:
            raise ImportRejected(problems)

    @staticmethod
    def _lock_task_names(cur) -> None:
        """Take the task-name lock for this transaction (see migration 5): a concurrent task write then fails
        to commit (DuckLake) or to update (embedded) and is retried against the names this one adds."""
        touched = cur.execute("UPDATE task_name_lock SET writes = writes + 1").fetchone()[0]
        if not touched:  # the row was removed by hand: put it back so the lock holds again
            cur.execute("INSERT INTO task_name_lock VALUES (1)")

    def _check_new_names(self, cur, tasks: Sequence[Task]) -> None:
        taken = {row[0] for row in cur.execute("SELECT lower(trim(name)) FROM tasks").fetchall()}
        problems = [
            Problem("tasks", position, "name", f"another task is already called {task.name!r}")
            for position, task in enumerate(tasks, start=1)
            if task.name.strip().lower() in taken
        ]
        if problems:
            raise ImportRejected(problems)

    def _check_task_ids(self, cur, table: str, records: Sequence[BaseModel]) -> None:
        wanted = {r.task_id for r in records if getattr(r, "task_id", None)}
        if not wanted:
            return
        known = {row[0] for row in cur.execute(
            "SELECT id FROM tasks WHERE list_contains(?, id)", [sorted(wanted)]).fetchall()}
        problems = [
            Problem(table, position, "task_id", f"no task has id {r.task_id!r}")
            for position, r in enumerate(records, start=1)
            if getattr(r, "task_id", None) and r.task_id not in known
        ]
        if problems:
            raise ImportRejected(problems)

    @retrying
    def set_task_status(self, task_id: str, status: str, *, actor: str | None = None) -> None:
        """Archive a task (hidden from the portfolio, kept with its history) or make it active again."""
        if status not in {"active", "archived"}:
            raise ValueError(f"unknown task status {status!r}")
        actor = self.acting(Permission.EDIT_TASKS, actor=actor)
        with self.transaction() as cur:
            found = cur.execute("SELECT count(*) FROM tasks WHERE id = ?", [task_id]).fetchone()[0]
            if not found:
                raise UnknownTask(task_id)
            cur.execute("UPDATE tasks SET status = ?, updated_by = ?, updated_at = ? WHERE id = ?",
                        [status, actor, utc_now(), task_id])
            self._audit(cur, actor, "archive" if status == "archived" else "restore", _ENTITY["tasks"], [task_id])

    @retrying
    def replace_records(self, table: str, records: Sequence[BaseModel], *, actor: str | None = None) -> int:
        """Edit existing datasets or cost tiers: each record replaces the stored one with its id, all or nothing."""
        if table not in {"datasets", "cost_tiers"}:
            raise ValueError(f"replace_records does not edit {table!r}")
        actor = self.acting(WRITE_PERMISSION[table], actor=actor)
        ids = [r.id for r in records]
        stamped = [_stamp(r, actor) if table == "cost_tiers" else r for r in records]
        with self.transaction() as cur:
            found = {row[0] for row in cur.execute(
                f"SELECT id FROM {table} WHERE list_contains(?, id)", [ids]).fetchall()}
            missing = [Problem(table, i, "id", f"no stored record has id {rid!r}")
                       for i, rid in enumerate(ids, start=1) if rid not in found]
            if missing:
                raise ImportRejected(missing)
            if table == "datasets":
                self._check_task_ids(cur, table, stamped)
            cur.execute(f"DELETE FROM {table} WHERE list_contains(?, id)", [ids])
            self._append(cur, table, stamped)
            self._audit(cur, actor, "update", _ENTITY[table], ids)
        return len(stamped)

    def outcome_directions(self) -> pd.DataFrame:
        """For each task and metric name (lower-cased) already logged, whether higher is better."""
        with self.cursor() as cur:
            return cur.execute(
                "SELECT DISTINCT task_id, lower(metric) AS metric, higher_is_better FROM outcomes WHERE NOT deleted"
            ).df()

    def logged_fingerprints(self, fingerprints: Sequence[str]) -> set[str]:
        """Which of these outcome fingerprints (run ids or content digests) are already stored."""
        if not fingerprints:
            return set()
        with self.cursor() as cur:
            cur.register("wanted_fingerprints", pd.DataFrame({"fingerprint": list(fingerprints)}))
            try:
                return {row[0] for row in cur.execute(
                    "SELECT DISTINCT o.fingerprint FROM outcomes o "
                    "JOIN wanted_fingerprints w ON w.fingerprint = o.fingerprint").fetchall()}
            finally:
                cur.unregister("wanted_fingerprints")

    @retrying
    def append_outcomes(self, rows, *, actor: str, source: str, created_at, label: str = "") -> int:
        """Bulk-append outcome rows already checked in one pass (see strategy.outcomes.validate).

        ``rows`` is an Arrow table or DataFrame. Ids are made in SQL; tasks are checked inside the
        transaction; all rows land or none. The import is one write, so it is one audit entry (with the
        row count and the file); each row also carries who and when.
        """
        self.acting(Permission.LOG_OUTCOMES)
        if len(rows) == 0:
            return 0
        with self.transaction() as cur:
            cur.register("incoming_outcomes", rows)
            try:
                unknown = cur.execute(
                    "SELECT count(*) FROM (SELECT DISTINCT task_id FROM incoming_outcomes) i "
                    "ANTI JOIN tasks t ON t.id = i.task_id").fetchone()[0]
                if unknown:
                    raise ImportRejected([Problem("outcomes", None, "task_id", f"{unknown} task id(s) do not exist")])
                cur.execute(
                    "INSERT INTO outcomes BY NAME SELECT CAST(gen_random_uuid() AS VARCHAR) AS id, "
                    "* EXCLUDE (dataset_ids_text), "
                    "list_filter(list_transform(string_split(dataset_ids_text, ','), x -> trim(x)), x -> x <> '') "
                    "AS dataset_ids, ? AS source, false AS deleted, ? AS created_by, CAST(? AS TIMESTAMP) AS created_at "
                    "FROM incoming_outcomes", [source, actor, created_at])
            finally:
                cur.unregister("incoming_outcomes")
            batch = new_id()
            self._audit(cur, actor, "import", "outcome import", [batch],
                        {"rows": len(rows), "file": label, "created_at": created_at})
        return len(rows)

    @retrying
    def delete_outcomes(self, ids: Sequence[str], *, actor: str | None = None) -> list[str]:
        """Soft delete: the rows stay, marked deleted and left out of fits. Returns the affected task ids."""
        actor = self.acting(Permission.LOG_OUTCOMES, actor=actor)
        with self.transaction() as cur:
            tasks = [row[0] for row in cur.execute(
                "SELECT DISTINCT task_id FROM outcomes WHERE list_contains(?, id) AND NOT deleted",
                [list(ids)]).fetchall()]
            cur.execute("UPDATE outcomes SET deleted = true WHERE list_contains(?, id)", [list(ids)])
            self._audit(cur, actor, "delete", _ENTITY["outcomes"], list(ids))
        return tasks

    @retrying
    def replace_outcome(self, outcome: Outcome, *, actor: str | None = None) -> None:
        """Edit one stored outcome (same id): the old row is replaced in one transaction and audited."""
        actor = self.acting(Permission.LOG_OUTCOMES, actor=actor)
        with self.transaction() as cur:
            if not cur.execute("SELECT count(*) FROM outcomes WHERE id = ?", [outcome.id]).fetchone()[0]:
                raise ImportRejected([Problem("outcomes", None, "id", f"no outcome has id {outcome.id!r}")])
            self._check_task_ids(cur, "outcomes", [outcome])
            cur.execute("DELETE FROM outcomes WHERE id = ?", [outcome.id])
            self._append(cur, "outcomes", [outcome])
            self._audit(cur, actor, "update", _ENTITY["outcomes"], [outcome.id])

    def outcome(self, outcome_id: str) -> Outcome:
        with self.cursor() as cur:
            frame = cur.execute("SELECT * FROM outcomes WHERE id = ?", [outcome_id]).df()
        if frame.empty:
            raise ImportRejected([Problem("outcomes", None, "id", f"no outcome has id {outcome_id!r}")])
        row = frame.iloc[0].to_dict()
        row["dataset_ids"] = list(row["dataset_ids"]) if row["dataset_ids"] is not None else []
        return Outcome(**{k: v for k, v in row.items() if k in Outcome.model_fields and not _is_null(v)})

    @staticmethod
    def _recommendation_frame(recommendations: Sequence[Recommendation], fits: Sequence[dict | None]) -> pd.DataFrame:
        """Recommendations as rows: queryable columns plus the full JSON and the fit they came from."""
        frame = pd.DataFrame([{
            "id": r.id, "task_id": r.task_id, "sourcing": r.sourcing, "human_share_spend": r.human_share_spend,
            "human_share_samples": r.human_share_samples, "n_human": r.n_human, "n_synthetic": r.n_synthetic,
            "spend_human": r.spend_human, "spend_synthetic": r.spend_synthetic, "budget": r.budget,
            "expected_value": r.expected_metric.value, "expected_low": r.expected_metric.low,
            "expected_high": r.expected_metric.high, "confidence": r.confidence,
            "low_confidence": r.low_confidence, "basis": r.basis, "regime": r.regime,
            "evidence_count": r.evidence_count, "rulebook_version": r.rulebook_version,
            "model_version": r.model_version, "scenario": r.scenario, "payload_json": r.model_dump_json(),
            "fit_json": json.dumps(fit) if fit is not None else None, "snapshot_id": r.snapshot,
            "created_by": r.created_by,
            "created_at": r.created_at,
        } for r, fit in zip(recommendations, fits, strict=True)])
        return frame.astype({"expected_value": float, "expected_low": float, "expected_high": float,
                             "snapshot_id": "Int64"})

    @retrying
    def save_recommendations(self, recommendations: Sequence[Recommendation], fits: Sequence[dict | None],
                             *, actor: str | None = None) -> int:
        """Store recommendations (queryable columns plus the full JSON and the fit they came from)."""
        actor = self.acting(Permission.RECOMPUTE_RECOMMENDATIONS, actor=actor)
        if not recommendations:
            return 0
        frame = self._recommendation_frame(recommendations, fits)
        with self.transaction() as cur:
            self._check_task_ids(cur, "recommendations", recommendations)
            self._append_frame(cur, "recommendations", frame)
            self._audit(cur, actor, "recommend", _ENTITY["recommendations"], list(frame["id"]))
        return len(frame)

    @retrying
    def adopt_scenario(self, recommendation: Recommendation, fit: dict | None, *, scenario: str,
                       actor: str | None = None) -> None:
        """Make a saved scenario the task's plan, in one transaction: the task takes the scenario's budget
        (so a later recompute plans at it too) and the scenario's answer becomes its current recommendation;
        the audit log says which scenario was adopted."""
        actor = self.acting(Permission.EDIT_TASKS, Permission.RECOMPUTE_RECOMMENDATIONS, actor=actor)
        frame = self._recommendation_frame([recommendation], [fit])
        with self.transaction() as cur:
            self._check_task_ids(cur, "recommendations", [recommendation])
            cur.execute("UPDATE tasks SET budget = ?, updated_by = ?, updated_at = ? WHERE id = ?",
                        [recommendation.budget, actor, recommendation.created_at, recommendation.task_id])
            self._append_frame(cur, "recommendations", frame)
            self._audit(cur, actor, "adopt scenario", _ENTITY["recommendations"], [recommendation.id],
                        {"scenario": scenario, "budget": recommendation.budget})
            self._audit(cur, actor, "update", _ENTITY["tasks"], [recommendation.task_id],
                        {"budget": recommendation.budget, "from scenario": scenario})

    def latest_recommendations(self, scenario: str = "") -> pd.DataFrame:
        """The newest stored recommendation of every active task (tasks without one are absent)."""
        with self.cursor() as cur:
            return cur.execute(
                """
                SELECT r.* EXCLUDE (payload_json, fit_json), t.name AS task_name, t.domain, t.modality, t.metric,
                       -- what each source adds (contract /2; empty for /1 and rules-only answers)
                       TRY_CAST(json_extract_string(r.payload_json, '$.adds.synthetic_over_human_only') AS DOUBLE)
                           AS synthetic_adds,
                       TRY_CAST(json_extract_string(r.payload_json, '$.adds.human_over_synthetic_led') AS DOUBLE)
                           AS human_adds
                FROM recommendations r JOIN tasks t ON t.id = r.task_id
                WHERE r.scenario = ? AND t.status = 'active'
                QUALIFY row_number() OVER (PARTITION BY r.task_id ORDER BY r.created_at DESC, r.id DESC) = 1
                ORDER BY t.domain, t.name
                """,
                [scenario],
            ).df()

    def recommendation_history(self, task_id: str) -> pd.DataFrame:
        with self.cursor() as cur:
            return cur.execute(
                "SELECT * EXCLUDE (fit_json) FROM recommendations WHERE task_id = ? ORDER BY created_at, id",
                [task_id],
            ).df()

    def latest_recommendations_of(self, task_ids: list[str], scenario: str = "") -> dict[str, StoredRecommendation]:
        """The newest stored recommendation and fit of each of these tasks (absent: none stored), in one read:
        a summary of 1,000 tasks asking one by one spent seconds in the queries alone."""
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT task_id, payload_json, fit_json FROM recommendations "
                "WHERE scenario = ? AND list_contains(?, task_id) "
                "QUALIFY row_number() OVER (PARTITION BY task_id ORDER BY created_at DESC, id DESC) = 1",
                [scenario, list(task_ids)],
            ).fetchall()
        return {task_id: StoredRecommendation(Recommendation.model_validate_json(payload),
                                              json.loads(fit) if fit else None)
                for task_id, payload, fit in rows}

    def latest_recommendation(self, task_id: str, scenario: str = "") -> StoredRecommendation | None:
        """The newest stored recommendation of a task and the fit it was computed from."""
        return self.latest_recommendations_of([task_id], scenario).get(task_id)

    @retrying
    def save_model_state(self, kind: str, version: str, payload: dict, *, actor: str | None = None) -> None:
        """Keep a fitted shared model (such as the pooled prior) so a single task can be refitted without it."""
        needs = Permission.EDIT_THE_RULEBOOK if kind == RULE_WEIGHTS_KIND else Permission.RECOMPUTE_RECOMMENDATIONS
        actor = self.acting(needs, actor=actor)
        frame = pd.DataFrame([{"id": new_id(), "kind": kind, "version": version,
                               "payload_json": json.dumps(payload), "created_by": actor, "created_at": utc_now()}])
        with self.transaction() as cur:
            self._append_frame(cur, "model_state", frame)
            self._audit(cur, actor, "fit", kind, list(frame["id"]), {"version": version})

    def latest_model_state(self, kind: str) -> StoredModelState | None:
        with self.cursor() as cur:
            row = cur.execute(
                "SELECT version, payload_json FROM model_state WHERE kind = ? "
                "ORDER BY created_at DESC, id DESC LIMIT 1", [kind]).fetchone()
        return StoredModelState(row[0], json.loads(row[1])) if row else None

    # -------------------------------------------------------------- maintenance
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
            with _out_of_space(f"maintaining {self.label}", "the checkpoint did not complete and the catalog is "
                                                            "as it was"):
                cur.execute("CHECKPOINT")
            return {"file bytes before": before, "file bytes after": Path(self.location).stat().st_size}

    @retrying
    def _record(self, action: str, entity: str, details: dict, *, actor: str) -> None:
        """An audit entry for a write that touches no table of ours (maintenance)."""
        with self.transaction() as cur:
            self._audit(cur, actor, action, entity, [new_id()], details)

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
                    target._append_frame(cur, table, rows)
            found = {table: cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}
            if found != expected:
                differing = ", ".join(f"{t}: {expected[t]} read, {found[t]} written"
                                      for t in TABLES if found[t] != expected[t])
                raise CatalogError(f"The copy into {target.label} did not match ({differing}); nothing was copied.")
            target._audit(cur, actor, "copy", "catalog", [new_id()], {"from": self.label, "rows": expected})
        return expected

    # -------------------------------------------------------------------- reads
    def counts(self) -> dict[str, int]:
        """Rows per table (soft-deleted outcomes and archived tasks included)."""
        with self.cursor() as cur:
            return {
                table: cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in TABLES
            }

    def tasks(self, *, include_archived: bool = False, ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Tasks (all, or those with the given ids) with the number of live outcomes behind each and when the
        newest was logged, ordered by domain then name."""
        with self.cursor() as cur:
            return cur.execute(
                """
                SELECT t.*, coalesce(o.outcomes, 0) AS outcomes, o.last_outcome_at
                FROM tasks t
                LEFT JOIN (SELECT task_id, count(*) AS outcomes, max(created_at) AS last_outcome_at FROM outcomes
                           WHERE NOT deleted GROUP BY task_id) o ON o.task_id = t.id
                WHERE (? OR t.status = 'active') AND (? IS NULL OR list_contains(?, t.id))
                ORDER BY t.domain, t.name
                """,
                [include_archived, ids, ids],
            ).df()

    def task(self, reference: str) -> Task:
        """One task by id or by name (case-insensitive). Raises UnknownTask."""
        with self.cursor() as cur:
            frame = cur.execute(
                "SELECT * FROM tasks WHERE id = ? OR lower(trim(name)) = lower(trim(?)) LIMIT 1",
                [reference, reference],
            ).df()
        if frame.empty:
            raise UnknownTask(reference)
        return task_from_row(frame.iloc[0].to_dict())

    def datasets(self) -> pd.DataFrame:
        with self.cursor() as cur:
            return cur.execute(
                """
                SELECT d.*, t.name AS task_name FROM datasets d
                LEFT JOIN tasks t ON t.id = d.task_id
                ORDER BY d.source_kind, d.name
                """
            ).df()

    def outcomes(self, task_id: str | None = None, *, include_deleted: bool = False,
                 task_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Outcomes (of one task, of several, or all) with their task's name and the human share of samples."""
        with self.cursor() as cur:
            return cur.execute(
                """
                SELECT o.*, t.name AS task_name,
                       o.n_human / nullif(o.n_human + o.n_synthetic, 0) AS human_share
                FROM outcomes o JOIN tasks t ON t.id = o.task_id
                WHERE (? IS NULL OR o.task_id = ?) AND (? IS NULL OR list_contains(?, o.task_id))
                  AND (? OR NOT o.deleted)
                ORDER BY t.name, o.created_at, o.n_human, o.n_synthetic
                """,
                [task_id, task_id, task_ids, task_ids, include_deleted],
            ).df()

    def quality_reports(self, *, task_id: str | None = None, dataset_id: str | None = None,
                        with_metrics: bool = False) -> pd.DataFrame:
        """Humanness reports, oldest first, with the names of their datasets and task (the full JSON only when
        asked: it can be large)."""
        metrics = ", q.metrics_json" if with_metrics else ""
        with self.cursor() as cur:
            return cur.execute(
                f"""
                SELECT q.id, q.dataset_id, q.reference_dataset_id, q.task_id, q.modality, q.humanness, q.grade,
                       q.created_by, q.created_at, d.name AS dataset_name, r.name AS reference_name,
                       t.name AS task_name{metrics}
                FROM quality_reports q
                LEFT JOIN datasets d ON d.id = q.dataset_id
                LEFT JOIN datasets r ON r.id = q.reference_dataset_id
                LEFT JOIN tasks t ON t.id = q.task_id
                WHERE (? IS NULL OR q.task_id = ?) AND (? IS NULL OR q.dataset_id = ?)
                ORDER BY q.created_at, q.id
                """,
                [task_id, task_id, dataset_id, dataset_id],
            ).df()

    def quality_report_json(self, report_id: str) -> str:
        with self.cursor() as cur:
            found = cur.execute("SELECT metrics_json FROM quality_reports WHERE id = ?", [report_id]).fetchone()
        if found is None:
            raise StrategyError(f"Unknown quality report {report_id!r}.")
        return found[0]

    def task_humanness(self) -> dict[str, float]:
        """Per task, the mean humanness of its synthetic datasets' latest reports."""
        with self.cursor() as cur:
            rows = cur.execute(
                """
                SELECT task_id, avg(latest) FROM (
                    SELECT task_id, dataset_id, arg_max(humanness, created_at) AS latest
                    FROM quality_reports WHERE task_id IS NOT NULL GROUP BY task_id, dataset_id)
                GROUP BY task_id
                """
            ).fetchall()
        return {task_id: float(value) for task_id, value in rows}

    def cost_tiers(self) -> pd.DataFrame:
        with self.cursor() as cur:
            return cur.execute("SELECT * FROM cost_tiers ORDER BY kind, cost_per_sample").df()

    def audit_log(self, limit: int = 200, *, actors: Sequence[str] = (), actions: Sequence[str] = (),
                  entities: Sequence[str] = (), since=None, until=None, containing: str = "") -> pd.DataFrame:
        """The newest audit entries first, filtered by who, what, which kind of record, when (``since`` and
        ``until`` inclusive, UTC) and text in the record id or details."""
        with self.cursor() as cur:
            return cur.execute(
                """
                SELECT * FROM audit_log
                WHERE (len(?) = 0 OR list_contains(?, actor)) AND (len(?) = 0 OR list_contains(?, action))
                  AND (len(?) = 0 OR list_contains(?, entity))
                  AND (CAST(? AS TIMESTAMP) IS NULL OR changed_at >= CAST(? AS TIMESTAMP))
                  AND (CAST(? AS TIMESTAMP) IS NULL OR changed_at <= CAST(? AS TIMESTAMP))
                  AND (? = '' OR contains(lower(entity_id), lower(?)) OR contains(lower(details), lower(?)))
                ORDER BY changed_at DESC, entity LIMIT ?
                """,
                [list(actors), list(actors), list(actions), list(actions), list(entities), list(entities),
                 since, since, until, until, containing, containing, containing, limit],
            ).df()

    def audit_facets(self) -> dict[str, list[str]]:
        """The distinct people, actions and kinds of record in the audit log, for filters."""
        with self.cursor() as cur:
            return {column: [row[0] for row in cur.execute(
                f"SELECT DISTINCT {column} FROM audit_log WHERE {column} IS NOT NULL ORDER BY 1").fetchall()]
                for column in ("actor", "action", "entity")}


def task_from_row(row: dict) -> Task:
    """A Task from a row of the tasks table; NULL columns take the model's defaults."""
    return Task(**{name: row[name] for name in Task.model_fields if name in row and not _is_null(row[name])})


def _is_null(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _stamp(record: BaseModel, actor: str) -> BaseModel:
    fields = type(record).model_fields
    update = {}
    if "created_by" in fields:
        update.update(created_by=actor, created_at=utc_now())
    if "updated_by" in fields:
        update.update(updated_by=actor, updated_at=utc_now())
    return record.model_copy(update=update)


def _duplicate_names(tasks: Sequence[Task], source_label: str) -> list[Problem]:
    first_seen: dict[str, int] = {}
    problems = []
    for position, task in enumerate(tasks, start=1):
        key = task.name.strip().lower()
        if key in first_seen:
            problems.append(Problem(source_label, position, "name",
                                    f"{task.name!r} also appears in row {first_seen[key]}"))
        else:
            first_seen[key] = position
    return problems


# What DuckDB says when the bytes of a file are not what it wrote: a block whose checksum fails, a file cut short.
_DAMAGE_SIGNS = ("Corrupt database file", "Could not read enough bytes from file")
# What DuckDB says when another process holds the file (the whole phrase: "block" also contains "lock").
_LOCK_SIGNS = ("Could not set lock on file", "Conflicting lock is held")
_NO_SPACE_SIGNS = ("No space left on device", "Disk quota exceeded")


def _is_damage(error: BaseException) -> bool:
    return isinstance(error, duckdb.Error) and any(sign in str(error) for sign in _DAMAGE_SIGNS)


def _damaged(where: str, error: BaseException) -> str:
    return (f"Catalog {where} is damaged: some of its bytes are not what DuckDB wrote, so it cannot be read. "
            "It was left as it is. Restore the latest backup into a new catalog with `strategy --catalog NEW.duckdb "
            f"restore BACKUP_FOLDER` (see `strategy backup`). Detail: {error}")


def is_out_of_space(error: BaseException) -> bool:
    """The disk (or the quota) is full: said so in one line, not as a traceback."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return any(sign in str(error) for sign in _NO_SPACE_SIGNS)


@contextmanager
def _out_of_space(doing: str, consequence: str) -> Iterator[None]:
    try:
        yield
    except (duckdb.Error, OSError) as error:
        if is_out_of_space(error):
            raise CatalogError(f"No space left on device while {doing}; {consequence}. Free some space and try "
                               "again.") from None
        raise


def _refuse_schema_write(identity: Identity | None, problem: str, doing: str) -> None:
    """A viewer may read a catalog but never create or migrate one (opening must not write behind their back)."""
    who = identity or local_identity()
    if who.role == ROLES[0]:
        raise CatalogError(f"{problem}, and {who.user} is a {who.role}, who cannot {doing}: that needs the "
                           f"{' or '.join(ROLES[1:])} role. Nothing was written.")


def _explain_open_failure(where: str, error: duckdb.Error) -> str:
    text = str(error)
    if _is_damage(error):
        return _damaged(where, error)
    if any(sign in text for sign in _LOCK_SIGNS):
        return (f"Catalog {where} is in use by another process (DuckDB allows one writer per file). "
                f"Close the other program or use a team catalog. Detail: {text}")
    if any(sign in text for sign in _NO_SPACE_SIGNS):
        return (f"No space left on device while opening catalog {where}; nothing was written. Free some space and "
                f"try again. Detail: {text}")
    if "not a valid DuckDB database" in text or "Invalid Input" in text:
        return (f"{where} is not a DuckDB database this program can read, so it was left untouched. If it was a "
                "strategy catalog, it is damaged: restore a backup into a new file with `strategy restore`. "
                f"Detail: {text}")
    return f"Could not open catalog {where}: {text}"
