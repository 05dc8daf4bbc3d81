"""Hostile backups (issue 16): a restore trusts neither the manifest nor the rows. Each case damages one thing
in a good backup of the demo and checks the refusal names the place (file, row, field; the manifest key),
that nothing at all was written, and that the command line answers in a message, never a traceback."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from strategy.backup import MANIFEST, backup, restore
from strategy.catalog import LATEST_VERSION, TABLES, Catalog
from strategy.cli import main
from strategy.errors import CatalogError, ImportRejected
from tests.hostile.verdicts import refused, rows_in
from tests.seed_counts import DATASETS

ADMIN = {"STRATEGY_ROLE": "admin", "STRATEGY_USER": "restorer"}


@pytest.fixture(scope="module")
def good_backup(demo_template, tmp_path_factory) -> Path:
    """One backup of the demo (recommendations and model state included), copied by each test."""
    folder = tmp_path_factory.mktemp("good") / "backup"
    copy = folder.parent / "source.duckdb"
    shutil.copy(demo_template, copy)
    with Catalog.open(copy) as catalog:
        backup(catalog, folder)
    return folder


@pytest.fixture
def folder(good_backup, tmp_path) -> Path:
    target = tmp_path / "backup"
    shutil.copytree(good_backup, target)
    return target


def run_restore(target: Path, source: Path):
    return CliRunner().invoke(main, ["--catalog", str(target), "restore", str(source)], env=ADMIN)






# --------------------------------------------------------------------------------------- edits to a backup
def manifest_of(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text())


def write_manifest(folder: Path, manifest) -> None:
    (folder / MANIFEST).write_text(json.dumps(manifest))


def edit_manifest(change: Callable[[dict], object]) -> Callable[[Path], None]:
    """Change the manifest in place (what ``change`` returns is ignored)."""
    def edit(folder: Path) -> None:
        manifest = manifest_of(folder)
        change(manifest)
        write_manifest(folder, manifest)
    return edit


# Tables a later schema version added, and the version that added each: a backup of an older catalog has none.
ADDED_IN = {"run_mappings": 6}


def at_version(version: int) -> Callable[[Path], None]:
    """The backup as a catalog of that schema version would have written it: that version in the manifest, and
    no file or row count of a table added later."""
    def edit(folder: Path) -> None:
        manifest = manifest_of(folder)
        manifest["schema_version"] = version
        for table, added in ADDED_IN.items():
            if version < added:
                manifest["rows"].pop(table, None)
                (folder / f"{table}.parquet").unlink(missing_ok=True)
        write_manifest(folder, manifest)
    return edit


def replace_manifest(make: Callable[[dict], object]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        write_manifest(folder, make(manifest_of(folder)))
    return edit


def cells(table: str, column: str, changes: dict[int, object], kind: pa.DataType | None = None,
          convert: Callable | None = None) -> Callable[[Path], None]:
    """Set cells of a table's file (rows counted from 1), optionally giving the whole column another type
    (``convert`` maps every other value into it)."""
    def edit(folder: Path) -> None:
        path = folder / f"{table}.parquet"
        data = pq.read_table(path)
        values = data.column(column).to_pylist()
        if convert:
            values = [convert(value) for value in values]
        for row, value in changes.items():
            values[row - 1] = value(values) if callable(value) else value
        index = data.schema.get_field_index(column)
        data = data.set_column(index, column, pa.array(values, kind or data.schema.field(column).type))
        pq.write_table(data, path)
    return edit


def columns(table: str, change: Callable[[pa.Table], pa.Table]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / f"{table}.parquet"
        pq.write_table(change(pq.read_table(path)), path)
    return edit


def payload(row: int, change: Callable[[dict], None]) -> Callable[[Path], None]:
    """Change a stored recommendation's JSON, and its queryable columns along with it where they repeat it."""
    def edit(folder: Path) -> None:
        path = folder / "recommendations.parquet"
        data = pq.read_table(path)
        texts = data.column("payload_json").to_pylist()
        parsed = json.loads(texts[row - 1])
        change(parsed)
        texts[row - 1] = json.dumps(parsed)
        data = data.set_column(data.schema.get_field_index("payload_json"), "payload_json", pa.array(texts))
        task_ids = data.column("task_id").to_pylist()
        task_ids[row - 1] = parsed["task_id"]
        data = data.set_column(data.schema.get_field_index("task_id"), "task_id", pa.array(task_ids))
        pq.write_table(data, path)
    return edit


def both(*edits: Callable[[Path], None]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        for one in edits:
            one(folder)
    return edit


def first(values: list):
    return values[0]


# ------------------------------------------------------------------------------------- the manifest corpus
def _drop(key: str):
    return edit_manifest(lambda m: m.pop(key))


def _set(key: str, value):
    return edit_manifest(lambda m: m.update({key: value}))


def _rows(change: Callable[[dict], object]):
    return edit_manifest(lambda m: change(m["rows"]))


MANIFEST_CASES = [
    pytest.param(_drop("schema_version"), "key 'schema_version' is missing", id="manifest-without-schema-version"),
    pytest.param(_set("schema_version", "abc"), "key 'schema_version' must be a whole number, 1 or more (got 'abc')",
                 id="manifest-schema-version-is-text"),
    pytest.param(_set("schema_version", True), "key 'schema_version' must be a whole number",
                 id="manifest-schema-version-is-a-boolean"),
    pytest.param(_set("schema_version", 4.0), "key 'schema_version' must be a whole number",
                 id="manifest-schema-version-is-a-float"),
    pytest.param(_set("schema_version", 0), "key 'schema_version' must be a whole number, 1 or more (got 0)",
                 id="manifest-schema-version-zero"),
    pytest.param(_set("schema_version", LATEST_VERSION + 1), f"has schema version {LATEST_VERSION + 1}",
                 id="manifest-schema-version-from-the-future"),
    pytest.param(_drop("rows"), "key 'rows' is missing", id="manifest-without-rows"),
    pytest.param(_set("rows", [15, 28]), "key 'rows' must be an object of table name to row count (got a list)",
                 id="manifest-rows-is-a-list"),
    pytest.param(_set("rows", {}), "key 'rows': has no row count for table(s) " + ", ".join(TABLES),
                 id="manifest-rows-empty"),
    pytest.param(_rows(lambda r: r.pop("outcomes")), "key 'rows': has no row count for table(s) outcomes,",
                 id="manifest-rows-missing-one-table"),
    pytest.param(_rows(lambda r: r.update(people=3)), "key 'rows': names unknown table(s) 'people'",
                 id="manifest-rows-unknown-table"),
    pytest.param(_rows(lambda r: r.update(outcomes="165")),
                 "key 'rows.outcomes' must be a whole number of rows, 0 or more (got '165')",
                 id="manifest-count-is-text"),
    pytest.param(_rows(lambda r: r.update(tasks=-1)), "key 'rows.tasks' must be a whole number of rows, 0 or more",
                 id="manifest-count-negative"),
    pytest.param(_rows(lambda r: r.update(tasks=True)), "key 'rows.tasks' must be a whole number of rows",
                 id="manifest-count-is-a-boolean"),
    pytest.param(_rows(lambda r: r.update(outcomes=165.0)), "key 'rows.outcomes' must be a whole number of rows",
                 id="manifest-count-is-a-float"),
    pytest.param(_drop("created_at"), "key 'created_at' is missing", id="manifest-without-created-at"),
    pytest.param(_set("created_at", 20250131), "key 'created_at' must be a date and time",
                 id="manifest-created-at-is-a-number"),
    pytest.param(_set("created_at", "yesterday"), "key 'created_at' must be a date and time",
                 id="manifest-created-at-is-not-a-date"),
    pytest.param(_set("format", "strategy.backup/9"), "key 'format': must be 'strategy.backup/1'",
                 id="manifest-other-format"),
    pytest.param(replace_manifest(lambda m: [m]), "must hold a JSON object (it holds a list)",
                 id="manifest-is-a-list"),
    pytest.param(lambda f: (f / MANIFEST).write_text('{"format": "strategy.backup/1", "rows": {'),
                 "cannot be read as a backup manifest", id="manifest-is-cut-short"),
    pytest.param(lambda f: (f / MANIFEST).write_bytes(b"\xff\xfe{}"), "cannot be read as a backup manifest",
                 id="manifest-is-not-utf8"),
    pytest.param(edit_manifest(lambda m: (m.update(schema_version=1), m["rows"].pop("audit_log"))),
                 "has no row count for table(s) audit_log, which every backup of schema version 1 holds",
                 id="manifest-version-1-missing-a-table"),
    pytest.param(both(_drop("schema_version"), _set("rows", [])),
                 "key 'schema_version' is missing; key 'rows' must be an object", id="manifest-two-keys-wrong"),
]


@pytest.mark.parametrize(("damage", "expected"), MANIFEST_CASES)
def test_a_damaged_manifest_is_refused_in_one_line_naming_the_key(damage, expected, folder, empty_path):
    damage(folder)
    before = rows_in(empty_path)
    output = refused(run_restore(empty_path, folder))
    assert expected in output
    assert MANIFEST in output and "Nothing was restored." in output
    assert output.strip().count("\n") == 0  # one line
    assert rows_in(empty_path) == before == dict.fromkeys(TABLES, 0)


# ------------------------------------------------------------------------------------------ the row corpus
def _fraction(value):
    return float(value)


ROW_CASES = [
    # outcomes: the numbers and text every outcome write path checks
    pytest.param(cells("outcomes", "value", {3: float("nan")}), "outcomes.parquet", 3, "value",
                 "Input should be a finite number", id="outcome-value-nan"),
    pytest.param(cells("outcomes", "value", {9: float("inf")}), "outcomes.parquet", 9, "value",
                 "Input should be a finite number", id="outcome-value-infinite"),
    pytest.param(cells("outcomes", "n_human", {4: -5}), "outcomes.parquet", 4, "n_human",
                 "greater than or equal to 0", id="outcome-negative-count"),
    pytest.param(cells("outcomes", "n_synthetic", {6: 10**16}), "outcomes.parquet", 6, "n_synthetic",
                 "less than or equal to 1000000000000000", id="outcome-huge-count"),
    pytest.param(both(cells("outcomes", "n_human", {2: 0}), cells("outcomes", "n_synthetic", {2: 0})),
                 "outcomes.parquet", 2, "record", "n_human + n_synthetic must be above 0", id="outcome-trained-on-nothing"),
    pytest.param(cells("outcomes", "cost", {5: -1.0}), "outcomes.parquet", 5, "cost",
                 "greater than or equal to 0", id="outcome-negative-cost"),
    pytest.param(cells("outcomes", "regime", {7: "sometimes"}), "outcomes.parquet", 7, "regime",
                 "Input should be 'human_only'", id="outcome-unknown-regime"),
    pytest.param(cells("outcomes", "metric", {8: "AU\x07ROC"}), "outcomes.parquet", 8, "metric",
                 "must not contain control characters", id="outcome-metric-with-a-bell"),
    pytest.param(cells("outcomes", "notes", {10: "red \x1b[31m text"}), "outcomes.parquet", 10, "notes",
                 "must not contain control characters", id="outcome-notes-with-an-escape"),
    pytest.param(cells("outcomes", "source", {11: "rumour"}), "outcomes.parquet", 11, "source",
                 "Input should be 'user'", id="outcome-unknown-source"),
    pytest.param(cells("outcomes", "task_id", {12: "no-such-task"}), "outcomes.parquet", 12, "task_id",
                 "no task has id 'no-such-task'", id="outcome-of-an-unknown-task"),
    pytest.param(cells("outcomes", "id", {5: first}), "outcomes.parquet", 5, "id",
                 "repeats row 1's id", id="outcome-duplicate-id"),
    pytest.param(cells("outcomes", "id", {13: None}), "outcomes.parquet", 13, "id",
                 "Input should be a valid string", id="outcome-without-id"),
    pytest.param(cells("outcomes", "created_at", {14: None}), "outcomes.parquet", 14, "created_at",
                 "Input should be a valid datetime", id="outcome-without-timestamp"),
    pytest.param(cells("outcomes", "deleted", {16: None}), "outcomes.parquet", 16, "deleted",
                 "Input should be a valid boolean", id="outcome-deleted-null"),
    pytest.param(cells("outcomes", "n_human", {3: 1.5}, pa.float64(), _fraction), "outcomes.parquet", 3, "n_human",
                 "cannot be stored as BIGINT without change (got '1.5')", id="outcome-fractional-count"),
    pytest.param(cells("outcomes", "n_human", {15: "many"}, pa.string(), str), "outcomes.parquet", 15, "n_human",
                 "cannot be stored as BIGINT without change (got 'many')", id="outcome-count-as-text"),
    # tasks: unique names and ids, the profile's range
    pytest.param(cells("tasks", "name", {4: lambda v: v[0].upper()}), "tasks.parquet", 4, "name",
                 "also appears in row 1", id="task-duplicate-name-ignoring-case"),
    pytest.param(cells("tasks", "id", {3: first}), "tasks.parquet", 3, "id", "repeats row 1's id",
                 id="task-duplicate-id"),
    pytest.param(cells("tasks", "name", {2: "Chest\x00X-ray"}), "tasks.parquet", 2, "name",
                 "must not contain control characters", id="task-name-with-nul"),
    pytest.param(cells("tasks", "name", {6: "   "}), "tasks.parquet", 6, "name",
                 "String should have at least 1 character", id="task-blank-name"),
    pytest.param(cells("tasks", "interaction", {5: 9}), "tasks.parquet", 5, "interaction",
                 "less than or equal to 4", id="task-factor-out-of-range"),
    pytest.param(cells("tasks", "status", {1: "deleted"}), "tasks.parquet", 1, "status",
                 "Input should be 'active' or 'archived'", id="task-unknown-status"),
    pytest.param(cells("tasks", "status", {8: None}), "tasks.parquet", 8, "status",
                 "Input should be 'active' or 'archived'", id="task-status-null"),
    pytest.param(cells("tasks", "budget", {7: -100.0}), "tasks.parquet", 7, "budget",
                 "greater than or equal to 0", id="task-negative-budget"),
    # the other tables, each through its own model
    pytest.param(cells("datasets", "samples", {2: -1}), "datasets.parquet", 2, "samples",
                 "greater than or equal to 0", id="dataset-negative-samples"),
    pytest.param(cells("datasets", "cost_per_sample", {3: float("nan")}), "datasets.parquet", 3, "cost_per_sample",
                 "Input should be a finite number", id="dataset-cost-nan"),
    pytest.param(cells("datasets", "task_id", {4: "gone"}), "datasets.parquet", 4, "task_id", "no task has id 'gone'",
                 id="dataset-of-an-unknown-task"),
    pytest.param(cells("cost_tiers", "kind", {1: "alien"}), "cost_tiers.parquet", 1, "kind",
                 "Input should be 'human' or 'synthetic'", id="cost-tier-unknown-kind"),
    pytest.param(cells("quality_reports", "humanness", {1: 140.0}), "quality_reports.parquet", 1, "humanness",
                 "less than or equal to 100", id="quality-report-humanness-over-100"),
    pytest.param(cells("audit_log", "actor", {3: ""}), "audit_log.parquet", 3, "actor",
                 "String should have at least 1 character", id="audit-entry-without-actor"),
    pytest.param(cells("audit_log", "changed_at", {2: None}), "audit_log.parquet", 2, "changed_at",
                 "Input should be a valid datetime", id="audit-entry-without-time"),
    pytest.param(cells("recommendations", "payload_json", {1: "{oops"}), "recommendations.parquet", 1,
                 "payload_json", "Invalid JSON", id="recommendation-payload-not-json"),
    pytest.param(cells("recommendations", "human_share_spend", {2: float("nan")}), "recommendations.parquet", 2,
                 "human_share_spend", "is nan but its payload_json says", id="recommendation-column-nan"),
    pytest.param(payload(3, lambda p: p.update(task_id="gone")), "recommendations.parquet", 3, "task_id",
                 "no task has id 'gone'", id="recommendation-of-an-unknown-task"),
    pytest.param(payload(1, lambda p: p.update(confidence=7)), "recommendations.parquet", 1,
                 "payload_json.confidence", "less than or equal to 1", id="recommendation-confidence-over-1"),
    pytest.param(cells("model_state", "payload_json", {1: "{oops"}), "model_state.parquet", 1, "payload_json",
                 "is not valid JSON", id="model-state-payload-not-json"),
    # the files' columns
    pytest.param(columns("outcomes", lambda d: d.append_column("secret", pa.array(["x"] * d.num_rows))),
                 "outcomes.parquet", None, "secret", "is not a column of the outcomes table", id="file-extra-column"),
    pytest.param(columns("outcomes", lambda d: d.drop_columns(["value"])), "outcomes.parquet", None, "value",
                 "is missing", id="file-missing-column"),
]


@pytest.mark.parametrize(("damage", "file", "row", "field", "reason"), ROW_CASES)
def test_a_backup_with_an_invalid_row_restores_nothing(damage, file, row, field, reason, folder, empty_path):
    damage(folder)
    before = rows_in(empty_path)
    output = refused(run_restore(empty_path, folder))
    place = f"{file}, row {row}, field {field!r}" if row else f"{file}, field {field!r}"
    assert place in output, output
    line = next(line for line in output.splitlines() if place in line)
    assert reason in line, line
    assert output.startswith("Error: Nothing was written:")
    assert rows_in(empty_path) == before == dict.fromkeys(TABLES, 0)


FILE_CASES = [
    pytest.param(lambda f: (f / "outcomes.parquet").unlink(), "outcomes.parquet cannot be read as Parquet",
                 id="file-missing"),
    pytest.param(lambda f: (f / "tasks.parquet").write_bytes(b"PAR1 not really"), "tasks.parquet cannot be read",
                 id="file-not-parquet"),
    pytest.param(columns("datasets", lambda d: d.slice(0, 5)), f"datasets.parquet holds 5 rows; the manifest says {DATASETS}",
                 id="file-lost-rows"),
    pytest.param(columns("cost_tiers", lambda d: pa.concat_tables([d, d.slice(0, 1)])),
                 "cost_tiers.parquet holds 7 rows; the manifest says 6", id="file-gained-a-row"),
]


@pytest.mark.parametrize(("damage", "expected"), FILE_CASES)
def test_a_backup_with_a_damaged_file_restores_nothing(damage, expected, folder, empty_path):
    damage(folder)
    output = refused(run_restore(empty_path, folder))
    assert expected in output and "Nothing was restored." in output
    assert rows_in(empty_path) == dict.fromkeys(TABLES, 0)


# ---------------------------------------------------------------------------------- older schema versions
def test_a_version_1_backup_must_not_carry_columns_that_came_later(folder, empty_path):
    at_version(1)(folder)
    output = refused(run_restore(empty_path, folder))
    assert "datasets.parquet, field 'location': is not a column of the datasets table at schema version 1" in output
    assert "recommendations.parquet, field 'snapshot_id'" in output
    assert rows_in(empty_path) == dict.fromkeys(TABLES, 0)


def test_a_genuine_version_1_backup_restores_into_the_current_schema(folder, empty_path):
    columns("datasets", lambda d: d.drop_columns(["location"]))(folder)
    columns("recommendations", lambda d: d.drop_columns(["snapshot_id"]))(folder)
    at_version(1)(folder)
    result = run_restore(empty_path, folder)
    assert result.exit_code == 0, result.output
    expected = manifest_of(folder)["rows"]
    with Catalog.open(empty_path) as catalog:
        found = catalog.counts()
        assert set(catalog.datasets()["location"].fillna("")) == {""}
    assert found == expected | {"audit_log": expected["audit_log"] + 1, "run_mappings": 0}


def test_nulls_left_by_a_migration_restore_as_they_were(folder, empty_path):
    """Datasets registered before version 2 have no location (NULL) in any catalog, and so in its backups."""
    cells("datasets", "location", {1: None, 2: None})(folder)
    result = run_restore(empty_path, folder)
    assert result.exit_code == 0, result.output
    with Catalog.open(empty_path) as catalog:
        assert catalog.datasets()["location"].isna().sum() == 2


def test_an_old_backup_is_checked_after_its_rows_are_brought_up_to_date(folder, empty_path):
    """Version 4 replaces control characters in names, so a version-3 backup holding one restores (cleaned);
    a NaN no later version fixes is still refused."""
    cells("tasks", "name", {2: "Tab\tname"})(folder)
    at_version(3)(folder)
    damaged = folder.parent / "damaged"
    shutil.copytree(folder, damaged)
    cells("outcomes", "value", {4: float("nan")})(damaged)
    output = refused(run_restore(empty_path, damaged))
    assert "outcomes.parquet, row 4, field 'value'" in output and "tasks.parquet" not in output
    assert rows_in(empty_path) == dict.fromkeys(TABLES, 0)
    result = run_restore(empty_path, folder)
    assert result.exit_code == 0, result.output
    with Catalog.open(empty_path) as catalog:
        assert "Tab name" in set(catalog.tasks()["name"])


# ---------------------------------------------------------------------------------------- the API, both backends
def test_the_python_api_refuses_with_every_problem_named(folder, empty_path):
    cells("outcomes", "value", {3: float("nan"), 8: float("nan")})(folder)
    cells("tasks", "interaction", {2: -1})(folder)
    with Catalog.open(empty_path) as target:
        with pytest.raises(ImportRejected) as caught:
            restore(target, folder)
        assert target.counts() == dict.fromkeys(TABLES, 0)
    places = [(p.source, p.row, p.field) for p in caught.value.problems]
    assert places == [("tasks.parquet", 2, "interaction"), ("outcomes.parquet", 3, "value"),
                      ("outcomes.parquet", 8, "value")]


def test_restoring_a_partial_manifest_through_the_api_raises_a_catalog_error(folder, empty_path):
    _set("rows", {"tasks": 15})(folder)
    with Catalog.open(empty_path) as target, pytest.raises(CatalogError, match="has no row count for table"):
        restore(target, folder)


def test_refusals_and_restores_are_the_same_on_both_backends(demo_location, empty_location, backend, tmp_path):
    source = tmp_path / "from-backend"
    with Catalog.open(demo_location) as catalog:
        backup(catalog, source)
        original = catalog.counts()
    damaged = tmp_path / "damaged"
    shutil.copytree(source, damaged)
    cells("outcomes", "value", {2: float("inf")})(damaged)
    with Catalog.open(empty_location) as target:
        with pytest.raises(ImportRejected, match=r"outcomes.parquet, row 2, field 'value'"):
            restore(target, damaged)
        assert target.counts() == dict.fromkeys(TABLES, 0)
        assert restore(target, source) == original  # the rows of the backup; the restore's own entry comes after
        assert target.counts() == original | {"audit_log": original["audit_log"] + 1}
