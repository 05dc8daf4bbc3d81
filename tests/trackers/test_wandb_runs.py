"""W&B runs read back from real offline run folders, written by the wandb package itself (no network)."""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from strategy.errors import TrackerError
from strategy.trackers import wandb_runs
from strategy.trackers.runs import FINISHED
from strategy.trackers.wandb_runs import read_wandb_archive, read_wandb_runs
from tests.trackers.wandb_store import offline_wandb

wandb = pytest.importorskip("wandb", reason="the trackers extra (wandb) is not installed; `make test` installs it")

ALPHA_AUROC = [0.5, 0.6, 0.65, 0.7, 0.72]
BETA_AUROC = [0.4, 0.55, 0.61]
LONG_STEPS = 400
OLD_CONFIG = """wandb_version: 1

_wandb:
  desc: null
  value:
    cli_version: 0.15.12
    python_version: 3.10.12
n_human:
  desc: null
  value: 200
task:
  desc: Which task
  value: sentiment
optim:
  desc: null
  value:
    lr: 0.001
"""
OLD_SUMMARY = {"AUROC": 0.81, "_step": 9, "_runtime": 12.5, "_timestamp": 1700000000.0, "_wandb": {"runtime": 12}}


def _run(project: str, **init):
    return wandb.init(mode="offline", project=project, settings=wandb.Settings(console="off"), **init)


@pytest.fixture(scope="module")
def runs_home(tmp_path_factory) -> Path:
    """A folder holding ``wandb/`` with five offline runs made by wandb, plus one run folder in the older
    config.yaml + wandb-summary.json layout written by hand."""
    home = tmp_path_factory.mktemp("wandb_home")
    with offline_wandb(home, tmp_path_factory.mktemp("wandb_settings")):
        run = _run("mixing", dir=home, name="alpha", tags=["baseline", "v1"],
                   config={"n_human": 100, "n_synthetic": 0, "task": "sentiment", "flag": True,
                           "optim": {"lr": 0.5, "name": "adam"}})
        for value in ALPHA_AUROC:
            run.log({"AUROC": value, "val": {"loss": 1 - value}, "note": "text is not a metric"})
        run.config.update({"late": 7})
        run.summary["best_epoch"] = 3
        run.finish()
        run = _run("mixing", dir=home, name="beta", config={"n_human": 50, "n_synthetic": 50, "task": "sentiment"})
        for i, value in enumerate(BETA_AUROC):
            run.log({"AUROC": value}, step=10 * i)
        run.finish()
        run = _run("mixing", dir=home, name="failed", config={"n_human": 10, "n_synthetic": 90})
        run.log({"AUROC": 0.1})
        run.finish(exit_code=1)
        run = _run("mixing", dir=home, name="long", config={"n_human": 1, "n_synthetic": 1})
        for step in range(LONG_STEPS):
            run.log({"loss": step / 1000})
        run.log({"loss": 9.0, "blob": "x" * 70_000})  # one record of ~70 KB: pieces in three blocks at least
        run.finish()
    old = home / "wandb" / "run-20240101_000000-abc123" / "files"
    old.mkdir(parents=True)
    (old / "config.yaml").write_text(OLD_CONFIG)
    (old / "wandb-summary.json").write_text(json.dumps(OLD_SUMMARY))
    return home


@pytest.fixture(scope="module")
def runs(runs_home):
    return {run.name: run for run in read_wandb_runs(runs_home)}


def _folder_of(home: Path, run_id: str) -> Path:
    return next(folder for folder in (home / "wandb").iterdir() if folder.name.endswith(run_id)
                and not folder.is_symlink())


def _wandb_file(home: Path, run_id: str) -> Path:
    return _folder_of(home, run_id) / f"run-{run_id}.wandb"


def _archive(home: Path, kind: str, extra=()) -> bytes:
    buffer = io.BytesIO()
    files = sorted((Path(folder) / name, (Path(folder) / name).relative_to(home).as_posix())
                   for folder, _, names in os.walk(home / "wandb") for name in names  # links to folders: not walked
                   if not (Path(folder) / name).is_symlink())
    if kind == "zip":
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path, name in files:
                archive.write(path, name)
            for name, content in extra:
                archive.writestr(name, content)
    else:
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for path, name in files:
                archive.add(path, name)
            for name, content in extra:
                info = tarfile.TarInfo(name)
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_runs_read_with_config_tags_and_history(runs):
    assert sorted(runs) == ["abc123", "alpha", "beta", "failed", "long"]
    alpha = runs["alpha"]
    assert alpha.state == FINISHED and alpha.experiment == "mixing" and len(alpha.run_id) == 8
    assert alpha.tags == {"baseline": "", "v1": ""}
    assert alpha.metrics["AUROC"] == list(enumerate(ALPHA_AUROC))
    assert alpha.metrics["val.loss"] == [(step, 1 - value) for step, value in enumerate(ALPHA_AUROC)]
    assert "note" not in alpha.metrics and not any(key.startswith("_") for key in alpha.metrics)
    assert runs["beta"].metrics["AUROC"] == [(0, 0.4), (10, 0.55), (20, 0.61)]
    assert runs["beta"].params == {"n_human": "50", "n_synthetic": "50", "task": "sentiment"}


def test_config_is_flattened_as_text_and_updated_after_init(runs):
    assert runs["alpha"].params == {"n_human": "100", "n_synthetic": "0", "task": "sentiment", "flag": "true",
                                    "optim.lr": "0.5", "optim.name": "adam", "late": "7"}


def test_a_value_only_in_the_summary_is_one_pair_at_the_last_step(runs):
    assert runs["alpha"].metrics["best_epoch"] == [(len(ALPHA_AUROC) - 1, 3.0)]


def test_a_failed_run_reads_as_failed(runs):
    assert runs["failed"].state == "FAILED"
    assert runs["failed"].metrics["AUROC"] == [(0, 0.1)]


def test_records_spanning_blocks_are_joined(runs, runs_home):
    long = runs["long"]
    assert _wandb_file(runs_home, long.run_id).stat().st_size > 3 * 32_768
    assert long.metrics["loss"] == [(step, step / 1000) for step in range(LONG_STEPS)] + [(LONG_STEPS, 9.0)]
    assert long.state == FINISHED and "blob" not in long.metrics


def test_older_layout_config_yaml_and_summary_json(runs):
    old = runs["abc123"]
    assert (old.run_id, old.state) == ("abc123", FINISHED)
    assert old.params == {"n_human": "200", "task": "sentiment", "optim.lr": "0.001"}
    assert old.metrics == {"AUROC": [(9, 0.81)]}


def test_wandb_folder_its_parent_and_one_run_folder_agree(runs_home, runs):
    by_parent = read_wandb_runs(runs_home)
    assert [run.name for run in by_parent] == [run.name for run in sorted(
        by_parent, key=lambda run: _folder_of(runs_home, run.run_id).name)]
    assert read_wandb_runs(runs_home / "wandb") == by_parent
    assert read_wandb_runs(_folder_of(runs_home, runs["beta"].run_id)) == [runs["beta"]]


def test_symlinked_run_folders_are_not_followed(runs_home, tmp_path, runs):
    home = tmp_path / "home"
    shutil.copytree(runs_home, home, symlinks=True)
    outside = tmp_path / "outside"
    shutil.copytree(_folder_of(runs_home, runs["beta"].run_id), outside / "offline-run-20990101_000000-zzz")
    (home / "wandb" / "offline-run-20990101_000000-zzz").symlink_to(outside / "offline-run-20990101_000000-zzz")
    assert (home / "wandb" / "latest-run").is_symlink()  # wandb's own link to the last run: not read twice
    assert sorted(run.name for run in read_wandb_runs(home)) == sorted(runs)


def test_zip_and_tar_gz_archives_give_the_same_runs(runs_home):
    expected = read_wandb_runs(runs_home)
    assert read_wandb_archive(_archive(runs_home, "zip"), "runs.zip") == expected
    assert read_wandb_archive(_archive(runs_home, "tar"), "runs.tar.gz") == expected


def test_archive_members_outside_it_or_links_are_ignored(runs_home):
    garbage = b":W&B\xe1\xbe\x00" + b"\xff" * 40
    extra = [("../escape/run-evil.wandb", garbage), ("/abs/run-evil.wandb", garbage),
             ("wandb/..\\..\\run-evil.wandb", garbage)]
    expected = read_wandb_runs(runs_home)
    assert read_wandb_archive(_archive(runs_home, "zip", extra), "runs.zip") == expected
    buffer = io.BytesIO(_archive(runs_home, "tar", extra))
    with tarfile.open(fileobj=buffer, mode="r:gz") as source:
        members = [(member, source.extractfile(member).read() if member.isreg() else None) for member in source]
    linked = io.BytesIO()
    with tarfile.open(fileobj=linked, mode="w") as archive:
        for member, content in members:
            archive.addfile(member, io.BytesIO(content) if content is not None else None)
        link = tarfile.TarInfo("wandb/offline-run-20990101_000000-lnk/run-lnk.wandb")
        link.type, link.linkname = tarfile.SYMTYPE, "../../../outside/secret"
        archive.addfile(link)
    assert read_wandb_archive(linked.getvalue(), "runs.tar") == expected


def test_oversize_files_and_archives_are_refused(runs_home, runs, monkeypatch):
    monkeypatch.setenv("STRATEGY_MAX_UPLOAD_MB", "0.05")
    with pytest.raises(TrackerError, match=rf"run-{runs['long'].run_id}\.wandb.*larger than the upload limit"):
        read_wandb_runs(runs_home)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("wandb/offline-run-x/run-x.wandb", b"\0" * 1_000_000)
    assert len(bomb.getvalue()) < 50_000
    with pytest.raises(TrackerError, match="unpacks to more than"):
        read_wandb_archive(bomb.getvalue(), "bomb.zip")
    tar_bomb = io.BytesIO()
    with tarfile.open(fileobj=tar_bomb, mode="w:gz") as archive:
        info = tarfile.TarInfo("wandb/offline-run-x/run-x.wandb")
        info.size = 1_000_000
        archive.addfile(info, io.BytesIO(b"\0" * info.size))
    with pytest.raises(TrackerError, match="unpacks to more than"):
        read_wandb_archive(tar_bomb.getvalue(), "bomb.tar.gz")


def test_a_zip_member_holding_more_than_it_declares_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("wandb/offline-run-x/run-x.wandb", b"\0" * 100_000)
    lying = bytearray(buffer.getvalue())
    struct.pack_into("<I", lying, 22, 10)  # the uncompressed size, in the local header and the central directory
    struct.pack_into("<I", lying, lying.rfind(b"PK\x01\x02") + 24, 10)
    with pytest.raises(TrackerError, match=r"lying\.zip is not a zip or tar archive that can be read: Bad CRC"):
        read_wandb_archive(bytes(lying), "lying.zip")


def test_too_many_members_or_runs_are_refused(runs_home, monkeypatch):
    monkeypatch.setattr(wandb_runs, "MAX_RUNS", 3)
    with pytest.raises(TrackerError, match="more than 3 run folders"):
        read_wandb_runs(runs_home)
    with pytest.raises(TrackerError, match="more than 3 files"):
        read_wandb_archive(_archive(runs_home, "zip"), "runs.zip")


def _copy_run(runs_home: Path, run_id: str, tmp_path: Path) -> Path:
    folder = tmp_path / _folder_of(runs_home, run_id).name
    shutil.copytree(_folder_of(runs_home, run_id), folder)
    return folder / f"run-{run_id}.wandb"


def _records(data: bytes) -> list[tuple[int, int]]:
    """Where each record piece starts in a .wandb file, and its kind (1 whole, 2 first, 3 middle, 4 last)."""
    position, found = 7, []
    while position < len(data):
        if 32_768 - position % 32_768 < 7:
            position += 32_768 - position % 32_768
            continue
        _, length, kind = struct.unpack_from("<IHB", data, position)
        found.append((position, kind))
        position += 7 + length
    return found


def test_a_truncated_or_damaged_run_file_is_refused_naming_it(runs_home, runs, tmp_path):
    record_file = _copy_run(runs_home, runs["long"].run_id, tmp_path)
    whole = record_file.read_bytes()
    kinds = [kind for _, kind in _records(whole)]
    assert 2 in kinds and 3 in kinds and 4 in kinds  # the 70 KB record really is in pieces
    first_piece = max(position for position, kind in _records(whole) if kind == 2)
    after_first_piece = (first_piece // 32_768 + 1) * 32_768
    for cut in (len(whole) - 10, after_first_piece, after_first_piece + 100, 5):
        record_file.write_bytes(whole[:cut])
        with pytest.raises(TrackerError, match=rf"{record_file.name}.*(cut short|header)"):
            read_wandb_runs(record_file.parent)
    damaged = bytearray(whole)
    damaged[1_000] ^= 0xFF
    record_file.write_bytes(bytes(damaged))
    with pytest.raises(TrackerError, match=rf"{record_file.name} is damaged at byte"):
        read_wandb_runs(record_file.parent)


def test_a_run_without_its_exit_record_reads_as_running(runs_home, runs, tmp_path):
    record_file = _copy_run(runs_home, runs["beta"].run_id, tmp_path)
    whole = record_file.read_bytes()
    record_file.write_bytes(whole[:_records(whole)[-1][0]])  # as a crashed run leaves it, cut between records
    (run,) = read_wandb_runs(record_file.parent)
    assert run.state == "RUNNING" and run.metrics["AUROC"] == runs["beta"].metrics["AUROC"]


def test_no_runs_or_not_an_archive_is_refused(tmp_path):
    (tmp_path / "wandb").mkdir()
    (tmp_path / "wandb" / "debug.log").write_text("")
    with pytest.raises(TrackerError, match=r"No W&B runs in .*offline-run-\*"):
        read_wandb_runs(tmp_path)
    with pytest.raises(TrackerError, match="is not a folder"):
        read_wandb_runs(tmp_path / "missing")
    with pytest.raises(TrackerError, match="not a zip or tar archive"):
        read_wandb_archive(b"just some bytes" * 100, "runs.zip")
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("notes.txt", "no runs here")
    with pytest.raises(TrackerError, match=r"No W&B runs in empty\.zip"):
        read_wandb_archive(empty.getvalue(), "empty.zip")


def test_without_wandb_installed_the_message_says_which_extra(runs_home, runs, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb.proto.wandb_internal_pb2", None)
    with pytest.raises(TrackerError, match="`trackers` extra"):
        read_wandb_runs(_folder_of(runs_home, runs["beta"].run_id))
