"""The DuckLake backend (strategy/lake.py and what the catalog does for it): a real PostgreSQL catalog and
Parquet files, many writers at once, snapshots, maintenance and copying between backends."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import duckdb
import pandas as pd
import pytest
from click.testing import CliRunner

from strategy import lake
from strategy.catalog import TABLES, Catalog, retrying
from strategy.cli import main
from strategy.errors import CatalogError
from strategy.models import Outcome
from tests.conftest import PROJECT
from tests.lake_writer import TASK

# A recommendation's own stamp (who, when, its id) differs between two computations of the same answer.
STAMP = {"id", "created_at", "created_by"}


def cli(*args: str, catalog: str | None = None):
    prefix = ["--catalog", catalog] if catalog else []
    return CliRunner().invoke(main, [*prefix, *args], catch_exceptions=False)


def outcome(task_id: str, run_id: str) -> Outcome:
    return Outcome(task_id=task_id, n_human=100, n_synthetic=300, metric="AUPRC", value=0.5, run_id=run_id)


def live_files(catalog: Catalog) -> int:
    with catalog.cursor() as cur:
        return lake._live_files(cur)


# ------------------------------------------------------------------------------------------ opening
def test_a_new_lake_without_a_data_path_is_refused_with_the_fix(new_lake, monkeypatch):
    monkeypatch.delenv(lake.DATA_PATH_ENV, raising=False)
    with pytest.raises(CatalogError, match="--data-path or set \\$STRATEGY_DATA_PATH"):
        Catalog.open(new_lake())


def test_data_path_from_the_environment_creates_the_lake(new_lake, lake_data, monkeypatch):
    monkeypatch.setenv(lake.DATA_PATH_ENV, str(lake_data))
    location = new_lake()
    with Catalog.open(location) as catalog:
        assert catalog.is_lake and catalog.backend == "DuckLake"
        assert catalog.counts() == dict.fromkeys(TABLES, 0)
        assert catalog.snapshot > 0


def test_an_unreachable_server_is_named_in_the_message(lake_data):
    with pytest.raises(CatalogError, match="Could not reach the PostgreSQL server"):
        Catalog.open("ducklake:postgres:dbname=x host=127.0.0.1 port=1 user=nobody", data_path=lake_data)


@pytest.mark.parametrize("address", ["ducklake:postgres:dbname=x' AS y; --", "ducklake:postgres:dbname=x\nhost=y"])
def test_an_address_with_quotes_or_control_characters_is_refused_before_sql(address):
    with pytest.raises(CatalogError, match="cannot hold"):
        Catalog.open(address)


def test_a_password_in_the_address_is_never_shown(demo_lake_template, postgres):
    location = postgres.location(postgres.create_database(template=demo_lake_template)) + " password=hunter2"
    result = cli("status", catalog=location)
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    assert "password=***" in result.output and "DuckLake" in result.output


def test_as_of_on_an_embedded_catalog_says_snapshots_need_a_lake(demo_path):
    result = CliRunner().invoke(main, ["--catalog", str(demo_path), "recommend", TASK, "--as-of", "1"])
    assert result.exit_code == 1
    assert "keeps no snapshots" in result.output


# ------------------------------------------------------------------------------------- snapshots
def test_recommend_as_of_reproduces_the_stored_recommendation(demo_lake_template, postgres):
    location = postgres.location(postgres.create_database(template=demo_lake_template))
    stored = json.loads(cli("recommend", TASK, "--json", catalog=location).output)
    assert stored["snapshot"] is not None
    with Catalog.open(location) as catalog:
        history = catalog.recommendation_history(catalog.task(TASK).id)
        assert history["snapshot_id"].iloc[-1] == stored["snapshot"]
        task_id = catalog.task(TASK).id
    # New evidence moves the current answer away from the stored one...
    many = pd.DataFrame({"task": TASK, "n_human": range(2000, 2400, 40), "n_synthetic": 0, "metric": "AUPRC",
                         "value": 0.95, "run_id": [f"late-{i}" for i in range(10)]})
    result = CliRunner().invoke(main, ["--catalog", location, "log", "-"], input=many.to_csv(index=False))
    assert result.exit_code == 0, result.output
    current = json.loads(cli("recommend", TASK, "--json", catalog=location).output)
    assert current["evidence_count"] > stored["evidence_count"]
    # ...while the snapshot the stored one recorded gives it back exactly, and nothing is written.
    with Catalog.open(location) as catalog:
        before = catalog.counts()
    again = json.loads(cli("recommend", TASK, "--json", "--as-of", str(stored["snapshot"]), catalog=location).output)
    assert {k: v for k, v in again.items() if k not in STAMP} == {k: v for k, v in stored.items() if k not in STAMP}
    with Catalog.open(location) as catalog:
        assert catalog.counts() == before
        assert catalog.task(task_id).name == TASK


def test_a_snapshot_view_is_read_only(demo_lake_template, postgres):
    location = postgres.location(postgres.create_database(template=demo_lake_template))
    with Catalog.open(location) as catalog:
        snapshot = catalog.snapshot
    with Catalog.open(location, as_of=snapshot) as old, pytest.raises(CatalogError, match="read-only"):
        old.add_records("outcomes", [outcome(old.task(TASK).id, "x")])


def test_an_unknown_snapshot_is_refused(demo_lake_template, postgres):
    location = postgres.location(postgres.create_database(template=demo_lake_template))
    result = CliRunner().invoke(main, ["--catalog", location, "recommend", TASK, "--as-of", "999999"])
    assert result.exit_code == 1
    assert "999999" in result.output


def test_refit_records_one_snapshot_that_holds_its_pooled_prior(demo_lake_template, postgres):
    location = postgres.location(postgres.create_database(template=demo_lake_template))
    assert cli("refit", "--workers", "1", catalog=location).exit_code == 0
    with Catalog.open(location) as catalog:
        latest = catalog.latest_recommendations()
        snapshots = set(latest["snapshot_id"])
        assert len(snapshots) == 1
        snapshot = int(snapshots.pop())
        stored = catalog.latest_recommendation(catalog.task(TASK).id)[0]
    again = json.loads(cli("recommend", TASK, "--json", "--as-of", str(snapshot), catalog=location).output)
    assert again["model_version"] == stored.model_version != ""
    assert again["human_share_spend"] == stored.human_share_spend
    assert again["expected_metric"] == stored.expected_metric.model_dump()


# ----------------------------------------------------------------------------------- maintenance
def test_small_writes_are_inlined_and_maintain_moves_them_to_parquet(demo_location, backend):
    with Catalog.open(demo_location) as catalog:
        task_id = catalog.task(TASK).id
        files = live_files(catalog) if backend == "lake" else None
        catalog.add_records("outcomes", [outcome(task_id, "one-from-a-form")])
        if backend == "lake":
            assert live_files(catalog) == files  # one outcome: a catalog row, not a Parquet file
        before = catalog.outcomes(task_id)
    result = cli("maintain", catalog=demo_location)
    assert result.exit_code == 0, result.output
    with Catalog.open(demo_location) as catalog:
        pd.testing.assert_frame_equal(catalog.outcomes(task_id), before)
        if backend == "lake":
            assert "rows moved from the catalog database to Parquet" in result.output
            assert live_files(catalog) > 0
        else:
            assert "file bytes after" in result.output


def test_expiring_snapshots_is_refused_on_an_embedded_catalog(demo_path):
    result = CliRunner().invoke(main, ["--catalog", str(demo_path), "maintain", "--expire-older-than", "7"])
    assert result.exit_code == 1
    assert "no snapshots to expire" in result.output


# ------------------------------------------------------------------------------------- migration
def _contents(location: str) -> dict[str, pd.DataFrame]:
    with Catalog.open(location) as catalog, catalog.cursor() as cur:
        return {table: cur.execute(f"SELECT * FROM {table} ORDER BY id").df()
                for table in TABLES if table != "audit_log"}


def test_migrate_copies_an_embedded_catalog_into_a_lake_and_back(demo_path, new_lake, lake_data, tmp_path):
    location = new_lake()
    result = cli("migrate", "--to", location, "--to-data-path", str(lake_data), catalog=str(demo_path))
    assert result.exit_code == 0, result.output
    assert "row counts verified" in result.output
    back = tmp_path / "back.duckdb"
    result = cli("migrate", "--to", str(back), catalog=location)
    assert result.exit_code == 0, result.output
    original, returned = _contents(str(demo_path)), _contents(str(back))
    for table in original:
        pd.testing.assert_frame_equal(returned[table], original[table], check_dtype=False, obj=table)
    with Catalog.open(demo_path) as source, Catalog.open(back) as copy:
        # the copy adds one audit entry per hop, saying where it came from
        assert copy.counts()["audit_log"] == source.counts()["audit_log"] + 2
        assert copy.audit_log(1)["action"].tolist() == ["copy"]


def test_migrate_into_a_catalog_that_has_rows_copies_nothing(demo_path, demo_lake_template, postgres):
    location = postgres.location(postgres.create_database(template=demo_lake_template))
    with Catalog.open(location) as target:
        before = target.counts()
    result = CliRunner().invoke(main, ["--catalog", str(demo_path), "migrate", "--to", location])
    assert result.exit_code == 1
    assert "is not empty" in result.output and "Nothing was copied" in result.output
    with Catalog.open(location) as target:
        assert target.counts() == before


# ------------------------------------------------------------------------------------ concurrency
def test_a_conflicting_commit_is_retried_until_it_lands():
    attempts = []

    class Writer:
        @retrying
        def write(self):
            attempts.append(1)
            if len(attempts) < 3:
                raise duckdb.TransactionException("Failed to commit DuckLake transaction. Transaction conflict")
            return "written"

    assert Writer().write() == "written"
    assert len(attempts) == 3


def test_other_transaction_errors_are_not_retried():
    attempts = []

    class Writer:
        @retrying
        def write(self):
            attempts.append(1)
            raise duckdb.TransactionException("cannot start a transaction within a transaction")

    with pytest.raises(duckdb.TransactionException):
        Writer().write()
    assert len(attempts) == 1


def test_appends_racing_a_delete_all_land(demo_lake_template, postgres):
    """Soft deletes rewrite rows, which conflicts with appends to the same table; every write still lands."""
    location = postgres.location(postgres.create_database(template=demo_lake_template))
    with Catalog.open(location) as catalog:
        task_id = catalog.task(TASK).id
        victims = catalog.outcomes(task_id)["id"].tolist()[:6]
        before = catalog.counts()
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            with Catalog.open(location) as own:  # its own connection, as another process would have
                for i in range(15):
                    own.add_records("outcomes", [outcome(task_id, f"race-{worker}-{i}")])
        except BaseException as error:
            errors.append(error)

    def delete() -> None:
        try:
            with Catalog.open(location) as own:
                for victim in victims:
                    own.delete_outcomes([victim])
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=append, args=(n,)) for n in range(2)] + [threading.Thread(target=delete)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    with Catalog.open(location) as catalog:
        assert catalog.counts()["outcomes"] - before["outcomes"] == 30
        frame = catalog.outcomes(task_id, include_deleted=True)
        assert set(frame.loc[frame["deleted"], "id"]) == set(victims)


def _writer(location: str, mode: str, worker: int, count: int, extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.lake_writer", location, mode, str(worker), str(count),
                             extra], cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


# A writer that hangs is stopped after this long; a slow one on a busy machine is never failed for slowness.
WRITER_TIMEOUT = 1800


def _finish(processes: list[subprocess.Popen]) -> None:
    failures = []
    for process in processes:
        try:
            output, _ = process.communicate(timeout=WRITER_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            failures.append(f"hung for {WRITER_TIMEOUT} s:\n{output[-3000:]}")
            continue
        if process.returncode != 0:
            failures.append(output[-3000:])
    assert failures == []


# The suite's run is small on purpose (its verdict is the exact count, never the time); bench/bench_reliability.py
# runs the same check with 4 × 250 commands.
@pytest.mark.timeout(2 * WRITER_TIMEOUT)
def test_four_processes_logging_6_outcomes_each_write_exactly_24_rows(demo_lake_template, postgres, tmp_path):
    location = postgres.location(postgres.create_database(template=demo_lake_template))
    with Catalog.open(location) as catalog:
        before = catalog.counts()
    _finish([_writer(location, "log", n, 6, str(tmp_path)) for n in range(4)])
    with Catalog.open(location) as catalog:
        after = catalog.counts()
        runs = catalog.outcomes(catalog.task(TASK).id)["run_id"]
    assert after["outcomes"] - before["outcomes"] == 24
    assert runs.str.startswith("writer-").sum() == 24 == runs[runs.str.startswith("writer-")].nunique()
    assert after["audit_log"] - before["audit_log"] == 24  # one import entry per write, none lost


@pytest.mark.timeout(2 * WRITER_TIMEOUT)
def test_recomputing_while_others_log_loses_nothing(demo_lake_template, postgres, tmp_path):
    location = postgres.location(postgres.create_database(template=demo_lake_template))
    with Catalog.open(location) as catalog:
        before = catalog.counts()
        other = catalog.tasks().query("name != @TASK")["name"].iloc[0]
    _finish([_writer(location, "log", 0, 6, str(tmp_path)), _writer(location, "log", 1, 6, str(tmp_path)),
             _writer(location, "recommend", 2, 4, TASK), _writer(location, "recommend", 3, 4, other)])
    with Catalog.open(location) as catalog:
        after = catalog.counts()
        snapshots = catalog.recommendation_history(catalog.task(TASK).id)["snapshot_id"].dropna()
    assert after["outcomes"] - before["outcomes"] == 12
    assert after["recommendations"] - before["recommendations"] == 8
    assert len(snapshots) == 4 and snapshots.is_monotonic_increasing
