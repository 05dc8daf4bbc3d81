"""Checking outcome rows before anything is written: the file's rows typed and checked column by column in
DuckDB SQL (never row by row), every problem named by file, row, field and reason, repeats within the file
and runs already logged told apart (identical: skipped; other values under one run id: refused). The result
(Checked) is what strategy.outcomes writes, all or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from strategy.catalog import Catalog
from strategy.errors import Problem
from strategy.ingest import inert
from strategy.models import (
    CONTROL_REASON,
    LINE_CONTROL,
    MAX_SAMPLES,
    REGIMES,
    TEXT_CONTROL,
)

COLUMNS = ["task", "n_human", "n_synthetic", "metric", "value", "higher_is_better", "regime", "human_eval", "cost",
           "run_id", "notes", "dataset_ids"]
REQUIRED = COLUMNS[:5]
TRUE_WORDS = {"true", "t", "yes", "y", "1"}
FALSE_WORDS = {"false", "f", "no", "n", "0"}
PROBLEMS_LISTED = 200


@dataclass
class Checked:
    """Rows ready to write (an Arrow table), what was skipped as already logged, and every problem found."""

    rows: pa.Table
    problems: list[Problem]
    skipped: int = 0
    tasks: list[str] = field(default_factory=list)
    duplicates: int = 0  # repeats of an earlier row of the same file, written once
    new_rows: list[int] = field(default_factory=list)  # the file's row (from 1) of each row to write
    logged_rows: list[int] = field(default_factory=list)  # rows skipped as identical to a logged outcome

    @property
    def count(self) -> int:
        return self.rows.num_rows


# Strips what Python's str.strip strips (pydantic does the same for the form), not only spaces.
_SPACE = r"[\s\p{{Z}}\x0b\x1c-\x1f\x85]"
_TEXT = "coalesce(regexp_replace(CAST({c} AS VARCHAR), '^" + _SPACE + "+|" + _SPACE + "+$', '', 'g'), '')"
_FLAG = ("CASE WHEN lower({t}) IN ('true','t','yes','y','1') THEN true "
         "WHEN lower({t}) IN ('false','f','no','n','0') THEN false END")
_NUMBER = "TRY_CAST({t} AS DOUBLE)"
# Counts are plain decimal digits ("1200", "1200.0"); text that DuckDB or Arrow would also read as a number
# (0x10, 1_000, +5, 1e3) is refused rather than guessed. Columns already typed as numbers need no such check.
_PLAIN = "-?([0-9]+([.][0-9]*)?|[.][0-9]+)|[-+]?(nan|inf|infinity)"
_BASED = "^[-+]?0[xob]"


def _count_checks(name: str) -> list[tuple[str, str, str]]:
    got = f"' (got ' || ('''' || {name}_text || '''') || ')'"
    return [
        (name, f"{name}_text = ''", "'is required'"),
        (name, f"{name}_text <> '' AND {name}_any IS NULL AND NOT {name}_based", f"'is not a number' || {got}"),
        (name, f"{name}_text <> '' AND NOT {name}_plain AND ({name}_any IS NOT NULL OR {name}_based)",
         f"'must be written in plain decimal digits' || {got} || ': hex, octal, binary, exponents, digit "
         "separators and a leading + are refused, so that no count is misread'"),
        (name, f"{name} < 0", f"'must be 0 or more (got ' || {name}_text || ')'"),
        (name, f"isfinite({name}) AND {name} > {MAX_SAMPLES}",
         f"'is more samples than any dataset holds (at most 10^15; got ' || {name}_text || ')'"),
        (name, f"{name} >= 0 AND (NOT isfinite({name}) OR {name} <> floor({name}))",
         f"'must be a whole number of samples (got ' || {name}_text || ')'"),
    ]


# Each check: (field, condition on the typed row, reason; {column} placeholders are the typed columns).
# They run as one SQL pass over the whole file: no Python loop over rows.
_CHECKS = [
    ("task", "task_text = ''", "'is required'"),
    ("task", "task_text <> '' AND task_id IS NULL", "'no task has the id or name ' || ('''' || task_text || '''')"),
    *_count_checks("n_human"),
    *_count_checks("n_synthetic"),
    ("n_synthetic", "n_human = 0 AND n_synthetic = 0",
     "'n_human + n_synthetic must be above 0: a model trained on no data is not an outcome'"),
    ("metric", "metric = ''", "'is required'"),
    ("metric", "length(metric) > 200", "'is longer than 200 characters'"),
    ("metric", f"regexp_matches(metric, '{LINE_CONTROL}')", f"'{CONTROL_REASON.format(', tab or line break')}'"),
    ("run_id", f"regexp_matches(run_id, '{LINE_CONTROL}')", f"'{CONTROL_REASON.format(', tab or line break')}'"),
    ("notes", f"regexp_matches(notes, '{TEXT_CONTROL}')", f"'{CONTROL_REASON.format('')}'"),
    ("value", "value_text = ''", "'is required'"),
    ("value", "value_text <> '' AND value IS NULL", "'is not a number (got ' || ('''' || value_text || '''') || ')'"),
    ("value", "value IS NOT NULL AND NOT isfinite(value)", "'must be a finite number (got ' || ('''' || value_text || '''') || ')'"),
    ("cost", "cost_text <> '' AND cost IS NULL", "'is not a number (got ' || ('''' || cost_text || '''') || ')'"),
    ("cost", "cost IS NOT NULL AND (NOT isfinite(cost) OR cost < 0)", "'must be a finite number, 0 or more'"),
    ("higher_is_better", "higher_text <> '' AND higher_flag IS NULL",
     "'is not true/false (got ' || ('''' || higher_text || '''') || ')'"),
    ("human_eval", "human_eval_text <> '' AND human_eval_flag IS NULL",
     "'is not true/false (got ' || ('''' || human_eval_text || '''') || ')'"),
    ("regime", "regime_text <> '' AND NOT list_contains($regimes, regime_text)",
     "'must be one of ' || array_to_string($regimes, ', ') || ' (got ' || ('''' || regime_text || '''') || ')'"),
    ("run_id", "length(run_id) > 200", "'is longer than 200 characters'"),
    ("notes", "length(notes) > 20000", "'is longer than 20,000 characters'"),
    ("higher_is_better", "task_id IS NOT NULL AND directions_in_file > 1",
     "('''' || metric || '''') || ' is higher-is-better on some rows of this task and lower-is-better on others'"),
    ("higher_is_better", "task_id IS NOT NULL AND logged_direction IS NOT NULL AND logged_direction <> higher",
     "('''' || metric || '''') || ' is already logged for this task as ' || "
     "CASE WHEN logged_direction THEN 'higher' ELSE 'lower' END || '-is-better'"),
]


def _typed_sql(columns: list[str], text_columns: set[str]) -> str:
    def text(name: str) -> str:
        return _TEXT.format(c=f'"{name}"') if name in columns else "''"

    def count(name: str) -> str:
        # Only text is checked for its notation; a column typed as numbers holds numbers.
        plain, based = ((f"regexp_full_match({name}_text, '{_PLAIN}', 'i')", f"regexp_matches({name}_text, "
                         f"'{_BASED}', 'i')") if name in text_columns else ("true", "false"))
        return (f"{name}_text, {name}_any, {plain} AS {name}_plain, {based} AS {name}_based, "
                f"CASE WHEN {plain} THEN {name}_any END AS {name}")

    return f"""
        WITH texts AS (
            SELECT __row AS row,
                {text("task")} AS task_text,
                {text("n_human")} AS n_human_text, {text("n_synthetic")} AS n_synthetic_text,
                {text("metric")} AS metric, {text("value")} AS value_text, {text("cost")} AS cost_text,
                {text("higher_is_better")} AS higher_text, {text("human_eval")} AS human_eval_text,
                {text("regime")} AS regime_text, {text("run_id")} AS run_id,
                {"coalesce(CAST(notes AS VARCHAR), '')" if "notes" in columns else "''"} AS notes,
                {text("dataset_ids")} AS dataset_ids_text
            FROM incoming_raw
        ), numbers AS (
            SELECT *, TRY_CAST(n_human_text AS DOUBLE) AS n_human_any,
                TRY_CAST(n_synthetic_text AS DOUBLE) AS n_synthetic_any
            FROM texts
        ), typed AS (
            SELECT row, task_text, {count("n_human")}, {count("n_synthetic")}, metric,
                value_text, {_NUMBER.format(t="value_text")} AS value,
                cost_text, {_NUMBER.format(t="cost_text")} AS cost,
                higher_text, {_FLAG.format(t="higher_text")} AS higher_flag,
                human_eval_text, {_FLAG.format(t="human_eval_text")} AS human_eval_flag,
                regime_text, run_id, notes, dataset_ids_text
            FROM numbers
        ), task_keys AS (
            SELECT id AS key, id, higher_is_better FROM tasks
            UNION ALL
            SELECT lower(trim(name)), id, higher_is_better FROM tasks
        ), resolved AS (
            -- A task is named by its id or by its name, ignoring case: one equi-join on either key.
            SELECT typed.*, task_keys.id AS task_id,
                coalesce(higher_flag, task_keys.higher_is_better, true) AS higher
            FROM typed LEFT JOIN task_keys ON task_keys.key = lower(typed.task_text)
        ), checked AS (
            SELECT resolved.*,
                max(higher::INT) OVER w - min(higher::INT) OVER w + 1 AS directions_in_file,
                logged.higher_is_better AS logged_direction
            FROM resolved
            LEFT JOIN (SELECT DISTINCT task_id, lower(metric) AS metric_key, higher_is_better
                       FROM outcomes WHERE NOT deleted) logged
                   ON logged.task_id = resolved.task_id AND logged.metric_key = lower(resolved.metric)
            WINDOW w AS (PARTITION BY resolved.task_id, lower(resolved.metric))
        )"""


# What makes two rows the same outcome, compared field by field (metric names ignore case, as everywhere).
_CONTENT = ["n_human", "n_synthetic", "metric", "value", "higher_is_better", "regime", "human_eval", "cost",
            "notes", "dataset_ids"]
_REGIME = ("CASE WHEN regime_text <> '' THEN regime_text WHEN n_synthetic = 0 THEN 'human_only' "
           "WHEN n_human = 0 THEN 'synthetic_only' ELSE 'mixed' END")
_INCOMING = ("struct_pack(n_human := n_human, n_synthetic := n_synthetic, metric := lower(metric), value := value, "
             f"higher_is_better := higher, regime := {_REGIME}, human_eval := coalesce(human_eval_flag, true), "
             "cost := coalesce(cost, 0.0), notes := notes, dataset_ids := CASE WHEN dataset_ids_text = '' "
             "THEN []::VARCHAR[] ELSE list_filter(list_transform(string_split(dataset_ids_text, ','), x -> trim(x)), "
             "x -> x <> '') END)")
_STORED = ("struct_pack(n_human := CAST(n_human AS DOUBLE), n_synthetic := CAST(n_synthetic AS DOUBLE), "
           "metric := lower(metric), value := value, higher_is_better := coalesce(higher_is_better, true), "
           "regime := coalesce(regime, ''), human_eval := coalesce(human_eval, true), cost := coalesce(cost, 0.0), "
           "notes := coalesce(notes, ''), dataset_ids := coalesce(dataset_ids, []::VARCHAR[]))")
# A row is one outcome by its task and run id, or without a run id by a digest of its content (the digest
# stored since the first version, so files logged then are still recognised). Stored rows are keyed alike.
_FRESH = """
    fresh AS (
        SELECT *, CASE WHEN run_id <> '' THEN 'run:' || task_id || ':' || run_id
                  ELSE 'content:' || md5(concat_ws('|', task_id, n_human, n_synthetic, lower(metric), value,
                                                   regime_text, notes)) END AS fingerprint
        FROM checked_rows),
    stored_keys AS (
        SELECT CASE WHEN coalesce(run_id, '') <> '' THEN 'run:' || task_id || ':' || run_id ELSE fingerprint END
               AS key, *
        FROM outcomes)"""
# The rows to write: the first of each outcome in the file, unless it is already logged. Only keys are compared
# here; the content of repeats and of logged rows is compared apart, and only when there are some.
_CLEAN = f"""
    WITH {_FRESH},
    logged AS (SELECT DISTINCT key FROM stored_keys)
    SELECT row AS source_row, task_id, run_id, CAST(n_human AS BIGINT) AS n_human, CAST(n_synthetic AS BIGINT) AS n_synthetic,
           {_REGIME} AS regime, metric, value, higher AS higher_is_better,
           coalesce(human_eval_flag, true) AS human_eval, coalesce(cost, 0.0) AS cost, dataset_ids_text, notes,
           fresh.fingerprint,
           row_number() OVER (PARTITION BY fresh.fingerprint ORDER BY row) = 1 AS is_first,
           logged.key IS NOT NULL AS is_logged
    FROM fresh LEFT JOIN logged ON logged.key = fresh.fingerprint
    ORDER BY row"""


def _differing(a: str, b: str) -> str:
    """SQL: the list of content fields in which two content structs differ."""
    cases = ", ".join(f"CASE WHEN struct_extract({a}, '{f}') IS DISTINCT FROM struct_extract({b}, '{f}') "
                      f"THEN '{f}' END" for f in _CONTENT)
    return f"list_filter([{cases}], x -> x IS NOT NULL)"


_RUN = "'run ' || ('''' || run_id || '''')"
# Rows repeating an earlier row's run id (or content digest) with other values.
_REPEATS = f"""
    WITH {_FRESH},
    repeated AS (SELECT fingerprint FROM fresh GROUP BY fingerprint HAVING count(*) > 1),
    ranked AS (
        SELECT row, run_id, {_INCOMING} AS content FROM fresh WHERE fingerprint IN (SELECT fingerprint FROM repeated)
    ), compared AS (
        SELECT *, {_differing('content', 'first_content')} AS differing FROM (
            SELECT *, first_value(row) OVER w AS first_row, first_value(content) OVER w AS first_content
            FROM (SELECT ranked.*, fresh.fingerprint FROM ranked JOIN fresh USING (row))
            WINDOW w AS (PARTITION BY fingerprint ORDER BY row))
        WHERE content IS DISTINCT FROM first_content)
    SELECT row, CASE WHEN run_id <> '' THEN 'run_id' ELSE differing[1] END AS field,
        CASE WHEN run_id <> '' THEN {_RUN} || ' is also on row ' || first_row || ' with other values ('
                 || array_to_string(differing, ', ') || '); one run id names one run: give one of the rows a '
                 || 'new run id, or make them agree'
             ELSE 'repeats row ' || first_row || ' (same task, counts, metric, value, regime and notes) with another '
                 || array_to_string(differing, ', ') || '; give each row its own run id, or make them agree'
        END AS reason
    FROM compared"""
# Rows whose run id (or content digest) is logged, but with other values than any logged row has.
_RELOGGED = f"""
    WITH {_FRESH},
    logged AS (
        SELECT key, {_STORED} AS content FROM stored_keys WHERE key IN (SELECT fingerprint FROM fresh)),
    incoming AS (SELECT row, run_id, fingerprint, {_INCOMING} AS content FROM fresh
                 WHERE fingerprint IN (SELECT key FROM logged)),
    unmatched AS (
        SELECT incoming.* FROM incoming
        ANTI JOIN logged ON logged.key = incoming.fingerprint AND logged.content = incoming.content),
    compared AS (
        SELECT unmatched.row, unmatched.run_id, {_differing('unmatched.content', 'other.content')} AS differing
        FROM unmatched JOIN (SELECT key, first(content) AS content FROM logged
                             WHERE key IN (SELECT fingerprint FROM unmatched) GROUP BY key) other
             ON other.key = unmatched.fingerprint)
    SELECT row, CASE WHEN run_id <> '' THEN 'run_id' ELSE differing[1] END AS field,
        CASE WHEN run_id <> '' THEN {_RUN} || ' is already logged with other values ('
                 || array_to_string(differing, ', ') || '); log it under a new run id'
             ELSE 'the same outcome (task, counts, metric, value, regime and notes) is already logged with another '
                 || array_to_string(differing, ', ') || '; edit the logged outcome, or give this row a run id'
        END AS reason
    FROM compared"""


def _is_text(arrow_type: pa.DataType) -> bool:
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    return (pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
            or getattr(pa.types, "is_string_view", lambda _: False)(arrow_type))


def _unreadable(table: pa.Table, label: str) -> list[Problem]:
    """Columns whose cells are not text, numbers or true/false (nested or binary values), named."""
    problems = []
    for column in table.schema:
        kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
        if pa.types.is_nested(kind):
            problems.append(Problem(label, None, inert(column.name), f"holds nested values ({kind}); expected "
                                                                     "text, a number or true/false in each cell"))
        elif pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
            problems.append(Problem(label, None, inert(column.name), "holds binary values; expected text"))
    return problems


# Errors DuckDB raises on the data itself (a value it cannot convert, text that is not UTF-8).
_DATA_ERRORS = (duckdb.ConversionException, duckdb.InvalidInputException, duckdb.OutOfRangeException)


def validate(catalog: Catalog, frame: pa.Table | pd.DataFrame, label: str, *,
             listed: int = PROBLEMS_LISTED) -> Checked:
    """Check every column of every row in one SQL pass, resolve tasks, and sort rows into new, already logged
    and repeated within the file; a run id (or an outcome) given other values than it has is refused.

    Nothing is written here. Problems are listed up to ``listed``; their total is always counted.
    """
    if isinstance(frame, pa.Table):
        table = frame
    else:
        try:
            table = pa.Table.from_pandas(frame, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
            return Checked(pa.table({}), [Problem(label, None, "record", f"cannot be read: {inert(str(error))}")])
    columns = table.column_names
    missing = [c for c in REQUIRED if c not in columns]
    unknown = [c for c in columns if c not in COLUMNS]
    problems = []
    if missing:
        problems.append(Problem(label, None, ", ".join(missing),
                                f"required column missing; expected columns: {', '.join(COLUMNS)} "
                                f"(the first five are required)"))
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        problems.append(Problem(label, None, inert(", ".join(repeated)), "appears more than once in the header"))
    if unknown:
        problems.append(Problem(label, None, inert(", ".join(unknown)),
                                f"unknown column; expected columns: {', '.join(COLUMNS)}"))
    problems.extend(_unreadable(table, label))
    if problems:
        return Checked(pa.table({}), problems)
    raw = table.append_column("__row", pa.array(np.arange(1, table.num_rows + 1)))
    typed = _typed_sql(columns, {f.name for f in table.schema if _is_text(f.type)})
    failures = " UNION ALL ".join(
        f"SELECT row, '{name}' AS field, {reason} AS reason FROM checked_rows WHERE {condition}"
        for name, condition, reason in _CHECKS)
    with catalog.cursor() as cur:
        cur.register("incoming_raw", raw)
        try:
            # Materialise the typed rows once; every check and the clean rows then read that table.
            cur.execute(f"CREATE OR REPLACE TEMP TABLE checked_rows AS {typed} SELECT * FROM checked")
            # The failures are counted apart from the listing: a window count over an empty result trips an
            # intermittent internal error in DuckDB 1.5.5.
            cur.execute(f"CREATE OR REPLACE TEMP TABLE failed_rows AS {failures}", {"regimes": list(REGIMES)})
            found = _listed(cur, "failed_rows", label, listed)
            if found:
                return Checked(pa.table({}), found)
            clean = cur.execute(_CLEAN).to_arrow_table()
            is_first, is_logged = clean.column("is_first"), clean.column("is_logged")
            conflicts = []
            if not pc.all(is_first).as_py():
                conflicts += _listed(cur, _REPEATS, label, listed, query=True)
            if pc.any(is_logged).as_py():
                conflicts += _listed(cur, _RELOGGED, label, listed, query=True)
            if conflicts:
                return Checked(pa.table({}), sorted(conflicts, key=lambda p: (p.row is None, p.row or 0)))
        except _DATA_ERRORS as error:
            reason = inert(str(error).splitlines()[0])
            return Checked(pa.table({}), [Problem(label, None, "file", f"cannot be checked: {reason}")])
        finally:
            cur.unregister("incoming_raw")
            cur.execute("DROP TABLE IF EXISTS checked_rows")
            cur.execute("DROP TABLE IF EXISTS failed_rows")
    new = pc.and_(is_first, pc.invert(is_logged))
    rows = clean.filter(new)
    new_rows = rows.column("source_row").to_pylist()
    rows = rows.drop_columns(["source_row", "is_first", "is_logged"])
    tasks = sorted(set(clean.column("task_id").unique().to_pylist()))
    skipped = pc.sum(is_logged.cast(pa.int64())).as_py() or 0
    return Checked(rows, [], skipped=skipped, tasks=tasks, duplicates=clean.num_rows - rows.num_rows - skipped,
                   new_rows=new_rows, logged_rows=clean.filter(is_logged).column("source_row").to_pylist())


def _listed(cur, source: str, label: str, listed: int, *, query: bool = False) -> list[Problem]:
    """The problems (row, field, reason) in a temp table, or found by a query, in row order: up to ``listed``,
    then a line counting the rest."""
    table = source
    if query:
        table = "listed_problems"
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {source}")
    try:
        total = cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        found = cur.execute(f"SELECT row, field, reason FROM {table} ORDER BY row, field LIMIT ?",
                            [listed]).fetchall() if total else []
    finally:
        if query:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
    problems = [Problem(label, row, name, inert(reason)) for row, name, reason in found]
    if total > listed:
        problems.append(Problem(label, None, "file", f"… {total - listed:,} more problems"))
    return problems
