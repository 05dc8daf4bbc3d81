"""Hostile catalogs and machines (issue 16): a catalog file with damaged bytes, a full disk, and a viewer whose
read-only commands must never create or migrate a catalog. Every case asserts the message names the place
and the reason, that nothing was written (file bytes or row counts compared), and that the command line
answers with exit status 1 and no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from strategy.access import Identity
from strategy.catalog import LATEST_VERSION, TABLES, Catalog
from strategy.cli import main
from strategy.errors import CatalogError
from strategy.store.mechanism import explain_open_failure
from tests.hostile.verdicts import refused, rows_in

ADMIN = {"STRATEGY_ROLE": "admin", "STRATEGY_USER": "ops"}
VIEWER = {"STRATEGY_ROLE": "viewer", "STRATEGY_USER": "vera"}
TASK = "Card fraud detection"
HEADERS = 3 * 4096       # DuckDB's file header and its two database headers
BLOCK = 256 * 1024       # then blocks of this size


def cli(catalog: Path | str, *args: str, env: dict | None = None):
    return CliRunner().invoke(main, ["--catalog", str(catalog), *args], env=env or ADMIN)






# ---------------------------------------------------------------------------------------------- damage
def overwrite(offset: int, data: bytes) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        with path.open("r+b") as file:
            file.seek(offset)
            file.write(data)
    return damage


def truncate(keep: Callable[[int], int]) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        os.truncate(path, keep(path.stat().st_size))
    return damage


@pytest.fixture(scope="module")
def tasks_block(demo_template, tmp_path_factory) -> int:
    """The offset of a damage inside the block holding the tasks table's rows (the file still opens): found,
    not assumed, as the layout of the demo file is DuckDB's business."""
    probe = tmp_path_factory.mktemp("probe") / "probe.duckdb"
    for offset in range(HEADERS + BLOCK + 100, demo_template.stat().st_size, BLOCK):
        shutil.copy(demo_template, probe)
        overwrite(offset, b"\xde\xad\xbe\xef" * 16)(probe)
        try:
            connection = duckdb.connect(str(probe), read_only=True)
        except duckdb.Error:
            continue  # a metadata block: the file does not even open
        try:
            connection.execute("SELECT * FROM tasks").fetchall()
        except duckdb.Error as error:
            if "Corrupt database file" in str(error):
                return offset
        finally:
            connection.close()
    pytest.fail("no block of the demo catalog holds the tasks table's rows")


DAMAGE = {
    "file-header-checksum": overwrite(100, b"\x00\xff" * 32),
    "first-database-header": overwrite(4096 + 100, b"\xde\xad\xbe\xef" * 16),
    "second-database-header-zeroed": overwrite(8192, bytes(4096)),
    "metadata-block": overwrite(HEADERS + 100, b"\xde\xad\xbe\xef" * 16),
    "cut-in-half": truncate(lambda size: size // 2),
    "cut-to-the-headers": truncate(lambda size: HEADERS + 100),
}


@pytest.mark.parametrize("command", ["status", "tasks", "portfolio"])
@pytest.mark.parametrize("kind", list(DAMAGE))
def test_a_damaged_catalog_is_called_damaged_and_left_as_it_is(kind, command, demo_path):
    DAMAGE[kind](demo_path)
    before = demo_path.read_bytes()
    output = refused(cli(demo_path, command))
    assert f"Catalog {demo_path} is damaged" in output
    assert "strategy --catalog NEW.duckdb restore BACKUP_FOLDER" in output
    assert "in use by another process" not in output
    assert demo_path.read_bytes() == before
    assert sorted(p.name for p in demo_path.parent.iterdir()) == [demo_path.name]


def test_damaged_magic_bytes_say_what_the_file_may_be_and_how_back(demo_path):
    overwrite(8, b"XXXX")(demo_path)
    before = demo_path.read_bytes()
    output = refused(cli(demo_path, "status"))
    assert "is not a DuckDB database this program can read, so it was left untouched" in output
    assert "it is damaged" in output and "strategy restore" in output
    assert demo_path.read_bytes() == before


@pytest.mark.parametrize("command", ["tasks", "tasks --json --all", "portfolio", "backup", "log"])
def test_damage_inside_table_data_is_reported_when_it_is_read(command, tasks_block, demo_path, tmp_path):
    overwrite(tasks_block, b"\xde\xad\xbe\xef" * 16)(demo_path)
    before = demo_path.read_bytes()
    args = command.split()
    if command == "backup":
        args.append(str(tmp_path / "backup"))
    if command == "log":
        source = tmp_path / "one.csv"
        source.write_text(f"task,n_human,n_synthetic,metric,value\n{TASK},10,20,AUPRC,0.5\n")
        args.append(str(source))
    output = refused(cli(demo_path, *args))
    assert f"Catalog {demo_path} is damaged" in output and "restore" in output
    assert "in use by another process" not in output
    assert demo_path.read_bytes() == before
    assert not (tmp_path / "backup").exists()  # an unfinished backup leaves no folder


OPEN_FAILURES = [
    pytest.param("IO Error: Corrupt database file: computed checksum 1 does not match stored checksum 2 in block at "
                 "location 4096", "is damaged", id="checksum-in-block"),
    pytest.param('IO Error: Could not read enough bytes from file "x.duckdb": attempted to read 4096 bytes from '
                 "location 8192", "is damaged", id="file-cut-short"),
    pytest.param('IO Error: Could not set lock on file "x.duckdb": Conflicting lock is held in python (PID 7). '
                 "See also https://duckdb.org/docs/stable/connect/concurrency", "in use by another process",
                 id="held-by-another-process"),
    pytest.param('IO Error: The file "x.duckdb" exists, but it is not a valid DuckDB database file!',
                 "is not a DuckDB database", id="not-a-database"),
    pytest.param("IO Error: Cannot open file: the block device is unlocked", "Could not open catalog",
                 id="lock-only-inside-other-words"),
    pytest.param('IO Error: Could not write file "x.duckdb": No space left on device', "No space left on device",
                 id="disk-full-when-creating"),
]


@pytest.mark.parametrize(("message", "expected"), OPEN_FAILURES)
def test_an_open_failure_is_explained_by_duckdbs_actual_words(message, expected):
    explained = explain_open_failure("x.duckdb", duckdb.IOException(message))
    assert expected in explained
    if expected != "in use by another process":
        assert "in use by another process" not in explained


def test_a_catalog_held_by_another_process_is_still_said_to_be_in_use(empty_path):
    script = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(120)"
    holder = subprocess.Popen([sys.executable, "-c", script, str(empty_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        output = refused(cli(empty_path, "status"))
        assert "in use by another process" in output and "damaged" not in output
    finally:
        holder.kill()
        holder.wait(timeout=60)
        holder.stdout.close()


# -------------------------------------------------------------------------------------------- full disk
class Disk:
    """A small tmpfs of its own, so a full disk can be made without filling the machine's."""

    def __init__(self, root: Path):
        self.root = root
        self.filler = root / "filler"

    def fill(self) -> None:
        descriptor = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            for size in (1 << 20, 1 << 16, 4096, 512, 1):
                while True:
                    try:
                        os.write(descriptor, b"\0" * size)
                    except OSError:
                        break
        finally:
            os.close(descriptor)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def leftovers(self) -> list[str]:
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.name.endswith(".part"))


@pytest.fixture
def disk(tmp_path):
    root = tmp_path / f"disk-{uuid.uuid4().hex[:8]}"
    root.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(root)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here to fill: {(mounted.stderr or mounted.stdout).strip()}")
    try:
        yield Disk(root)
    finally:
        subprocess.run(["umount", "-l", str(root)], capture_output=True)


def _outcome_file(folder: Path) -> Path:
    source = folder / "outcome.csv"
    source.write_text(f"task,n_human,n_synthetic,metric,value,run_id\n{TASK},120,480,AUPRC,0.61,disk-full-1\n")
    return source


def _tasks_file(folder: Path) -> Path:
    source = folder / "tasks.csv"
    source.write_text("name,domain,modality,metric\nDisk test task,Ops,text,accuracy\n")
    return source


WRITES = [
    pytest.param(lambda folder: ["log", "--no-recompute", str(_outcome_file(folder))], id="log-without-recompute"),
    pytest.param(lambda folder: ["log", str(_outcome_file(folder))], id="log-and-recompute"),
    pytest.param(lambda folder: ["tasks", "add", str(_tasks_file(folder))], id="tasks-add"),
    pytest.param(lambda folder: ["maintain"], id="maintain"),
    pytest.param(lambda folder: ["recommend", TASK], id="recommend"),
]


@pytest.mark.parametrize("command", WRITES)
def test_a_full_disk_during_a_write_says_so_and_writes_nothing(command, disk, demo_template, tmp_path):
    catalog = disk.root / "catalog.duckdb"
    shutil.copy(demo_template, catalog)
    before = rows_in(catalog)
    args = command(tmp_path)
    disk.fill()
    output = refused(cli(catalog, *args))
    disk.free()
    assert "No space left on device while" in output and str(catalog) in output
    assert output.strip().count("\n") == 0, output  # one line
    assert disk.leftovers() == []
    assert rows_in(catalog) == before


def test_a_full_disk_during_maintenance_leaves_pending_changes_pending(disk, demo_template):
    """Changes still in the write-ahead log when the disk fills: the checkpoint fails, says so, and the
    changes are neither lost nor half written."""
    catalog = disk.root / "catalog.duckdb"
    shutil.copy(demo_template, catalog)
    expected = rows_in(catalog)
    expected["audit_log"] += 40
    script = ("import duckdb, os, sys; c = duckdb.connect(sys.argv[1]); c.execute(\"SET checkpoint_threshold='1GB'\"); "
              "c.execute('INSERT INTO audit_log SELECT * FROM audit_log LIMIT 40'); os._exit(0)")
    subprocess.run([sys.executable, "-c", script, str(catalog)], check=True, timeout=600)
    assert (disk.root / "catalog.duckdb.wal").exists()  # left pending by a process that never closed
    disk.fill()
    output = refused(cli(catalog, "maintain"))
    disk.free()
    assert f"No space left on device while maintaining {catalog}; the checkpoint did not complete" in output
    assert rows_in(catalog) == expected


def test_a_full_disk_during_a_backup_removes_the_unfinished_backup(disk, demo_path):
    target = disk.root / "backups" / "monday"
    disk.fill()
    output = refused(cli(demo_path, "backup", str(target)))
    disk.free()
    assert f"No space left on device while writing the backup to {target}" in output
    assert "the backup is incomplete and was removed" in output
    assert not (disk.root / "backups").exists()  # the folders it made are gone too
    assert disk.leftovers() == []


def test_a_full_disk_during_a_backup_into_an_empty_folder_leaves_it_empty(disk, demo_path):
    target = disk.root / "given"
    target.mkdir()
    disk.fill()
    output = refused(cli(demo_path, "backup", str(target)))
    disk.free()
    assert "the backup is incomplete and was removed" in output
    assert list(target.iterdir()) == []


def test_a_full_disk_during_a_restore_restores_nothing(disk, demo_path, tmp_path):
    source = tmp_path / "backup"
    assert cli(demo_path, "backup", str(source)).exit_code == 0
    target = disk.root / "restored.duckdb"
    Catalog.open(target).close()
    disk.fill()
    output = refused(cli(target, "restore", str(source)))
    disk.free()
    assert "No space left on device while writing to the catalog" in output and "nothing was written" in output
    assert rows_in(target) == dict.fromkeys(TABLES, 0)


# ----------------------------------------------------------------------------------------------- viewers
def rewound(path: Path, version: int) -> Path:
    """The catalog as an older version of strategy left it (the later migrations are safe to run again)."""
    with duckdb.connect(str(path)) as connection:
        connection.execute("DELETE FROM schema_version WHERE version > ?", [version])
    return path


VIEWER_COMMANDS = [
    pytest.param(["status"], id="status"),
    pytest.param(["status", "--json"], id="status-json"),
    pytest.param(["init"], id="init"),
    pytest.param(["init", "--demo"], id="init-demo"),
    pytest.param(["tasks"], id="tasks"),
    pytest.param(["portfolio"], id="portfolio"),
]


@pytest.mark.parametrize("args", VIEWER_COMMANDS)
def test_a_viewer_never_creates_a_catalog(args, tmp_path):
    missing = tmp_path / "not-yet" / "catalog.duckdb"
    output = refused(cli(missing, *args, env=VIEWER))
    assert f"Catalog {missing} does not exist" in output
    assert "vera is a viewer, who cannot create it: that needs the researcher or admin role" in output
    assert "Nothing was written." in output
    assert not (tmp_path / "not-yet").exists()


@pytest.mark.parametrize("args", VIEWER_COMMANDS)
def test_a_viewer_never_migrates_a_catalog(args, demo_path):
    rewound(demo_path, 3)
    before = demo_path.read_bytes()
    output = refused(cli(demo_path, *args, env=VIEWER))
    assert f"Catalog {demo_path} is at schema version 3 and needs migrating to version {LATEST_VERSION}" in output
    assert "vera is a viewer, who cannot migrate it: that needs the researcher or admin role" in output
    assert demo_path.read_bytes() == before
    assert sorted(p.name for p in demo_path.parent.iterdir()) == [demo_path.name]


def test_a_viewer_does_not_turn_an_empty_duckdb_file_into_a_catalog(tmp_path):
    path = tmp_path / "blank.duckdb"
    duckdb.connect(str(path)).close()
    before = path.read_bytes()
    output = refused(cli(path, "status", env=VIEWER))
    assert "holds no strategy catalog yet" in output and "cannot create it" in output
    assert path.read_bytes() == before


def test_the_python_api_refuses_a_viewer_the_same_way(demo_path, tmp_path):
    viewer = Identity("vera@lab.org", "viewer", signed_in=True)
    with pytest.raises(CatalogError, match="does not exist, and vera@lab.org is a viewer"):
        Catalog.open(tmp_path / "missing.duckdb", identity=viewer)
    assert not (tmp_path / "missing.duckdb").exists()
    rewound(demo_path, 4)
    before = demo_path.read_bytes()
    with pytest.raises(CatalogError, match="needs migrating"):
        Catalog.open(demo_path, identity=viewer)
    assert demo_path.read_bytes() == before


def test_a_viewer_reads_an_up_to_date_catalog_without_changing_it(demo_path):
    before = demo_path.read_bytes()
    result = cli(demo_path, "status", env=VIEWER)
    assert result.exit_code == 0, result.output
    assert "viewer" in result.output and f"schema version {LATEST_VERSION}" in result.output
    assert demo_path.read_bytes() == before


def test_a_researcher_still_brings_an_old_catalog_up_to_date(demo_path):
    rewound(demo_path, 3)
    result = cli(demo_path, "status", env={"STRATEGY_ROLE": "researcher", "STRATEGY_USER": "rita"})
    assert result.exit_code == 0, result.output
    assert f"schema version {LATEST_VERSION}" in result.output
