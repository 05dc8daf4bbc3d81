"""Named exceptions whose message is what the user sees."""

from __future__ import annotations

from dataclasses import dataclass


class StrategyError(Exception):
    """Base class: the message is written for the person at the keyboard."""


class CatalogError(StrategyError):
    """The catalog cannot be opened or used as asked (foreign file, newer schema, locked...)."""


class UnknownTask(StrategyError):
    """A task id or name that the catalog does not hold."""

    def __init__(self, reference: str):
        super().__init__(f"Unknown task {reference!r}: no task has that id or name.")
        self.reference = reference


@dataclass(frozen=True)
class Problem:
    """One reason a row was refused, located well enough to fix it."""

    source: str
    row: int | None
    field: str
    reason: str

    def __str__(self) -> str:
        where = self.source if self.row is None else f"{self.source}, row {self.row}"
        return f"{where}, field {self.field!r}: {self.reason}"


class ImportRejected(StrategyError):
    """Input refused as a whole: nothing was written. Carries every problem found."""

    headline = "Nothing was written"

    def __init__(self, problems: list[Problem], *, limit: int = 20):
        self.problems = list(problems)
        shown = [f"  - {p}" for p in self.problems[:limit]]
        if len(self.problems) > limit:
            shown.append(f"  … and {len(self.problems) - limit} more")
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(
            f"{self.headline}: {len(self.problems)} {noun} found.\n" + "\n".join(shown)
        )


class AssessmentRejected(ImportRejected):
    """Samples that cannot be compared (no shared column, mismatched types, too few rows...)."""

    headline = "Cannot assess these samples"


class PermissionDenied(StrategyError):
    """A write the acting person's role does not allow: nothing was written."""


class TrackerError(StrategyError):
    """Runs that cannot be read from an experiment tracker (an unknown experiment, an unreachable server, a
    damaged run file): the message names the source and the reason. Nothing was written."""
