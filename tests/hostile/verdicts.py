"""What every hostile case checks: a refusal reached the user as a message, and the catalog's row counts."""

from __future__ import annotations

from pathlib import Path

from strategy.catalog import Catalog


def refused(result) -> str:
    """The command failed as a message: exit status 1, no traceback. Returns what it printed."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    return result.output


def rows_in(location: Path | str) -> dict[str, int]:
    with Catalog.open(location) as catalog:
        return catalog.counts()
