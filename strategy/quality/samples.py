"""Reading a sample to assess: from an uploaded file or byte stream, or from a catalog dataset's location (only
inside the allowed folders, never beyond the upload limit, never quoting a file the viewer did not give)."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO

from strategy.errors import AssessmentRejected, ImportRejected, Problem, StrategyError
from strategy.ingest import read_bytes
from strategy.locations import read_location
from strategy.quality.columns import Sample, read_sample, read_texts


def load_sample(source: str | Path | IO[bytes], *, label: str | None = None, limit: int | None = None,
                text: bool | None = None) -> Sample:
    """A sample from a file or byte stream: one text per line for .txt (or ``text=True``), else a CSV, Parquet
    or JSON-lines table. Given a ``limit`` in bytes, more is never read, for .txt as for tables."""
    name = str(label or getattr(source, "name", None) or source)
    if text is None:
        text = name.lower().endswith(".txt")
    try:
        if not text:
            return read_sample(source, label=label, limit=limit)
        if limit is not None:  # never more than the limit read, as for a table
            source = io.BytesIO(read_bytes(source, name, limit=limit)[1])
        return read_texts(source, label=label or name)
    except ImportRejected as error:
        raise AssessmentRejected(error.problems) from None


# What a reader says about a file it cannot read may quote the file (a parser's excerpt, a value, a column name);
# for a dataset's location, read by the app for every viewer, only the kind of failure is shown.
_QUOTES_FROM_HERE = re.compile(r"\s*[:('\"]")
_NOT_SHOWN = " (the file's details are not shown for a catalog location)"


def _without_content(problem: Problem, label: str) -> Problem:
    reason = _QUOTES_FROM_HERE.split(problem.reason, maxsplit=1)[0].rstrip(" ;,")
    if reason != problem.reason:
        reason += _NOT_SHOWN
    field = problem.field if problem.field in ("file", "record") else "column"
    return Problem(label, problem.row, field, reason)


def dataset_sample(dataset: dict, *, roots: Sequence[str | os.PathLike] | None = None) -> Sample:
    """The rows of a catalog dataset, read from its location: only inside the allowed folders
    (strategy.locations), only a regular file of a sample format, never beyond the upload limit; a file that
    cannot be parsed is refused without quoting it."""
    location = dataset.get("location")
    if not isinstance(location, str) or not location.strip():
        raise StrategyError(f"Dataset {dataset['name']!r} has no location: set where a sample of its rows lives "
                            "(a CSV, Parquet or JSON-lines file) in Catalog › Datasets, or upload the file.")
    sample, data = read_location(location.strip(), str(dataset["name"]), roots=roots)
    label = f"{dataset['name']} ({sample.path.name})"
    try:
        if sample.is_text:
            return load_sample(io.BytesIO(data), label=label, text=True)
        # The file's own name tells the reader its format; messages name the dataset.
        return replace(read_sample(io.BytesIO(data), label=sample.path.name, limit=len(data)), label=label)
    except ImportRejected as error:
        raise AssessmentRejected([_without_content(p, label) for p in error.problems]) from None
