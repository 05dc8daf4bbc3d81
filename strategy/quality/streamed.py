"""Large files assessed where they lie: column shapes and pair trends over every row, in DuckDB, the rest on a
seeded subsample.

A sample file above :data:`STREAM_ABOVE_ENV` megabytes (default :data:`DEFAULT_STREAM_ABOVE_MB`) is never read
into memory whole. Each file is loaded into a DuckDB database in a temporary folder, with a memory limit, so
DuckDB spills to disk instead of growing. From there:

- **column shapes** (1 − KS, 1 − TV) and **pair trends** (correlation, binned joint tables) are computed over
  every row, by the same definitions as strategy.quality.tabular, and so are the noise floor's, between two
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

from strategy.errors import AssessmentRejected, Problem
from strategy.ingest import SAMPLE_ROW_LIMIT_ENV, sample_row_limit
from strategy.quality.columns import ColumnPlan, Sample, arrow_sample, plan_columns
from strategy.quality.privacy import PRIVACY_REFERENCE_ROWS
from strategy.quality.report import Assessment, Progress, assess
from strategy.quality.subsample import draw_count, sample_size
from strategy.quality.tabular import CONTINGENCY_BINS, KS_CRITICAL, ks_statistic
from strategy.threads import bounded, thread_limit

STREAM_ABOVE_ENV = "STRATEGY_STREAM_ABOVE_MB"
DEFAULT_STREAM_ABOVE_MB = 256
MEMORY_LIMIT_ENV = "STRATEGY_STREAM_MEMORY_MB"
DEFAULT_MEMORY_LIMIT_MB = 1_024
_READERS = {".csv": "read_csv", ".parquet": "read_parquet", ".jsonl": "read_json", ".ndjson": "read_json"}
_MISSING = "\x00missing"  # a category of its own in the joint tables, as in memory; never a real value


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


class _Files:
    """The files behind one DuckDB database, each as a view of renamed columns c0, c1, … and its rows'
    positions in the file (``position_``)."""

    def __init__(self, folder: str):
        limit = max(64, int(_megabytes(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT_MB)))
        self.con = duckdb.connect(str(Path(folder) / "assess.duckdb"),
                                  config={"memory_limit": f"{limit}MB", "threads": max(1, thread_limit()),
                                          "temp_directory": str(Path(folder) / "spill")})
        self.columns: dict[str, dict[str, str]] = {}  # table → file column → its name here
        self.rows: dict[str, int] = {}
        self.labels: dict[str, str] = {}
        self.positions: dict[str, str] = {}  # each file's row position: Parquet's file row number, else rowid

    def load(self, table: str, path: str | os.PathLike) -> None:
        """A Parquet file is read where it lies (a view; DuckDB reads only the columns a query needs); a CSV or
        JSON-lines file is parsed once into a table in the temporary database, which spills to disk."""
        path = Path(path)
        label = str(path)  # as the user gave it, as for a file read into memory
        reader = _READERS.get(path.suffix.lower())
        if reader is None:
            raise AssessmentRejected([Problem(label, None, "file", "a large sample is read as CSV, Parquet or JSON "
                                                                   "lines (.csv, .parquet, .jsonl)")])
        try:
            if reader == "read_parquet":
                self.con.read_parquet(str(path), file_row_number=True).create_view(f"{table}_file")
                position = "file_row_number"
            else:
                source = f"{reader}(?)" if reader != "read_json" else "read_json(?, format = 'newline_delimited')"
                self.con.execute(f"CREATE TABLE {table}_file AS SELECT * FROM {source}", [str(path)])
                position = "rowid"
            names = [d[0] for d in self.con.execute(f"SELECT * FROM {table}_file LIMIT 0").description]
            names = [n for n in names if not (position == "file_row_number" and n == position)]
            renamed = {name: f"c{i}" for i, name in enumerate(names)}
            chosen = ", ".join(f"{_identifier(n)} AS {c}" for n, c in renamed.items())
            self.con.execute(f"CREATE VIEW {table} AS SELECT {chosen}, {position} AS position_ FROM {table}_file")
            self.rows[table] = self.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        except duckdb.Error as error:
            raise AssessmentRejected([Problem(label, None, "file", f"could not be read as a table: {error}")]) from None
        # A file past the row limit is refused as in memory: the KS statistic holds one column of it at a time.
        if self.rows[table] > sample_row_limit():
            raise AssessmentRejected([Problem(label, None, "file", f"has {self.rows[table]:,} rows, over the limit "
                                                                   f"of {sample_row_limit():,}; raise "
                                                                   f"{SAMPLE_ROW_LIMIT_ENV}")])
        self.columns[table], self.labels[table], self.positions[table] = renamed, label, position

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


# ----------------------------------------------------------------------------- the exact table metrics in SQL
def _number(kind: str, column: str) -> str:
    value = f"epoch({column})" if kind == "datetime" else f"CAST({column} AS DOUBLE)"
    return f"CASE WHEN isfinite({value}) THEN {value} END"


class _Compared:
    """One comparison (human against synthetic, or one human half against the other), over two row sources."""

    def __init__(self, files: _Files, plan: ColumnPlan, left: str, right: str):
        self.con, self.plan, self.left, self.right = files.con, plan, left, right
        self.name = files.columns["human"]  # the same file names map to each table's own renamed columns
        self.kinds = {n: plan.kinds[n] for n in plan.tabular}

    def shapes(self, joint: dict) -> list[dict]:
        rows = []
        for name, kind in self.kinds.items():
            column = self.name[name]
            if kind in ("numeric", "datetime"):
                rows.append(self._ks(name, kind, column))
                continue
            p, q = (self._marginal(joint[side], name) for side in (0, 1))
            if not p or not q:
                rows.append({"column": name, "kind": kind, "metric": "TVComplement", "score": None,
                             "note": "no value left in one sample"})
                continue
            tp, tq = sum(p.values()), sum(q.values())
            distance = 0.5 * sum(abs(p.get(k, 0) / tp - q.get(k, 0) / tq) for k in set(p) | set(q))
            rows.append({"column": name, "kind": kind, "metric": "TVComplement", "score": 1.0 - distance})
        return rows

    def _marginal(self, counts: dict, name: str) -> dict:
        found: dict = {}
        for (a, b, key), count in counts.items():
            if (a, b) == (name, None) and key[0] != _MISSING:
                found[key[0]] = found.get(key[0], 0) + count
        return found

    def _ks(self, name: str, kind: str, column: str) -> dict:
        # One column of both sides in memory at a time (the same exact statistic as in memory): sorting in
        # numpy took 5.2 s for one column of 10M + 10M rows, grouping and windowing in DuckDB 14.0 s.
        value = _number(kind, column)
        h, s = (self.con.execute(f"SELECT coalesce({value}, 'NaN'::DOUBLE) AS x FROM {source}").fetchnumpy()["x"]
                for source in (self.left, self.right))
        h, s = h[np.isfinite(h)], s[np.isfinite(s)]
        if h.size == 0 or s.size == 0:
            return {"column": name, "kind": kind, "metric": "KSComplement", "score": None,
                    "note": "no value left in one sample"}
        band = 1.0 - min(1.0, KS_CRITICAL * np.sqrt((h.size + s.size) / (h.size * s.size)))
        return {"column": name, "kind": kind, "metric": "KSComplement", "score": 1.0 - ks_statistic(h, s),
                "noise_band": float(band)}

    def _inner_edges(self) -> dict[str, list[float]]:
        """Per numeric column, the inner edges of ten equal-width bins over the human (left) range, as in
        memory: they depend only on its smallest and largest finite value, read in one pass."""
        numbers = [n for n, k in self.kinds.items() if k in ("numeric", "datetime")]
        if not numbers:
            return {}
        values = [_number(self.kinds[n], self.name[n]) for n in numbers]
        ranges = self.con.execute("SELECT " + ", ".join(f"min({v}), max({v})" for v in values)
                                  + f" FROM {self.left}").fetchone()
        edges = {}
        for i, name in enumerate(numbers):
            low, high = ranges[2 * i], ranges[2 * i + 1]
            finite = np.array([low, high], dtype=float) if low is not None else np.array([])
            bins = np.histogram_bin_edges(finite, bins=CONTINGENCY_BINS) if finite.size else np.array([0., 1.])
            edges[name] = [float(e) for e in bins[1:-1]]
        return edges

    def _codes(self, source: str, edges: dict[str, list[float]]) -> tuple[str, list]:
        """Each compared column as a code: its bin for numbers (missing: 10), the value as text for categories
        (missing: a category of its own)."""
        parts, params = [], []
        for name, kind in self.kinds.items():
            column = self.name[name]
            if kind in ("numeric", "datetime"):
                value = _number(kind, column)
                inner = edges[name]
                above = " + ".join(f"CAST(({value}) >= ? AS INTEGER)" for _ in inner) or "0"
                parts.append(f"CASE WHEN ({value}) IS NULL THEN {CONTINGENCY_BINS} "
                             f"ELSE least(greatest({above}, 0), {CONTINGENCY_BINS - 1}) END AS {column}")
                params += inner
            else:
                parts.append(f"coalesce(CAST({column} AS VARCHAR), ?) AS {column}")
                params.append(_MISSING)
        return f"SELECT {', '.join(parts)} FROM {source}", params

    def joint(self) -> tuple[dict, dict]:
        """Counts of every compared column (alone) and of every pair of them, per side, in one pass each:
        (left name, right name or None, code tuple) → rows."""
        names = list(self.kinds)
        sets = [(a,) for a in names] + list(combinations(names, 2))
        grouping = ", ".join("(" + ", ".join(self.name[n] for n in s) + ")" for s in sets)
        edges, found = self._inner_edges(), []
        for source in (self.left, self.right):
            codes, params = self._codes(source, edges)
            columns = ", ".join(self.name[n] for n in names)
            result = self.con.execute(f"SELECT {columns}, count(*) FROM ({codes}) GROUP BY GROUPING SETS "
                                      f"({grouping})", params).fetchall()
            counts = {}
            for row in result:
                present = [(n, row[i]) for i, n in enumerate(names) if row[i] is not None]
                if len(present) == 1:
                    counts[(present[0][0], None, (present[0][1],))] = row[-1]
                else:
                    (a, va), (b, vb) = present
                    counts[(a, b, (va, vb))] = row[-1]
            found.append(counts)
        return found[0], found[1]

    def pairs(self, joint: tuple[dict, dict]) -> list[dict]:
        numbers = [n for n, k in self.kinds.items() if k in ("numeric", "datetime")]
        correlations = self._correlations(numbers)
        # Each side's rows: one column's counts, missing values included, add up to them.
        first = next(iter(self.kinds))
        sizes = [sum(count for (a, b, _), count in side.items() if (a, b) == (first, None)) for side in joint]
        rows = []
        for a, b in combinations(list(self.kinds), 2):
            note = None
            if a in numbers and b in numbers:
                r_h, r_s = correlations[0][(a, b)], correlations[1][(a, b)]
                if r_h is not None and r_s is not None:
                    rows.append({"pair": f"{a}|{b}", "left": a, "right": b, "metric": "CorrelationSimilarity",
                                 "score": 1.0 - abs(r_h - r_s) / 2, "human": r_h, "synthetic": r_s})
                    continue
                note = "correlation undefined (a constant side); compared by the binned joint table"
            p, q = ({key: count for (x, y, key), count in joint[side].items() if (x, y) == (a, b)} for side in (0, 1))
            distance = 0.5 * sum(abs(p.get(k, 0) / sizes[0] - q.get(k, 0) / sizes[1]) for k in set(p) | set(q))
            row = {"pair": f"{a}|{b}", "left": a, "right": b, "metric": "ContingencySimilarity",
                   "score": 1.0 - distance}
            if note:
                row["note"] = note
            rows.append(row)
        return rows

    def _correlations(self, numbers: list[str]) -> list[dict]:
        pairs = list(combinations(numbers, 2))
        found = []
        for source in (self.left, self.right):
            if not pairs:
                found.append({})
                continue
            values = {n: _number(self.kinds[n], self.name[n]) for n in numbers}
            # A pair's correlation reads the rows where both values are there, as in memory; fewer than two: none.
            parts = ", ".join(f"corr({values[a]}, {values[b]}), count({values[a]} + {values[b]})" for a, b in pairs)
            result = self.con.execute(f"SELECT {parts} FROM {source}").fetchone()
            side = {}
            for i, pair in enumerate(pairs):
                r, n = result[2 * i], result[2 * i + 1]
                side[pair] = float(r) if r is not None and np.isfinite(r) and n >= 2 else None
            found.append(side)
        return found

    def metrics(self) -> dict:
        joint = self.joint()
        return {"shapes": self.shapes(joint), "pairs": self.pairs(joint)}


@bounded
def assess_files(human: str | os.PathLike, synthetic: str | os.PathLike, holdout: str | os.PathLike | None = None,
                 *, columns: list[str] | None = None, text_column: str | None = None,
                 segment_column: str | None = None, ignore: list[str] | None = None, seed: int = 0,
                 progress: Progress | None = None, sample_rows: int | None = None,
                 drift_draws: int | None = None) -> Assessment:
    """The report of :func:`strategy.quality.report.assess` for files of any size: shapes and pair trends over
    every row in DuckDB, the other metrics on a seeded subsample of each file (its size in ``streamed``)."""
    rows = sample_size(sample_rows)
    with tempfile.TemporaryDirectory() as folder:
        files = _Files(folder)
        try:
            if progress:
                progress(0.0, "reading the files")
            for table, path in (("human", human), ("synthetic", synthetic), ("holdout", holdout)):
                if path is not None:
                    files.load(table, path)
            draws = draw_count(drift_draws, max(files.rows["human"], files.rows["synthetic"]))
            kept = frame_rows(rows, draws)
            samples = {t: files.subsample(t, kept, seed + i) for i, t in enumerate(files.rows)}
            plan = plan_columns(samples["human"], samples["synthetic"], samples.get("holdout"), columns=columns,
                                text_column=text_column, segment_column=segment_column, ignore=ignore)
            exact = {"rows": dict(files.rows), "streamed": {
                "all_rows": ["shapes", "pairs"], "subsample_rows": {t: len(s.frame) for t, s in samples.items()},
                "engine": "duckdb"}}
            if plan.tabular:
                if progress:
                    progress(0.05, "column shapes and pairs over every row")
                # The renamed columns are the same in every table only if the files list them alike: compare by
                # the human file's names, mapped into each table.
                _check_same_layout(files, plan)
                exact["metrics"] = _Compared(files, plan, "human", "synthetic").metrics()
                files.con.execute("CREATE TABLE seed AS SELECT CAST(? AS BIGINT) AS value", [seed])
                halves = [f"(SELECT h.* FROM human h, seed WHERE hash(h.position_ + seed.value) % 2 = {half})"
                          for half in (0, 1)]
                exact["floor_metrics"] = _Compared(files, plan, *halves).metrics()
        finally:
            files.con.close()
    return assess(samples["human"], samples["synthetic"], samples.get("holdout"), columns=columns,
                  text_column=text_column, segment_column=segment_column, ignore=ignore, seed=seed,
                  progress=progress, sample_rows=rows, drift_draws=draws, exact=exact)


def _check_same_layout(files: _Files, plan: ColumnPlan) -> None:
    """The SQL reads each compared column by the human file's name for it; a synthetic file that lists its
    columns in another order is read through a view that gives them the human file's names."""
    human, mine = files.columns["human"], files.columns["synthetic"]
    if all(mine.get(n) == human[n] for n in plan.tabular):
        return
    chosen = ", ".join(f"{_identifier(n)} AS {human[n]}" for n in plan.tabular)
    files.con.execute(f"CREATE OR REPLACE VIEW synthetic AS SELECT {chosen}, {files.positions['synthetic']} AS "
                      "position_ FROM synthetic_file")
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
