"""The catalog: migrations, portable schema, integrity checks, refusals and concurrency.

Tests taking ``empty_catalog``, ``demo_catalog`` or a ``*_location`` run twice: on an embedded DuckDB file and
on a DuckLake catalog in a real PostgreSQL. Those about files (corrupt, foreign, locked) are embedded only."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from strategy.catalog import (
    CATALOG_ENV,
    DEFAULT_LOCATION,
    LATEST_VERSION,
    MIGRATIONS,
    TABLES,
    Catalog,
    resolve_location,
)
from strategy.errors import CatalogError, ImportRejected, UnknownTask
from strategy.models import Outcome, Task

OUR_TABLES = [*TABLES, "schema_version"]


def make_task(name: str = "Support chat", **fields) -> Task:
    return Task(name=name, domain="Retail", modality="text", metric="CSAT", **fields)


def make_outcome(task_id: str, **fields) -> Outcome:
    values = {"n_human": 100, "n_synthetic": 300, "metric": "CSAT", "value": 0.7} | fields
    return Outcome(task_id=task_id, **values)


def tables_in(path: Path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return {row[0] for row in connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}


def audit_rows(catalog: Catalog) -> list[tuple]:
    with catalog.cursor() as cur:
        return cur.execute("SELECT actor, action, entity, entity_id FROM audit_log").fetchall()


@pytest.fixture
def empty_catalog(empty_location):
    with Catalog.open(empty_location) as catalog:
        yield catalog


@pytest.fixture
def demo_catalog(demo_location):
    with Catalog.open(demo_location) as catalog:
        yield catalog


# --------------------------------------------------------------- migrations


def test_migrations_create_every_table(empty_catalog):
    with empty_catalog.cursor() as cur:
        found = {row[0] for row in cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    assert set(OUR_TABLES) <= found
    assert empty_catalog.schema_version == LATEST_VERSION
    assert empty_catalog.counts() == dict.fromkeys(TABLES, 0)


def test_table_columns_match_models(empty_catalog):
    with empty_catalog.cursor() as cur:
        for table, model in TABLES.items():
            if model is None:  # recommendations and model state are written by their own methods
                continue
            columns = {row[0] for row in cur.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [table]).fetchall()}
            expected = {"changed_at" if name == "at" else name for name in model.model_fields}
            assert columns == expected, table


def test_migrate_again_does_nothing(empty_catalog, empty_location):
    assert empty_catalog.migrate() == []
    assert empty_catalog.migrate() == []
    empty_catalog.close()
    with Catalog.open(empty_location) as reopened:
        assert reopened.migrate() == []
        with reopened.cursor() as cur:
            rows = cur.execute("SELECT version, count(*) FROM schema_version GROUP BY version ORDER BY version").fetchall()
    assert rows == [(version, 1) for version, _, _ in MIGRATIONS]


def test_fresh_open_reports_applied_migrations(tmp_path):
    path = tmp_path / "fresh.duckdb"
    with Catalog.open(path, migrate=False) as catalog:
        assert catalog.schema_version == 0
        assert catalog.migrate() == [version for version, _, _ in MIGRATIONS]
        assert catalog.schema_version == LATEST_VERSION


def test_schema_is_portable(empty_catalog):
    with empty_catalog.cursor() as cur:
        constraints = cur.execute(
            "SELECT table_name, constraint_type FROM duckdb_constraints() "
            "WHERE list_contains(?, table_name) "
            "AND constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')", [OUR_TABLES]).fetchall()
        defaults = cur.execute(
            "SELECT table_name, column_name, column_default FROM duckdb_columns() "
            "WHERE list_contains(?, table_name) AND coalesce(column_default, 'NULL') <> 'NULL'",  # DuckLake says 'NULL'
            [OUR_TABLES]).fetchall()
        sequences = cur.execute("SELECT sequence_name FROM duckdb_sequences()").fetchall()
        column_count = cur.execute(
            "SELECT count(*) FROM duckdb_columns() WHERE list_contains(?, table_name)", [OUR_TABLES]).fetchone()[0]
    assert constraints == []
    assert defaults == []
    assert sequences == []
    assert column_count > 50  # the queries did look at our tables


# --------------------------------------------------------------------- tasks


def test_task_round_trip(empty_catalog):
    task = make_task(description="Answer customers", interaction=4, privacy_limits=2, higher_is_better=False)
    assert empty_catalog.save_tasks([task], actor="alice") == (1, 0)
    stored = empty_catalog.task("Support chat")
    skip = {"created_by", "created_at", "updated_by", "updated_at"}
    assert stored.model_dump(exclude=skip) == task.model_dump(exclude=skip)
    assert stored.created_by == "alice"
    assert stored.updated_by == "alice"
    assert stored.profile()["interaction"] == 4
    assert stored.higher_is_better is False
    assert empty_catalog.counts()["tasks"] == 1
    assert audit_rows(empty_catalog) == [("alice", "create", "task", task.id)]


def test_task_lookup_by_name_ignores_case_and_by_id(empty_catalog):
    task = make_task()
    empty_catalog.save_tasks([task], actor="alice")
    assert empty_catalog.task("support CHAT").id == task.id
    assert empty_catalog.task("  Support chat ").id == task.id
    assert empty_catalog.task(task.id).name == "Support chat"


def test_unknown_task(empty_catalog):
    empty_catalog.save_tasks([make_task()], actor="alice")
    with pytest.raises(UnknownTask) as caught:
        empty_catalog.task("No such task")
    assert caught.value.reference == "No such task"
    assert "No such task" in str(caught.value)


def test_update_by_name_keeps_identity(empty_catalog):
    original = make_task(interaction=1)
    empty_catalog.save_tasks([original], actor="alice")
    with empty_catalog.cursor() as cur:
        cur.execute("UPDATE tasks SET status = 'archived'")
    before = empty_catalog.task(original.id)

    edited = make_task(name="SUPPORT chat", interaction=3, description="new text")
    assert edited.id != original.id
    assert empty_catalog.save_tasks([edited], actor="bob") == (0, 1)

    after = empty_catalog.task(original.id)
    assert after.id == original.id
    assert after.created_by == "alice"
    assert after.created_at == before.created_at
    assert after.status == "archived"
    assert after.updated_by == "bob"
    assert after.interaction == 3
    assert after.description == "new text"
    assert after.name == "SUPPORT chat"
    assert empty_catalog.counts()["tasks"] == 1
    with pytest.raises(UnknownTask):
        empty_catalog.task(edited.id)
    assert ("bob", "update", "task", original.id) in audit_rows(empty_catalog)
    assert len(audit_rows(empty_catalog)) == 2


def test_rename_by_id(empty_catalog):
    original = make_task()
    empty_catalog.save_tasks([original], actor="alice")
    renamed = original.model_copy(update={"name": "Customer chat"})
    assert empty_catalog.save_tasks([renamed], actor="bob") == (0, 1)
    assert empty_catalog.task(original.id).name == "Customer chat"
    with pytest.raises(UnknownTask):
        empty_catalog.task("Support chat")


def test_duplicate_names_in_one_batch_are_refused(empty_catalog):
    batch = [make_task("Alpha"), make_task("Beta"), make_task(" alpha ")]
    with pytest.raises(ImportRejected) as caught:
        empty_catalog.save_tasks(batch, actor="alice", source_label="tasks.csv")
    message = str(caught.value)
    assert "row 3" in message
    assert "row 1" in message
    assert "tasks.csv" in message
    assert [(p.row, p.field) for p in caught.value.problems] == [(3, "name")]
    assert empty_catalog.counts() == dict.fromkeys(TABLES, 0)


def test_duplicate_names_in_write_batch_are_refused(empty_catalog):
    with pytest.raises(ImportRejected):
        empty_catalog.write_batch({"tasks": [make_task("Alpha"), make_task("ALPHA")]}, actor="alice")
    assert empty_catalog.counts() == dict.fromkeys(TABLES, 0)


def test_name_clash_with_other_task_is_refused(demo_catalog):
    existing = demo_catalog.tasks().iloc[0]
    other = demo_catalog.tasks().iloc[1]
    before = demo_catalog.counts()
    # Task `other`, renamed to a different spelling of `existing`'s name.
    clash = demo_catalog.task(other["id"]).model_copy(update={"name": f"  {existing['name'].upper()} "})
    with pytest.raises(ImportRejected) as caught:
        demo_catalog.save_tasks([make_task("Brand new"), clash], actor="mallory")
    assert [(p.row, p.field) for p in caught.value.problems] == [(2, "name")]
    assert "another task is already called" in str(caught.value)
    assert demo_catalog.counts() == before
    assert demo_catalog.task(other["id"]).name == other["name"]
    with pytest.raises(UnknownTask):
        demo_catalog.task("Brand new")


def test_write_batch_refuses_existing_name(demo_catalog):
    existing = demo_catalog.tasks().iloc[0]["name"]
    before = demo_catalog.counts()
    with pytest.raises(ImportRejected) as caught:
        demo_catalog.write_batch({"tasks": [make_task(existing.lower() + "  ")]}, actor="mallory")
    assert "another task is already called" in str(caught.value)
    assert demo_catalog.counts() == before


@pytest.mark.parametrize("write", ["save_tasks", "write_batch"])
def test_two_writers_giving_a_new_task_the_same_name_at_once_make_one_task(empty_location, write, monkeypatch):
    """Both writers have read the names before either adds its task (a rendezvous holds them there). Appends
    alone never conflict, so without the task-name lock both would commit a new task; with it the second is
    retried and then sees the first's task: save_tasks updates that task (it matches by name), write_batch
    refuses the clash. Embedded, the lock turns the second writer away before the rendezvous, so the first
    goes on alone once the rendezvous times out."""
    rendezvous = threading.Barrier(2, timeout=2)
    arrived = threading.local()
    append = Catalog._append

    def append_after_rendezvous(self, cur, table, records):
        if table == "tasks" and not getattr(arrived, "once", False):
            arrived.once = True
            with contextlib.suppress(threading.BrokenBarrierError):
                rendezvous.wait()
        return append(self, cur, table, records)

    monkeypatch.setattr(Catalog, "_append", append_after_rendezvous)
    writers = [Catalog.open(empty_location), Catalog.open(empty_location)]
    results: dict[int, str] = {}

    def create(number: int, name: str) -> None:
        task = make_task(name)
        try:
            if write == "save_tasks":
                created, _ = writers[number].save_tasks([task], actor=f"writer {number}")
                results[number] = "created" if created else "updated"
            else:
                writers[number].write_batch({"tasks": [task]}, actor=f"writer {number}")
                results[number] = "created"
        except ImportRejected as error:
            results[number] = str(error)
        except BaseException as error:  # reported by the assertion below rather than lost in the thread
            results[number] = repr(error)

    threads = [threading.Thread(target=create, args=(0, "Support chat")),
               threading.Thread(target=create, args=(1, "  SUPPORT Chat"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for writer in writers:
        writer.close()
    created = [number for number, result in results.items() if result == "created"]
    assert len(created) == 1, results
    second = results[1 - created[0]]
    if write == "save_tasks":
        assert second == "updated", results
    else:
        assert "another task is already called" in second, results
    with Catalog.open(empty_location) as catalog:
        assert len(catalog.tasks(include_archived=True)) == 1
        assert catalog.counts()["audit_log"] == (2 if write == "save_tasks" else 1)


def test_a_removed_task_name_lock_is_put_back_by_the_next_task_write(empty_catalog):
    with empty_catalog.transaction() as cur:
        cur.execute("DELETE FROM task_name_lock")
    empty_catalog.save_tasks([make_task("Alpha")], actor="alice")
    empty_catalog.write_batch({"tasks": [make_task("Beta")]}, actor="alice")
    with empty_catalog.cursor() as cur:
        assert cur.execute("SELECT writes FROM task_name_lock").fetchall() == [(2,)]


# ------------------------------------------------------------- other records


def test_outcome_with_unknown_task_id_is_refused(demo_catalog):
    good = demo_catalog.tasks().iloc[0]["id"]
    before = demo_catalog.counts()
    with pytest.raises(ImportRejected) as caught:
        demo_catalog.add_records("outcomes", [make_outcome(good), make_outcome("no-such-task")], actor="alice")
    assert [(p.row, p.field) for p in caught.value.problems] == [(2, "task_id")]
    assert "task_id" in str(caught.value)
    assert "no-such-task" in str(caught.value)
    assert demo_catalog.counts() == before


def test_write_batch_is_all_or_nothing(empty_catalog):
    tasks = [make_task("Alpha"), make_task("Beta")]
    outcomes = [make_outcome(tasks[0].id), make_outcome("missing-task")]
    with pytest.raises(ImportRejected) as caught:
        empty_catalog.write_batch({"tasks": tasks, "outcomes": outcomes}, actor="alice")
    assert [(p.row, p.field) for p in caught.value.problems] == [(2, "task_id")]
    assert empty_catalog.counts() == dict.fromkeys(TABLES, 0)
    with pytest.raises(UnknownTask):
        empty_catalog.task("Alpha")


def test_write_batch_accepts_references_to_tasks_in_the_same_batch(empty_catalog):
    task = make_task("Alpha")
    written = empty_catalog.write_batch({"tasks": [task], "outcomes": [make_outcome(task.id)]}, actor="alice")
    assert written == {"tasks": 1, "outcomes": 1}
    counts = empty_catalog.counts()
    assert counts["tasks"] == 1
    assert counts["outcomes"] == 1
    assert counts["audit_log"] == 2
    assert empty_catalog.outcomes(task.id)["created_by"].tolist() == ["alice"]


def test_write_batch_refuses_unknown_tables(empty_catalog):
    with pytest.raises(ValueError, match="audit_log"):
        empty_catalog.write_batch({"audit_log": []})


def test_hostile_text_is_stored_literally(empty_catalog):
    drop = "'; DROP TABLE outcomes; --"
    script = "<script>alert(1)</script>"
    quotes = 'Robert"); DELETE FROM tasks WHERE ("1"="1'
    task = make_task(drop, description=f"{script}\n{quotes}")
    empty_catalog.save_tasks([task], actor="alice")
    empty_catalog.add_records("outcomes", [make_outcome(task.id, notes=drop + script)], actor=script)

    stored = empty_catalog.task(drop)
    assert stored.name == drop
    assert stored.description == f"{script}\n{quotes}"
    outcomes = empty_catalog.outcomes()
    assert outcomes["notes"].tolist() == [drop + script]
    assert outcomes["task_name"].tolist() == [drop]
    assert outcomes["created_by"].tolist() == [script]
    counts = empty_catalog.counts()
    assert counts["outcomes"] == 1
    assert counts["tasks"] == 1
    with empty_catalog.cursor() as cur:
        assert cur.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'outcomes'").fetchone()[0] == 1


def test_counts_keys_are_the_tables(demo_catalog):
    counts = demo_catalog.counts()
    assert list(counts) == list(TABLES)
    assert counts["tasks"] > 0
    assert counts["outcomes"] > 0


def test_deleted_outcomes_are_hidden_unless_asked(empty_catalog):
    task = make_task()
    empty_catalog.save_tasks([task], actor="alice")
    live = make_outcome(task.id, run_id="live")
    gone = make_outcome(task.id, run_id="gone", deleted=True)
    empty_catalog.add_records("outcomes", [live, gone], actor="alice")
    assert empty_catalog.outcomes()["run_id"].tolist() == ["live"]
    assert sorted(empty_catalog.outcomes(include_deleted=True)["run_id"]) == ["gone", "live"]
    assert empty_catalog.outcomes(task.id)["run_id"].tolist() == ["live"]
    assert empty_catalog.outcomes("other-task", include_deleted=True).empty
    assert empty_catalog.tasks()["outcomes"].tolist() == [1]
    assert empty_catalog.counts()["outcomes"] == 2


def test_outcomes_report_human_share(empty_catalog):
    task = make_task()
    empty_catalog.save_tasks([task], actor="alice")
    empty_catalog.add_records("outcomes", [make_outcome(task.id, n_human=30, n_synthetic=90)], actor="alice")
    assert empty_catalog.outcomes()["human_share"].tolist() == pytest.approx([0.25])


def test_concurrent_writers_lose_nothing(demo_catalog):
    task_id = demo_catalog.tasks().iloc[0]["id"]
    before = demo_catalog.counts()
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            batch = [make_outcome(task_id, run_id=f"w{worker}-{i}") for i in range(25)]
            assert demo_catalog.add_records("outcomes", batch, actor=f"worker{worker}") == 25
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    after = demo_catalog.counts()
    assert after["outcomes"] - before["outcomes"] == 100
    assert after["audit_log"] - before["audit_log"] == 100
    runs = demo_catalog.outcomes(task_id)["run_id"]
    assert len({r for r in runs if r.startswith("w")}) == 100


# ----------------------------------------------------------- opening refusals


def test_file_that_is_not_a_database_is_left_untouched(tmp_path):
    path = tmp_path / "notes.duckdb"
    path.write_bytes(b"hello, not a database")
    with pytest.raises(CatalogError) as caught:
        Catalog.open(path)
    assert str(path) in str(caught.value)
    assert "not a DuckDB database" in str(caught.value)
    assert path.read_bytes() == b"hello, not a database"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.duckdb"]


def test_foreign_duckdb_file_is_refused(tmp_path):
    path = tmp_path / "people.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE TABLE people (name VARCHAR)")
        connection.execute("INSERT INTO people VALUES ('Ada')")
    with pytest.raises(CatalogError) as caught:
        Catalog.open(path)
    message = str(caught.value)
    assert "not a strategy catalog" in message
    assert "people" in message
    assert str(path) in message
    assert tables_in(path) == {"people"}


def test_newer_schema_is_refused(empty_path):
    with duckdb.connect(str(empty_path)) as connection:
        connection.execute("INSERT INTO schema_version VALUES (99, 'from the future', now()::TIMESTAMP)")
        before = connection.execute("SELECT * FROM schema_version ORDER BY version").fetchall()
    tables_before = tables_in(empty_path)
    with pytest.raises(CatalogError) as caught:
        Catalog.open(empty_path)
    message = str(caught.value)
    assert "99" in message
    assert "newer" in message
    assert str(LATEST_VERSION) in message
    assert tables_in(empty_path) == tables_before
    with duckdb.connect(str(empty_path), read_only=True) as connection:
        assert connection.execute("SELECT * FROM schema_version ORDER BY version").fetchall() == before
        assert connection.execute("SELECT count(*) FROM audit_log").fetchone()[0] == 0


def test_folder_is_refused(tmp_path):
    with pytest.raises(CatalogError, match="is a folder"):
        Catalog.open(tmp_path)


def test_locked_catalog_is_refused(empty_path):
    script = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(60)"
    holder = subprocess.Popen([sys.executable, "-c", script, str(empty_path)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(CatalogError) as caught:
            Catalog.open(empty_path)
        assert "in use by another process" in str(caught.value)
        assert str(empty_path) in str(caught.value)
    finally:
        holder.kill()
        holder.wait(timeout=10)
        holder.stdout.close()
        holder.stderr.close()
    with Catalog.open(empty_path) as catalog:  # usable again once the other process is gone
        assert catalog.schema_version == LATEST_VERSION


# ------------------------------------------------------------------ location


def test_resolve_location_precedence(monkeypatch, tmp_path):
    option = str(tmp_path / "option.duckdb")
    from_env = str(tmp_path / "env.duckdb")
    monkeypatch.delenv(CATALOG_ENV, raising=False)
    assert resolve_location() == str(DEFAULT_LOCATION)
    assert resolve_location() == str(Path("data") / "catalog.duckdb")
    assert resolve_location(option) == option
    monkeypatch.setenv(CATALOG_ENV, from_env)
    assert resolve_location() == from_env
    assert resolve_location(None) == from_env
    assert resolve_location(option) == option
    assert resolve_location(Path(option)) == option


def test_open_uses_environment_location(monkeypatch, tmp_path):
    path = tmp_path / "sub" / "from_env.duckdb"
    monkeypatch.setenv(CATALOG_ENV, str(path))
    with Catalog.open() as catalog:
        assert catalog.location == str(path)
    assert path.exists()


# ----------------------------------------------------------------- known bugs


def test_rename_and_reuse_of_old_name_keeps_ids_unique(empty_catalog):
    original = make_task("Foo")
    empty_catalog.save_tasks([original], actor="alice")
    renamed = original.model_copy(update={"name": "Bar"})
    newcomer = make_task("Foo")
    with contextlib.suppress(ImportRejected):  # refusing the batch would also be correct
        empty_catalog.save_tasks([renamed, newcomer], actor="bob")
    with empty_catalog.cursor() as cur:
        ids = [row[0] for row in cur.execute("SELECT id FROM tasks").fetchall()]
    assert len(ids) == len(set(ids))


def test_a_record_id_that_already_exists_is_refused(empty_catalog):
    task = make_task("Foo")
    empty_catalog.save_tasks([task], actor="alice")
    before = empty_catalog.counts()
    with pytest.raises(ImportRejected, match="already exists"):
        empty_catalog.write_batch({"tasks": [task.model_copy(update={"name": "Other"})]}, actor="bob")
    outcome = Outcome(task_id=task.id, n_human=10, n_synthetic=0, metric="accuracy", value=0.5)
    empty_catalog.add_records("outcomes", [outcome], actor="bob")
    with pytest.raises(ImportRejected, match="already exists"):
        empty_catalog.add_records("outcomes", [outcome], actor="bob")
    with pytest.raises(ImportRejected, match="repeats row 1"):
        empty_catalog.add_records("outcomes", [outcome.model_copy(update={"id": "x"})] * 2, actor="bob")
    after = empty_catalog.counts()
    assert after["tasks"] == before["tasks"] == 1
    assert after["outcomes"] == 1
