"""Where a catalog dataset's sample file may live, and reading it without reaching anything else.

A dataset's ``location`` is set by an admin and read by the app for whoever opens the Data quality page, so it
must never become a way to read the server's files: it resolves (symlinks and ``..`` followed by the operating
system) inside one of the allowed folders, names a regular file of a table format, and is read with a byte
limit. A refusal names the dataset and its location, never anything read from the file.

The allowed folders are the demo's sample folder (``data/seed/samples``) and the project's ``data/`` folder. An
admin may set ``$STRATEGY_SAMPLE_ROOTS`` to a list of folders (separated by ``os.pathsep``: ``:`` on Linux and
macOS), which replaces ``data/``; the demo's samples stay allowed. A relative location is looked up in each
allowed folder in turn.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from strategy.errors import StrategyError
from strategy.ingest import inert, upload_limit_bytes

SAMPLE_ROOTS_ENV = "STRATEGY_SAMPLE_ROOTS"
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SAMPLES_DIR = DATA_DIR / "seed" / "samples"
DEFAULT_ROOTS = (SAMPLES_DIR, DATA_DIR)
# What the quality reader understands; anything else (a .env, a key, a database file) is not a sample.
SAMPLE_SUFFIXES = (".csv", ".parquet", ".jsonl", ".ndjson", ".json", ".txt")
_MB = 1024 * 1024


class LocationRefused(StrategyError):
    """A dataset's sample location that the app will not read: outside the allowed folders, not a regular file
    of a table format, missing or too large. Nothing was read or written."""


@dataclass(frozen=True)
class SampleFile:
    """A checked sample location: the real path inside an allowed folder and its size in bytes."""

    path: Path
    size: int

    @property
    def is_text(self) -> bool:
        return self.path.suffix.lower() == ".txt"


def allowed_roots(roots: Sequence[str | os.PathLike] | None = None) -> list[Path]:
    """The folders sample files may live in, each resolved to its real path (symlinks followed): the demo's
    samples and the project's data/ folder, or the demo's samples and the folders $STRATEGY_SAMPLE_ROOTS lists."""
    if roots is None:
        configured = os.environ.get(SAMPLE_ROOTS_ENV, "")
        listed = [part.strip() for part in configured.split(os.pathsep) if part.strip()]
        # The demo's own samples (shipped with the code) stay readable, so the demo works whatever is set.
        roots = [SAMPLES_DIR, *listed] if listed else DEFAULT_ROOTS
    return [Path(os.path.realpath(os.fspath(root))) for root in roots]


def _shown(location: str) -> str:
    # Control and bidi characters as escapes, so a hostile location cannot restyle or reorder the message.
    return f"'{inert(location)}'"


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def check_location(location: str, dataset: str, *, roots: Sequence[str | os.PathLike] | None = None,
                   limit: int | None = None) -> SampleFile:
    """Resolve a dataset's sample location, refusing anything the app must not read.

    Checks, in this order so that nothing about a file outside the allowed folders is revealed: the location
    resolves inside an allowed folder; it exists; it is a regular file (not a folder, device, pipe or socket);
    its name ends in a sample format; it is within the byte limit (the upload limit unless given).
    """
    allowed = allowed_roots(roots)
    limit = upload_limit_bytes() if limit is None else limit
    where = f"Dataset {dataset!r}: its sample location {_shown(location)}"
    if "\x00" in location:
        raise LocationRefused(f"{where} is not a file path.")
    given = Path(location)
    candidates = [given] if given.is_absolute() else [root / given for root in allowed]
    # Each candidate as the system resolves it (symlinks and .. followed), whether it is inside, whether it exists.
    resolved = [(real, any(_inside(real, root) for root in allowed), os.path.lexists(real))
                for real in (Path(os.path.realpath(candidate)) for candidate in candidates)]
    inside = [real for real, within, _ in resolved if within]
    found = [real for real, within, exists in resolved if within and exists]
    if not inside or (not found and any(exists for _, within, exists in resolved if not within)):
        folders = ", ".join(str(root) for root in allowed)
        raise LocationRefused(f"{where} is outside the allowed folders ({folders}); an admin can allow a folder "
                              f"with {SAMPLE_ROOTS_ENV}.")
    real = (found or inside)[0]
    try:
        info = os.stat(real)
    except OSError:
        raise LocationRefused(f"{where} does not exist (or cannot be read).") from None
    if not stat.S_ISREG(info.st_mode):
        raise LocationRefused(f"{where} is not a regular file (it is a folder, device, pipe or socket).")
    if real.suffix.lower() not in SAMPLE_SUFFIXES:
        raise LocationRefused(f"{where} is not a sample file: it must be CSV, Parquet, JSON lines or .txt "
                              f"(a name ending in {', '.join(SAMPLE_SUFFIXES)}).")
    if info.st_size > limit:
        raise LocationRefused(f"{where} is {info.st_size / _MB:,.1f} MB, over the limit of {limit / _MB:,.0f} MB "
                              "(STRATEGY_MAX_UPLOAD_MB).")
    return SampleFile(real, info.st_size)


def read_location(location: str, dataset: str, *, roots: Sequence[str | os.PathLike] | None = None,
                  limit: int | None = None) -> tuple[SampleFile, bytes]:
    """The checked sample file and its bytes, read without following a symlink swapped in after the check,
    without blocking on a pipe, and never beyond the limit."""
    limit = upload_limit_bytes() if limit is None else limit
    sample = check_location(location, dataset, roots=roots, limit=limit)
    where = f"Dataset {dataset!r}: its sample location {_shown(location)}"
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(sample.path, flags)
    except OSError:
        raise LocationRefused(f"{where} cannot be opened.") from None
    with os.fdopen(descriptor, "rb") as handle:
        opened = os.fstat(handle.fileno())
        if not stat.S_ISREG(opened.st_mode):
            raise LocationRefused(f"{where} is not a regular file (it is a folder, device, pipe or socket).")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise LocationRefused(f"{where} is over the limit of {limit / _MB:,.0f} MB (STRATEGY_MAX_UPLOAD_MB).")
    return sample, data
