"""Reading the human and synthetic samples and deciding what each column is.

Every column shared by the two samples gets a kind (numeric, datetime,
categorical, boolean or text) or a documented reason to be skipped; the
reasons travel into the report so nothing disappears silently. Problems that
make an assessment meaningless (no shared column, a column typed differently
in the two files, a file with a single row, a text column without text) are
refused with a message that names the file and the column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from strategy.errors import AssessmentRejected, Problem
from strategy.ingest import (
    SAMPLE_ROW_LIMIT_ENV,
    read_data_file,
    read_text,
    sample_bounds,
    sample_decoded_limit_bytes,
    sample_row_limit,
)

Kind = Literal["numeric", "datetime", "categorical", "boolean", "text"]
# A categorical column whose distinct values exceed this share of its rows behaves like an identifier or
# free text: its category frequencies say nothing about likeness, so it is skipped unless chosen as text.
IDENTIFIER_SHARE = 0.5
IDENTIFIER_MIN_DISTINCT = 50
MIN_ROWS = 2
ISO_DATE = r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
TOP_CATEGORIES = 20


@dataclass(frozen=True)
class Sample:
    """One side of an assessment: a label for messages and the rows."""

    label: str
    frame: pd.DataFrame


@dataclass
class ColumnPlan:
    """What each shared column is, which columns were set aside and why."""

    kinds: dict[str, Kind] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    text_column: str | None = None
    segment_column: str | None = None

    def of(self, *kinds: Kind) -> list[str]:
        return [name for name, kind in self.kinds.items() if kind in kinds]

    @property
    def tabular(self) -> list[str]:
        return self.of("numeric", "datetime", "categorical", "boolean")


def read_sample(source: str | Path | IO[bytes], *, label: str | None = None, limit: int | None = None) -> Sample:
    """A CSV, Parquet or JSON-lines file as a typed frame (numbers, dates and booleans recognised).

    ``limit`` bounds the bytes read (the upload limit); the rows are bounded by STRATEGY_MAX_SAMPLE_ROWS
    (default 10,000,000) and the bytes decoded by STRATEGY_MAX_SAMPLE_DECODED_MB (default 4,096), before the
    rows are materialised.
    """
    label, table = read_data_file(source, label=label, limit=limit, bounds=sample_bounds())
    return arrow_sample(table, label)


def arrow_sample(table: pa.Table, label: str) -> Sample:
    """An Arrow table as a typed sample (numbers, dates and booleans recognised as for a file)."""
    return Sample(label, _typed(table.to_pandas(types_mapper=_plain_types)))


def _plain_types(arrow_type: pa.DataType):
    # Arrow strings become plain object columns so the kind detection below sees Python values.
    return None


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Give text columns that hold only numbers, ISO dates or true/false words their real type."""
    for name in frame.columns:
        column = frame[name]
        if not holds_text(column):
            if pd.api.types.is_datetime64_any_dtype(column) and getattr(column.dt, "tz", None) is not None:
                frame[name] = column.dt.tz_convert("UTC").dt.tz_localize(None)
            continue
        present = column.dropna()
        if present.empty or not all(isinstance(v, str) for v in present.head(1000)):
            if not present.empty and all(isinstance(v, (date, datetime)) for v in present.head(1000)):
                frame[name] = pd.to_datetime(column)  # Arrow reads ISO dates in CSV as date objects
            elif not present.empty and all(isinstance(v, (bool, np.bool_)) for v in present.head(1000)):
                frame[name] = column.astype("boolean")
            elif not present.empty and all(isinstance(v, (int, float)) for v in present.head(1000)):
                frame[name] = pd.to_numeric(column, errors="coerce")
            continue
        # Each check runs on the first values before the whole column, so a text column costs little.
        head = present.head(1000).astype(str).str.strip()
        text = None
        if head.str.lower().isin(["true", "false"]).all():
            text = present.astype(str).str.strip()
            if text.str.lower().isin(["true", "false"]).all():
                frame[name] = column.map(lambda v: None if v is None or v != v else
                                         str(v).strip().lower() == "true").astype("boolean")
                continue
        if pd.to_numeric(head, errors="coerce").notna().all():
            text = present.astype(str).str.strip() if text is None else text
            if pd.to_numeric(text, errors="coerce").notna().all():
                frame[name] = pd.to_numeric(column, errors="coerce")
                continue
        if head.str.match(ISO_DATE).all():
            text = present.astype(str).str.strip() if text is None else text
            if text.str.match(ISO_DATE).all():
                # Stamps with a zone become UTC; all dates are stored naive, as Arrow's readers leave them.
                frame[name] = pd.to_datetime(column, errors="coerce", utc=True).dt.tz_localize(None)
    return frame


def holds_text(column: pd.Series) -> bool:
    """Text columns, whether pandas stores them as objects or as its string type."""
    return column.dtype == object or isinstance(column.dtype, pd.StringDtype)


def text_columns(frame: pd.DataFrame) -> list[str]:
    return [name for name in frame.columns if holds_text(frame[name])]


def frame_sample(frame: pd.DataFrame, label: str) -> Sample:
    """Wrap a frame already in memory (the Python API and the tests)."""
    return Sample(label, _typed(frame.copy()))


def _kind_of(column: pd.Series) -> Kind:
    if pd.api.types.is_bool_dtype(column):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(column):
        return "datetime"
    if pd.api.types.is_numeric_dtype(column):
        return "numeric"
    return "categorical"


def _constant(values: pd.Series) -> bool:
    """Whether a column (missing values dropped) holds one value at most: a comparison with its first value, where
    counting the distinct values of a million numbers took longer than the rest of the column's checks."""
    return values.empty or bool((values == values.iloc[0]).all())


_KIND_WORDS = {"numeric": "numbers", "datetime": "dates", "categorical": "text", "boolean": "true/false values",
               "text": "text"}


def plan_columns(human: Sample, synthetic: Sample, holdout: Sample | None = None, *,
                 columns: list[str] | None = None, text_column: str | None = None,
                 segment_column: str | None = None, ignore: list[str] | None = None) -> ColumnPlan:
    """Decide each shared column's kind; raise AssessmentRejected for input that cannot be assessed."""
    problems: list[Problem] = []
    for sample in (human, synthetic, holdout):
        if sample is not None and len(sample.frame) < MIN_ROWS:
            problems.append(Problem(sample.label, None, "file",
                                    f"has {len(sample.frame)} row; at least {MIN_ROWS} rows are needed to compare "
                                    "distributions"))
    shared = [c for c in human.frame.columns if c in set(synthetic.frame.columns)]
    if not shared:
        problems.append(Problem(synthetic.label, None, "columns",
                                f"shares no column with {human.label} (human columns: "
                                f"{', '.join(map(str, human.frame.columns[:8]))}; synthetic columns: "
                                f"{', '.join(map(str, synthetic.frame.columns[:8]))})"))
    wanted = shared if columns is None else list(columns)
    for name in wanted:
        if name not in shared:
            where = human.label if name not in human.frame.columns else synthetic.label
            problems.append(Problem(where, None, name, "is not a column of this file, so it cannot be compared"))
    for role, name in (("text column", text_column), ("segment column", segment_column)):
        if name is not None and name not in shared:
            problems.append(Problem(synthetic.label if name in human.frame.columns else human.label, None, name,
                                    f"was chosen as the {role} but is not a column of this file"))
    if segment_column is not None and segment_column in shared and segment_column not in wanted:
        problems.append(Problem(human.label, None, segment_column,
                                "was chosen as the segment column but is not among the columns to compare; add it "
                                "to them"))
    if holdout is not None:
        missing = [c for c in wanted if c in shared and c not in holdout.frame.columns]
        if missing:
            problems.append(Problem(holdout.label, None, missing[0],
                                    f"is missing from the holdout ({len(missing)} compared column(s) missing); the "
                                    "holdout must have the columns of the human sample"))
    if problems:
        raise AssessmentRejected(problems)

    plan = ColumnPlan(text_column=text_column, segment_column=segment_column)
    ignored = set(ignore or [])
    for name in wanted:
        if name in ignored:
            plan.skipped[name] = "ignored as chosen"
            continue
        h, s = human.frame[name], synthetic.frame[name]
        if name == text_column:
            plan.kinds[name] = "text"
            continue
        if h.isna().all() or s.isna().all():
            empty = human.label if h.isna().all() else synthetic.label
            plan.skipped[name] = f"has no value in {empty}"
            continue
        kh, ks = _kind_of(h), _kind_of(s)
        if kh != ks:
            problems.append(Problem(synthetic.label, None, name,
                                    f"holds {_KIND_WORDS[ks]} here but {_KIND_WORDS[kh]} in {human.label}; convert "
                                    "one of them, or ignore the column"))
            continue
        if holdout is not None and _kind_of(holdout.frame[name]) != kh and not holdout.frame[name].isna().all():
            problems.append(Problem(holdout.label, None, name,
                                    f"holds {_KIND_WORDS[_kind_of(holdout.frame[name])]} here but {_KIND_WORDS[kh]} "
                                    f"in {human.label}"))
            continue
        hv, sv = h.dropna(), s.dropna()
        if _constant(hv) and _constant(sv) and (hv.empty or sv.empty or hv.iloc[0] == sv.iloc[0]):
            plan.skipped[name] = f"is constant ({hv.iloc[0]!r}) in both samples: nothing to compare"
            continue
        if kh == "categorical" and name != segment_column:
            distinct = hv.nunique()
            if distinct >= IDENTIFIER_MIN_DISTINCT and distinct > IDENTIFIER_SHARE * len(hv):
                plan.skipped[name] = (f"looks like an identifier or free text ({distinct:,} distinct values in "
                                      f"{len(hv):,} human rows); choose it as the text column to assess it as text")
                continue
        plan.kinds[name] = kh
    if segment_column in plan.skipped:
        problems.append(Problem(human.label, None, segment_column,
                                f"was chosen as the segment column but {plan.skipped[segment_column]}"))
    if text_column is not None:
        for sample in (human, synthetic):
            words = sample.frame[text_column].dropna().astype(str).str.strip()
            if not (words != "").any():
                problems.append(Problem(sample.label, None, text_column, "was chosen as the text column but holds no "
                                                                         "text"))
    if problems:
        raise AssessmentRejected(problems)
    if not plan.kinds:
        reasons = "; ".join(f"{k} {v}" for k, v in list(plan.skipped.items())[:5])
        raise AssessmentRejected([Problem(synthetic.label, None, "columns",
                                          f"no column is left to compare after skipping ({reasons})")])
    return plan


def likely_text_column(frame: pd.DataFrame, min_words: float = 5.0) -> str | None:
    """The column that most looks like free text (the most words per value, at least ``min_words``); a sample
    that is only one text column (a .txt file) is that column."""
    if len(frame.columns) == 1 and holds_text(frame[frame.columns[0]]):
        return frame.columns[0]
    best, most = None, min_words
    for name in frame.columns:
        if not holds_text(frame[name]):
            continue
        words = frame[name].dropna().head(500).astype(str).str.split().str.len()
        if not words.empty and words.mean() >= most:
            best, most = name, float(words.mean())
    return best


# ----------------------------------------------------------------------------- encodings
def as_numbers(column: pd.Series) -> np.ndarray:
    """Numeric and datetime values as floats (datetimes in seconds); missing values are NaN."""
    if pd.api.types.is_datetime64_any_dtype(column):
        values = column.astype("datetime64[ns]").to_numpy()
        out = values.astype("int64").astype(float) / 1e9
        out[np.isnat(values)] = np.nan
        return out
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


MISSING_LABEL = "∅ missing"


def as_labels(column: pd.Series) -> pd.Series:
    """Categorical and boolean values as strings; a missing value is a category of its own."""
    if column.dtype == object:
        # Values of mixed types (1, 1.0 and True hash alike) keep each their own text.
        return column.astype(object).where(column.notna(), MISSING_LABEL).astype(str)
    # Typed columns: the text of each distinct value, taken for every row, instead of a Python string
    # made per row and converted back (most of a million-row report's time in this function).
    which, texts = distinct_labels(column)
    return pd.Series(pd.array(texts, dtype=str).take(which), index=column.index, name=column.name)


def distinct_labels(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A typed column's labels as each row's index into the texts of its distinct values (missing last)."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    texts = np.array([str(value) for value in uniques] + [MISSING_LABEL], dtype=object)
    return np.where(codes < 0, len(uniques), codes), texts


@dataclass
class Encoder:
    """Turns rows into vectors for neighbour search and detection, fitted on the human sample.

    Numbers are standardised with the human mean and spread (missing → 0 plus
    a missing flag); categories are one-hot over the human sample's most
    frequent values scaled by 1/√2, so a changed category is one unit away,
    like a one-standard-deviation change.
    """

    plan: ColumnPlan
    top: int = TOP_CATEGORIES
    centre_: dict[str, tuple[float, float, bool]] = field(default_factory=dict, init=False)
    levels_: dict[str, list[str]] = field(default_factory=dict, init=False)

    def fit(self, human: pd.DataFrame) -> Encoder:
        for name in self.plan.of("numeric", "datetime"):
            values = as_numbers(human[name])
            finite = values[np.isfinite(values)]
            mean = float(finite.mean()) if finite.size else 0.0
            spread = float(finite.std()) if finite.size else 1.0
            self.centre_[name] = (mean, spread if spread > 0 else 1.0, bool(np.isnan(values).any()))
        for name in self.plan.of("categorical", "boolean"):
            self.levels_[name] = as_labels(human[name]).value_counts().index[: self.top].tolist()
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        parts = []
        for name, (mean, spread, flag) in self.centre_.items():
            values = (as_numbers(frame[name]) - mean) / spread
            missing = ~np.isfinite(values)
            parts.append(np.where(missing, 0.0, values)[:, None])
            if flag or missing.any():
                parts.append(missing[:, None].astype(float))
        for name, levels in self.levels_.items():
            labels = as_labels(frame[name]).to_numpy()
            one_hot = np.zeros((len(frame), len(levels) + 1))
            index = pd.Index(levels).get_indexer(labels)
            one_hot[np.arange(len(frame)), np.where(index < 0, len(levels), index)] = 1.0
            parts.append(one_hot / np.sqrt(2))
        return np.hstack(parts) if parts else np.zeros((len(frame), 0))


def sample_rows(frame: pd.DataFrame, cap: int, seed: int) -> pd.DataFrame:
    """At most ``cap`` rows drawn without replacement (all rows when there are fewer)."""
    if len(frame) <= cap:
        return frame
    return frame.sample(n=cap, random_state=seed)


def split_halves(frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two random halves of a sample: the noise floor compares them with each other."""
    order = np.random.default_rng(seed).permutation(len(frame))
    middle = len(frame) // 2
    return frame.iloc[order[:middle]], frame.iloc[order[middle:]]


def read_texts(source: str | Path | IO[bytes], *, label: str | None = None) -> Sample:
    """A plain-text file with one text per line, as a one-column sample named ``text``."""
    rows = sample_row_limit()
    label, text = read_text(source, label, limit=sample_decoded_limit_bytes())
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > rows:
        raise AssessmentRejected([Problem(label, None, "file", f"has {len(lines):,} texts, over the limit of "
                                                               f"{rows:,} rows; raise {SAMPLE_ROW_LIMIT_ENV}")])
    return Sample(label, pd.DataFrame({"text": lines}))
