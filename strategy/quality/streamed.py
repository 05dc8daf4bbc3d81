"""Large files assessed where they lie: column shapes and pair trends over every row, in DuckDB, the rest on a
seeded subsample.

A sample file above :data:`STREAM_ABOVE_ENV` megabytes (default :data:`DEFAULT_STREAM_ABOVE_MB`) is never read
into memory whole. Each file is loaded into a DuckDB database in a temporary folder, with a memory limit, so
DuckDB spills to disk instead of growing. From there:

- **column shapes** (1 − KS, 1 − TV) and **pair trends** (correlation, binned joint tables) are computed over
  every row, by the same code as strategy.quality.tabular (each column fetched once, see :class:`_Exact`),
  and so are the noise floor's, between two
  seeded halves of all the human rows (a row's half is a hash of its position and the seed, so the halves
  differ in size by a few rows in a million, where the in-memory report splits exactly);
- **every other metric** (detection, coverage, k-NN, privacy, segments) reads a seeded subsample of at most
  :func:`frame_rows` rows per file, drawn uniformly by row position; the report states its size
  (``streamed``), and the drift over redrawn subsamples is measured as for any sample over the threshold.

Column names only ever reach SQL as quoted identifiers, and paths and values as bound parameters.
"""

from __future__ import annotations

import os
import tempfile
from itertools import combinations
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from strategy.errors import AssessmentRejected, Problem
from strategy.ingest import SAMPLE_ROW_LIMIT_ENV, sample_row_limit
from strategy.ingest.json_file import nested_value
from strategy.quality.columns import ColumnPlan, Sample, arrow_sample, plan_columns
from strategy.quality.privacy import PRIVACY_REFERENCE_ROWS
from strategy.quality.report import Assessment, Progress, assess
from strategy.quality.subsample import draw_count, sample_size
from strategy.quality.tabular import CONTINGENCY_BINS, bin_codes, empty_shape, ks_row, pair_rows
from strategy.threads import bounded, thread_limit

STREAM_ABOVE_ENV = "STRATEGY_STREAM_ABOVE_MB"
DEFAULT_STREAM_ABOVE_MB = 256
MEMORY_LIMIT_ENV = "STRATEGY_STREAM_MEMORY_MB"
DEFAULT_MEMORY_LIMIT_MB = 1_024
_READERS = {".csv": "read_csv", ".parquet": "read_parquet", ".jsonl": "read_json", ".ndjson": "read_json"}


def _megabytes(variable: str, default: float) -> float:
    raw = os.environ.get(variable, "").strip()
    try:
        value = float(raw) if raw else float(default)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise AssessmentRejected([Problem("settings", None, variable,
                                          f"is a positive number of megabytes (got {raw!r})")])
    return value


def stream_above_bytes() -> int:
    return int(_megabytes(STREAM_ABOVE_ENV, DEFAULT_STREAM_ABOVE_MB) * 1024 * 1024)


def streams(*paths: str | os.PathLike | None) -> bool:
    """Whether these files are assessed where they lie: a table file over the size threshold."""
    limit = stream_above_bytes()
    return any(p is not None and Path(p).suffix.lower() in _READERS and Path(p).is_file()
               and Path(p).stat().st_size > limit for p in paths)


FRAME_MIN_ROWS = PRIVACY_REFERENCE_ROWS


def frame_rows(sample_rows: int, draws: int) -> int:
    """Rows per file read into memory: enough for privacy's reference search and for every drift draw."""
    return max(FRAME_MIN_ROWS, sample_rows * draws)


def _identifier(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


# Every file is read as Parquet (its own, or the copy a CSV or JSON-lines file is written to), and a row's
# position is its row number there, in the file's order.
_POSITION = "file_row_number"


class _Files:
    """The files behind one DuckDB database, each as a view of renamed columns c0, c1, … and its rows'
    positions in the file (``position_``: the row number in the Parquet file read, the file's own or the one
    a CSV or JSON-lines file was written to, in the same order)."""

    def __init__(self, folder: str):
        limit = max(64, int(_megabytes(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT_MB)))
        self.folder = Path(folder)
        self.con = duckdb.connect(str(self.folder / "assess.duckdb"),
                                  config={"memory_limit": f"{limit}MB", "threads": max(1, thread_limit()),
                                          # Columns fetched one query at a time line up row by row only
                                          # if every scan keeps the file's order (DuckDB's default).
                                          "preserve_insertion_order": True,
                                          "temp_directory": str(self.folder / "spill")})
        self.con.execute("SET TimeZone = 'UTC'")  # text stamps read as in memory, where they become UTC
        self.columns: dict[str, dict[str, str]] = {}  # table → file column → its name here
        self.rows: dict[str, int] = {}
        self.labels: dict[str, str] = {}
        self.converted: dict[str, Path] = {}  # a CSV or JSON-lines file's rows, written once as Parquet
        self.written = 0

    def load(self, table: str, path: str | os.PathLike) -> None:
        """A Parquet file is read where it lies (a view; DuckDB reads only the columns a query needs); a CSV or
        JSON-lines file is parsed once, in file order, into an uncompressed Parquet file in the temporary folder
        and read from there. Parsing straight into Parquet streams with bounded memory; parsing into a table of
        the temporary database, which compresses and checkpoints it, made a 10M-row CSV cost 22 s more than
        Parquet instead of 10 s (bench/bench_quality_files.py)."""
        path = Path(path)
        label = str(path)  # as the user gave it, as for a file read into memory
        if table in self.rows:  # a file in place of another (the next of several candidates)
            self.con.execute(f"DROP VIEW {table}")
            self.con.execute(f"DROP VIEW {table}_file")
            for found in (self.rows, self.columns, self.labels):
                found.pop(table)
            if table in self.converted:
                self.converted.pop(table).unlink(missing_ok=True)
        reader = _READERS.get(path.suffix.lower())
        if reader is None:
            raise AssessmentRejected([Problem(label, None, "file", "a large sample is read as CSV, Parquet or JSON "
                                                                   "lines (.csv, .parquet, .jsonl)")])
        try:
            if reader != "read_parquet":
                parsed = (self.con.read_csv(str(path)) if reader == "read_csv"
                          else self.con.read_json(str(path), format="newline_delimited"))
                self.written += 1
                self.converted[table] = self.folder / f"{table}-{self.written}.parquet"
                parsed.write_parquet(str(self.converted[table]), compression="uncompressed")
            source = self.converted.get(table, path)
            self.con.read_parquet(str(source), file_row_number=True).create_view(f"{table}_file")
            names = [d[0] for d in self.con.execute(f"SELECT * FROM {table}_file LIMIT 0").description]
            names = [n for n in names if n != _POSITION]
            renamed = {name: f"c{i}" for i, name in enumerate(names)}
            chosen = ", ".join(f"{_identifier(n)} AS {c}" for n, c in renamed.items())
            self.con.execute(f"CREATE VIEW {table} AS SELECT {chosen}, {_POSITION} AS position_ FROM {table}_file")
            self.rows[table] = self.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            self._refuse_nested(table, label)
        except duckdb.Error as error:
            raise AssessmentRejected([Problem(label, None, "file", f"could not be read as a table: {error}")]) from None
        # A file past the row limit is refused as in memory: the KS statistic holds one column of it at a time.
        if self.rows[table] > sample_row_limit():
            raise AssessmentRejected([Problem(label, None, "file", f"has {self.rows[table]:,} rows, over the limit "
                                                                   f"of {sample_row_limit():,}; raise "
                                                                   f"{SAMPLE_ROW_LIMIT_ENV}")])
        self.columns[table], self.labels[table] = renamed, label

    def _refuse_nested(self, table: str, label: str) -> None:
        """A field of objects or lists (JSON lines' nested values, Parquet's structs and lists) is refused as a
        file read into memory refuses it, naming the first row that holds one."""
        problems = []
        for name, kind, *_ in self.con.execute(f"DESCRIBE {table}_file").fetchall():
            is_list = kind.endswith("]")
            if name == _POSITION or not (is_list or kind.startswith(("STRUCT", "MAP", "UNION")) or
                                                   kind == "JSON"):
                continue
            first = self.con.execute(f"SELECT min({_POSITION}) FROM {table}_file WHERE {_identifier(name)} "
                                     "IS NOT NULL").fetchone()[0]
            problems.append(nested_value(label, None if first is None else int(first) + 1, name,
                                         list if is_list else dict))
        if problems:
            raise AssessmentRejected(problems)

    def subsample(self, table: str, rows: int, seed: int) -> Sample:
        """At most ``rows`` rows, drawn uniformly by position with the seed, in file order."""
        total = self.rows[table]
        picks = np.sort(np.random.default_rng(seed).choice(total, min(rows, total), replace=False))
        self.con.register("picks", pa.table({"i": picks.astype(np.int64)}))
        try:
            fetched = self.con.execute(f"SELECT * EXCLUDE (position_) FROM {table} SEMI JOIN picks "
                                       "ON position_ = picks.i ORDER BY position_").arrow()
            if hasattr(fetched, "read_all"):  # a reader on recent DuckDB: read it while the picks are there
                fetched = fetched.read_all()
        finally:
            self.con.unregister("picks")
        back = {c: n for n, c in self.columns[table].items()}
        return arrow_sample(fetched.rename_columns([back[c] for c in fetched.column_names]), self.labels[table])


# ----------------------------------------------------------------------------- the exact table metrics
def _number(kind: str, column: str, text: bool = False) -> str:
    """A number or date column's values as seconds or numbers. A column the file holds as text (ISO dates in
    JSON lines, numbers in a text column) was typed from the subsample as in memory (``columns._typed``), so
    it is converted the same way: a value that does not convert is missing, and a stamp with a zone is read
    in UTC (the connection's time zone, so a stamp without one is UTC too)."""
    if text:
        value = f"epoch(TRY_CAST({column} AS TIMESTAMPTZ))" if kind == "datetime" else f"TRY_CAST({column} AS DOUBLE)"
    else:
        value = f"epoch({column})" if kind == "datetime" else f"CAST({column} AS DOUBLE)"
    return f"CASE WHEN isfinite({value}) THEN {value} END"


def _smallest(codes: np.ndarray, count: int) -> np.ndarray:
    """Codes in the narrowest unsigned type that holds ``count`` values: ten columns of 10M rows each stay
    within a few hundred megabytes per side."""
    for kind in (np.uint8, np.uint16, np.uint32):
        if count <= np.iinfo(kind).max:
            return codes.astype(kind)
    return codes.astype(np.int64)


class _Exact:
    """Column shapes and pair trends over every row of the human and synthetic files, and the noise floor's
    between two seeded halves of the human rows, from one read of each column of each file.

    Each column is fetched whole, one at a time, in file order (DuckDB keeps a scan's order). A number or
    date column's values give its KS statistics (against the synthetic file and between the halves) and its
    bin codes, then are let go; a category column is coded against the labels of both files by Arrow. The
    joint tables are then counted from the codes in numpy (a GROUP BY GROUPING SETS over every pair in DuckDB
    took 49 s per comparison at 10M rows per side), and the correlations come from one SQL pass per file,
    the human halves' and the whole human file's together. The definitions are strategy.quality.tabular's.
    """

    def __init__(self, files: _Files, plan: ColumnPlan, seed: int):
        self.con, self.seed = files.con, seed
        self.name = files.columns["human"]  # the same file names map to each table's own renamed columns
        self.kinds = {n: plan.kinds[n] for n in plan.tabular}
        self.numbers = [n for n, k in self.kinds.items() if k in ("numeric", "datetime")]
        self.text = {table: {column for column, kind, *_ in self.con.execute(f"DESCRIBE {table}").fetchall()
                             if kind == "VARCHAR"} for table in ("human", "synthetic")}

    def _number(self, table: str, name: str) -> str:
        column = self.name[name]
        return _number(self.kinds[name], column, column in self.text[table])

    def _half(self) -> str:
        # A row's half: a hash of its position and the seed (the in-memory report splits a permutation).
        return "CAST(hash(position_ + CAST(? AS BIGINT)) % 2 AS UTINYINT)"

    def _values(self, table: str, name: str) -> np.ndarray:
        value = self._number(table, name)
        return self.con.execute(f"SELECT coalesce({value}, 'NaN'::DOUBLE) AS x FROM {table}").fetchnumpy()["x"]

    def _labels(self, table: str, name: str) -> pa.ChunkedArray:
        fetched = self.con.execute(f"SELECT CAST({self.name[name]} AS VARCHAR) AS x FROM {table}").arrow()
        if hasattr(fetched, "read_all"):
            fetched = fetched.read_all()
        return fetched.column("x")

    def metrics(self) -> tuple[dict, dict]:
        """The comparison's shapes and pairs, and the floor's (half 0 against half 1)."""
        half = self.con.execute(f"SELECT {self._half()} AS half FROM human", [self.seed]).fetchnumpy()["half"]
        first = half == 0
        shapes: tuple[list, list] = ([], [])
        codes: tuple[dict, dict] = ({}, {})
        for name, kind in self.kinds.items():
            if name in self.numbers:
                h, s = self._values("human", name), self._values("synthetic", name)
                a, b = h[first], h[~first]
                for found, (left, right) in zip(shapes, ((h, s), (a, b)), strict=True):
                    found.append(ks_row(name, kind, left[np.isfinite(left)], right[np.isfinite(right)]))
                codes[0][name] = tuple(_smallest(c, CONTINGENCY_BINS + 1) for c in bin_codes(h, s))
                codes[1][name] = tuple(_smallest(c, CONTINGENCY_BINS + 1) for c in bin_codes(a, b))
                del h, s, a, b
                continue
            h, s = self._labels("human", name), self._labels("synthetic", name)
            levels = pc.unique(pa.chunked_array(h.chunks + s.chunks, type=pa.string())).drop_null()
            missing = len(levels)  # a category of its own in the joint tables, as in memory
            h, s = (_smallest(pc.fill_null(pc.index_in(side, value_set=levels), missing).to_numpy(), missing + 1)
                    for side in (h, s))
            codes[0][name], codes[1][name] = (h, s), (h[first], h[~first])
            for found, (left, right) in zip(shapes, (codes[0][name], codes[1][name]), strict=True):
                found.append(_total_variation_row(name, kind, left, right, missing))
        correlations = self._correlations()
        return tuple({"shapes": shapes[i], "pairs": pair_rows(list(self.kinds), set(self.numbers),
                                                                lambda a, b, i=i: correlations[i][(a, b)], codes[i])}
                     for i in (0, 1))

    def _correlations(self) -> tuple[dict, dict]:
        """Each numeric pair's correlation on both sides: (human, synthetic), and (half 0, half 1)."""
        pairs = list(combinations(self.numbers, 2))
        if not pairs:
            return {}, {}
        def parts(table: str) -> str:
            # A pair's correlation reads the rows where both values are there, as in memory; fewer than two: none.
            values = {n: self._number(table, n) for n in self.numbers}
            return ", ".join(f"corr({values[a]}, {values[b]}), count({values[a]} + {values[b]})" for a, b in pairs)

        def read(row) -> dict:
            found = {}
            for i, pair in enumerate(pairs):
                r, n = row[2 * i], row[2 * i + 1]
                found[pair] = float(r) if r is not None and np.isfinite(r) and n >= 2 else None
            return found

        human = {row[0]: read(row[1:]) for row in self.con.execute(
            f"SELECT half, {parts('human')} FROM (SELECT *, {self._half()} AS half FROM human) "
            "GROUP BY GROUPING SETS ((half), ())", [self.seed]).fetchall()}
        synthetic = read(self.con.execute(f"SELECT {parts('synthetic')} FROM synthetic").fetchone())
        empty = dict.fromkeys(pairs)
        both = ({p: (human[None][p], synthetic[p]) for p in pairs},
                {p: (human.get(0, empty)[p], human.get(1, empty)[p]) for p in pairs})
        return both


def _total_variation_row(name: str, kind: str, left: np.ndarray, right: np.ndarray, missing: int) -> dict:
    """1 − TV distance between two coded category columns, leaving out the missing code."""
    p = np.bincount(left, minlength=missing + 1)[:missing]
    q = np.bincount(right, minlength=missing + 1)[:missing]
    if p.sum() == 0 or q.sum() == 0:
        return empty_shape(name, kind)
    return {"column": name, "kind": kind, "metric": "TVComplement",
            "score": 1.0 - float(0.5 * np.abs(p / p.sum() - q / q.sum()).sum())}


_SEEDS = {"human": 0, "synthetic": 1, "holdout": 2}  # each file's subsample seed, added to the report's


def assess_files(human: str | os.PathLike, synthetic: str | os.PathLike, holdout: str | os.PathLike | None = None,
                 **options) -> Assessment:
    """The report of :func:`strategy.quality.report.assess` for files of any size: shapes and pair trends over
    every row in DuckDB, the other metrics on a seeded subsample of each file (its size in ``streamed``).
    ``options`` are :func:`assess_many_files`'s."""
    return assess_many_files(human, [synthetic], holdout, **options)[0]


@bounded
def assess_many_files(human: str | os.PathLike, synthetics: list[str | os.PathLike],
                      holdout: str | os.PathLike | None = None, *, columns: list[str] | None = None,
                      text_column: str | None = None, segment_column: str | None = None,
                      ignore: list[str] | None = None, seed: int = 0, progress: Progress | None = None,
                      sample_rows: int | None = None, drift_draws: int | None = None) -> list[Assessment]:
    """:func:`assess_files` for several synthetic files against one human file (and holdout), in order. The
    human and holdout files are read once for all of them (a 10M-row CSV takes tens of seconds to parse), and each
    report is the one :func:`assess_files` gives for that file alone: the same subsample seeds and sizes."""
    rows = sample_size(sample_rows)
    reports = []
    with tempfile.TemporaryDirectory() as folder:
        files = _Files(folder)
        try:
            if progress:
                progress(0.0, "reading the files")
            files.load("human", human)
            if holdout is not None:
                files.load("holdout", holdout)
            drawn: dict[tuple[str, int], Sample] = {}
            for synthetic in synthetics:
                files.load("synthetic", synthetic)  # in place of the previous candidate
                draws = draw_count(drift_draws, max(files.rows["human"], files.rows["synthetic"]))
                kept = frame_rows(rows, draws)
                tables = [t for t in _SEEDS if t in files.rows]
                samples = {}
                for table in tables:
                    if table == "synthetic" or (table, kept) not in drawn:
                        drawn[(table, kept)] = files.subsample(table, kept, seed + _SEEDS[table])
                    samples[table] = drawn[(table, kept)]
                plan = plan_columns(samples["human"], samples["synthetic"], samples.get("holdout"), columns=columns,
                                    text_column=text_column, segment_column=segment_column, ignore=ignore)
                exact = {"rows": {t: files.rows[t] for t in tables}, "streamed": {
                    "all_rows": ["shapes", "pairs"], "subsample_rows": {t: len(samples[t].frame) for t in tables},
                    "engine": "duckdb"}}
                if plan.tabular:
                    if progress:
                        progress(0.05, "column shapes and pairs over every row")
                    # The renamed columns are the same in every table only if the files list them alike: compare
                    # by the human file's names, mapped into each table.
                    _check_same_layout(files, plan)
                    exact["metrics"], exact["floor_metrics"] = _Exact(files, plan, seed).metrics()
                reports.append(assess(samples["human"], samples["synthetic"], samples.get("holdout"),
                                      columns=columns, text_column=text_column, segment_column=segment_column,
                                      ignore=ignore, seed=seed, progress=progress, sample_rows=rows,
                                      drift_draws=draws, exact=exact))
        finally:
            files.con.close()
    return reports


def _check_same_layout(files: _Files, plan: ColumnPlan) -> None:
    """The SQL reads each compared column by the human file's name for it; a synthetic file that lists its
    columns in another order is read through a view that gives them the human file's names."""
    human, mine = files.columns["human"], files.columns["synthetic"]
    if all(mine.get(n) == human[n] for n in plan.tabular):
        return
    chosen = ", ".join(f"{_identifier(n)} AS {human[n]}" for n in plan.tabular)
    files.con.execute(f"CREATE OR REPLACE VIEW synthetic AS SELECT {chosen}, {_POSITION} AS position_ "
                      "FROM synthetic_file")
    files.columns["synthetic"] = {n: human[n] for n in plan.tabular}


def same_columns(reports: dict[str, Assessment]) -> dict[str, Assessment]:
    """Reports to rank against each other must have compared the same columns; a file that differs is named."""
    first = None
    for label, report in reports.items():
        compared = sorted((report.data.get("modalities", {}).get("tabular") or {}).get("columns", {}))
        if first is None:
            first = (label, compared)
        elif compared != first[1]:
            other = sorted(set(compared) ^ set(first[1]))
            raise AssessmentRejected([Problem(label, None, other[0] if other else "columns",
                                              f"compared columns differ from {first[0]}'s; choose the columns to "
                                              "compare so every sample is scored on the same ones")])
    return reports
