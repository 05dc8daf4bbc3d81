"""Offline W&B runs made by the wandb package itself (WANDB_MODE=offline: no network), for the import tests."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def offline_wandb(folder: Path, settings: Path | None = None) -> Iterator:
    """wandb in offline mode writing under ``folder`` (its settings, cache and data folders too, so nothing lands
    in the home folder); yields the wandb module and stops its service after."""
    wandb = pytest.importorskip("wandb", reason="the trackers extra (wandb) is not installed; `make test` installs it")
    settings = settings or folder / ".wandb-settings"
    with pytest.MonkeyPatch.context() as env:
        for name, value in {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DISABLE_GIT": "true",
                            "WANDB_DIR": str(folder), "WANDB_CONFIG_DIR": str(settings),
                            "WANDB_CACHE_DIR": str(settings), "WANDB_DATA_DIR": str(settings)}.items():
            env.setenv(name, value)
        try:
            yield wandb
        finally:
            wandb.teardown()


def make_offline_runs(folder: Path, runs: Sequence[tuple[dict, Sequence[dict]]], *, project: str = "xray") -> Path:
    """Each run's config and the rows it logs, as wandb writes them under ``folder/wandb``; returns that folder."""
    with offline_wandb(folder) as wandb:
        for config, rows in runs:
            run = wandb.init(project=project, dir=folder, config=config, settings=wandb.Settings(console="off"))
            for row in rows:
                run.log(row)
            run.finish()
    return folder / "wandb"


def zipped(folder: Path) -> bytes:
    """A .zip of a folder, as a researcher would upload their wandb/ folder."""
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                archive.write(path, path.relative_to(folder.parent).as_posix())
    return sink.getvalue()
