"""The humanness metrics: each one a HumannessMetric, registered by its own module when this package is imported.

A metric says what it measures (``label``), which part of a sample it reads (``modality``: the table columns
or the text column), how much it counts in the modality's score (``weight``), how to compute its result from
a pair of samples, and how to turn that result into a score in 0–1. The assessment (strategy.quality.report)
computes every registered metric of a modality, on the samples and again between two halves of the human
sample (the noise floor), weights the scores by the registry's weights and stores the weights it used beside
them; the pages, the CLI's summary and the exports read names, labels and weights from here. A new metric is
one new module in this package, and nothing else is edited (README: "Adding a humanness metric").
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from strategy.quality.columns import ColumnPlan, Encoder, sample_rows

MODALITIES = ("tabular", "text")
# Rows per side that a subsampled metric (detection, k-NN) draws, unless the assessment asks for another size:
# their scores settle long before this, and their cost grows faster than the rows.
SAMPLE_ROWS = 5_000
_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass
class ComparedSamples:
    """What a metric compares. For ``tabular`` metrics, ``human`` and ``synthetic`` are DataFrames of the
    compared columns and ``plan`` says each column's kind; for ``text`` metrics they are Series of cleaned
    texts of equal length (at most TEXT_ROWS each) and ``plan`` is None. ``seed`` makes every draw repeatable:
    a metric that subsamples offsets it (seed, seed + 1, …) so that its draws differ from its neighbours'."""

    human: Any
    synthetic: Any
    seed: int
    plan: ColumnPlan | None = None
    sample_rows: int = SAMPLE_ROWS  # at most this many rows per side for a metric registered as subsampled

    @cached_property
    def encoder(self) -> Encoder:
        """The numeric encoding of the table columns, fitted on the human rows (shared by the metrics that
        need vectors: detection, k-NN)."""
        return Encoder(self.plan).fit(self.human)

    def encoded(self, side: str, rows: int, offset: int = 0) -> np.ndarray:
        """At most ``rows`` rows of one side (``"human"`` or ``"synthetic"``), drawn with seed + offset and
        encoded as numbers."""
        frame: pd.DataFrame = getattr(self, side)
        return self.encoder.transform(sample_rows(frame, rows, self.seed + offset))


def score_field(result: Any) -> float | None:
    """The usual score of a result: its ``score`` entry."""
    return result.get("score") if isinstance(result, dict) else None


def mean_row_score(result: Any) -> float | None:
    """The score of a per-column or per-pair result: the mean of its rows' scores that could be computed."""
    kept = [row.get("score") for row in result or [] if isinstance(row, dict)]
    kept = [float(value) for value in kept if value is not None and np.isfinite(value)]
    return float(np.mean(kept)) if kept else None


@dataclass(frozen=True)
class HumannessMetric:
    """One humanness metric.

    ``compute(samples)`` returns a JSON-able result (a dict, or a list of per-column rows), stored in the
    report as it is. ``score(result)`` turns it into 0–1 (1 = indistinguishable from human data) or None when
    it could not be computed; the metric's weight then goes to the others. ``describe(result)``, when given,
    is the one line the Data quality page shows of what it found. Two metrics of different modalities may
    share a name ("detection" exists for tables and for text)."""

    name: str  # the key in the report and its weights: "shapes"
    label: str  # what the pages and the summary call it: "Column shapes"
    modality: str  # "tabular" or "text"
    weight: float  # its share of the modality's score, relative to the other metrics' weights
    compute: Callable[[ComparedSamples], Any]
    score: Callable[[Any], float | None] = score_field
    describe: Callable[[Any], str] | None = None
    position: int = 100  # order among the modality's metrics (tables, progress, the summary): lower first
    # Computed on a seeded subsample of at most ``ComparedSamples.sample_rows`` rows per side: the report
    # states the size and, on large samples, the score's drift over other subsamples.
    subsampled: bool = False

    def __post_init__(self):
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"a humanness metric's name is lower-case letters, digits and _, not {self.name!r}")
        if self.modality not in MODALITIES:
            raise ValueError(f"a humanness metric's modality is one of {', '.join(MODALITIES)}, not {self.modality!r}")
        if not (isinstance(self.weight, (int, float)) and np.isfinite(self.weight) and self.weight >= 0):
            raise ValueError(f"metric {self.name!r}: its weight is a number of 0 or more, not {self.weight!r}")


_registered: dict[tuple[str, str], HumannessMetric] = {}


def register(metric: HumannessMetric) -> HumannessMetric:
    """Compute ``metric`` in every assessment of its modality from now on. Registering a name again replaces
    that metric where it stands (as when its module is imported again)."""
    _registered[(metric.modality, metric.name)] = metric
    return metric


def unregister(modality: str, name: str) -> None:
    """Stop computing the metric ``name`` of ``modality`` (a no-op when it is not registered)."""
    _registered.pop((modality, name), None)


@contextmanager
def registered(metric: HumannessMetric) -> Iterator[HumannessMetric]:
    """The metric registered for the duration of a ``with`` block (for tests), then put back as it was."""
    before = _registered.get((metric.modality, metric.name))
    register(metric)
    try:
        yield metric
    finally:
        unregister(metric.modality, metric.name)
        if before is not None:
            register(before)


def metrics(modality: str) -> tuple[HumannessMetric, ...]:
    """The registered metrics of one modality, by position, then in the order they were registered."""
    return tuple(sorted((m for m in _registered.values() if m.modality == modality), key=lambda m: m.position))


def metric(modality: str, name: str) -> HumannessMetric | None:
    return _registered.get((modality, name))


def weights(modality: str) -> dict[str, float]:
    """Name → weight of the modality's registered metrics, in their order (what a new report stores)."""
    return {m.name: float(m.weight) for m in metrics(modality)}


def label(modality: str, name: str) -> str:
    """What a metric is called; a stored report's metric that is no longer registered keeps its name."""
    found = metric(modality, name)
    return found.label if found else name.replace("_", " ").capitalize()


# Every module of this package is a set of metrics that register themselves when imported, so a new metric is
# one new file: no list here to extend.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
