"""What every store shares: where the catalog lives, retrying a write whose commit lost a race, turning
records into frames, and saying what went wrong with the file (damaged, locked, out of space) in words."""

from __future__ import annotations

import errno
import functools
import os
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
from pydantic import BaseModel

from strategy import lake
from strategy.access import ROLES, Identity, local_identity
from strategy.errors import CatalogError
from strategy.models import utc_now
from strategy.store.schema import AUDIT_RENAMES, TABLES

DEFAULT_LOCATION = Path("data") / "catalog.duckdb"


CATALOG_ENV = "STRATEGY_CATALOG"


# A commit that lost a race to another writer is tried again after a growing, jittered pause.
CONFLICT_ATTEMPTS = 12


CONFLICT_FIRST_PAUSE = 0.02


CONFLICT_LONGEST_PAUSE = 1.0


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


def record_frame(records: Sequence[BaseModel], table: str) -> pd.DataFrame:
    rows = [record.model_dump() for record in records]
    frame = pd.DataFrame(rows, columns=list(TABLES[table].model_fields))
    if table == "audit_log":
        frame = frame.rename(columns=AUDIT_RENAMES)
    return frame


def with_stamp(record: BaseModel, actor: str) -> BaseModel:
    fields = type(record).model_fields
    update = {}
    if "created_by" in fields:
        update.update(created_by=actor, created_at=utc_now())
    if "updated_by" in fields:
        update.update(updated_by=actor, updated_at=utc_now())
    return record.model_copy(update=update)


# What DuckDB says when the bytes of a file are not what it wrote: a block whose checksum fails, a file cut short.
_DAMAGE_SIGNS = ("Corrupt database file", "Could not read enough bytes from file")


# What DuckDB says when another process holds the file (the whole phrase: "block" also contains "lock").
_LOCK_SIGNS = ("Could not set lock on file", "Conflicting lock is held")


_NO_SPACE_SIGNS = ("No space left on device", "Disk quota exceeded")


def is_damage(error: BaseException) -> bool:
    return isinstance(error, duckdb.Error) and any(sign in str(error) for sign in _DAMAGE_SIGNS)


def damaged(where: str, error: BaseException) -> str:
    return (f"Catalog {where} is damaged: some of its bytes are not what DuckDB wrote, so it cannot be read. "
            "It was left as it is. Restore the latest backup into a new catalog with `strategy --catalog NEW.duckdb "
            f"restore BACKUP_FOLDER` (see `strategy backup`). Detail: {error}")


def is_out_of_space(error: BaseException) -> bool:
    """The disk (or the quota) is full: said so in one line, not as a traceback."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return any(sign in str(error) for sign in _NO_SPACE_SIGNS)


@contextmanager
def out_of_space(doing: str, consequence: str) -> Iterator[None]:
    try:
        yield
    except (duckdb.Error, OSError) as error:
        if is_out_of_space(error):
            raise CatalogError(f"No space left on device while {doing}; {consequence}. Free some space and try "
                               "again.") from None
        raise


def refuse_schema_write(identity: Identity | None, problem: str, doing: str) -> None:
    """A viewer may read a catalog but never create or migrate one (opening must not write behind their back)."""
    who = identity or local_identity()
    if who.role == ROLES[0]:
        raise CatalogError(f"{problem}, and {who.user} is a {who.role}, who cannot {doing}: that needs the "
                           f"{' or '.join(ROLES[1:])} role. Nothing was written.")


def explain_open_failure(where: str, error: duckdb.Error) -> str:
    text = str(error)
    if is_damage(error):
        return damaged(where, error)
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
