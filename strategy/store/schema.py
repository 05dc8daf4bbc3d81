"""The catalog's schema: every migration, the tables and the models they hold, which permission writing to
each needs. The schema is portable on purpose (app-made UUIDs; no PRIMARY KEY, UNIQUE, sequences or
``now()`` defaults) so the same statements run on an embedded DuckDB file and on DuckLake."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from strategy.access import Permission
from strategy.models import FACTOR_NAMES, AuditEntry, CostTier, Dataset, Outcome, QualityReport, Task
from strategy.trackers.runs import SavedMapping

STAMP = "created_by VARCHAR, created_at TIMESTAMP"
FACTOR_COLUMNS = ", ".join(f"{name} TINYINT" for name in FACTOR_NAMES)

# Each migration is (version, description, statements). Append only: a
# released migration is never edited, so version N means the same everywhere.
MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (1, "tasks, datasets, outcomes, quality reports, recommendations, cost tiers, audit log", [
        f"""CREATE TABLE tasks (
            id VARCHAR, name VARCHAR, domain VARCHAR, modality VARCHAR, description VARCHAR,
            metric VARCHAR, higher_is_better BOOLEAN, status VARCHAR, source VARCHAR,
            {FACTOR_COLUMNS}, budget DOUBLE, collapse_guard_opt_out VARCHAR,
            {STAMP}, updated_by VARCHAR, updated_at TIMESTAMP)""",
        f"""CREATE TABLE datasets (
            id VARCHAR, name VARCHAR, task_id VARCHAR, source_kind VARCHAR, modality VARCHAR,
            samples BIGINT, cost_per_sample DOUBLE, provenance VARCHAR, licence VARCHAR,
            cost_source VARCHAR, source VARCHAR, {STAMP})""",
        f"""CREATE TABLE outcomes (
            id VARCHAR, task_id VARCHAR, run_id VARCHAR, n_human BIGINT, n_synthetic BIGINT,
            regime VARCHAR, metric VARCHAR, value DOUBLE, higher_is_better BOOLEAN,
            human_eval BOOLEAN, cost DOUBLE, dataset_ids VARCHAR[], notes VARCHAR, fingerprint VARCHAR,
            source VARCHAR, deleted BOOLEAN, {STAMP})""",
        f"""CREATE TABLE quality_reports (
            id VARCHAR, dataset_id VARCHAR, reference_dataset_id VARCHAR, task_id VARCHAR,
            modality VARCHAR, humanness DOUBLE, grade VARCHAR, metrics_json VARCHAR, {STAMP})""",
        """CREATE TABLE recommendations (
            id VARCHAR, task_id VARCHAR, sourcing VARCHAR, human_share_spend DOUBLE,
            human_share_samples DOUBLE, n_human BIGINT, n_synthetic BIGINT, spend_human DOUBLE,
            spend_synthetic DOUBLE, budget DOUBLE, expected_value DOUBLE, expected_low DOUBLE,
            expected_high DOUBLE, confidence DOUBLE, low_confidence BOOLEAN, basis VARCHAR, regime VARCHAR,
            evidence_count BIGINT, rulebook_version VARCHAR, model_version VARCHAR, scenario VARCHAR,
            payload_json VARCHAR, fit_json VARCHAR, created_by VARCHAR, created_at TIMESTAMP)""",
        """CREATE TABLE model_state (
            id VARCHAR, kind VARCHAR, version VARCHAR, payload_json VARCHAR, created_by VARCHAR,
            created_at TIMESTAMP)""",
        """CREATE TABLE cost_tiers (
            id VARCHAR, name VARCHAR, kind VARCHAR, cost_per_sample DOUBLE, description VARCHAR,
            cost_source VARCHAR, updated_by VARCHAR, updated_at TIMESTAMP)""",
        """CREATE TABLE audit_log (
            id VARCHAR, changed_at TIMESTAMP, actor VARCHAR, action VARCHAR, entity VARCHAR,
            entity_id VARCHAR, details VARCHAR)""",
    ]),
]
MIGRATIONS.append(
    (2, "datasets: where a sample of the rows lives, so the humanness of a dataset can be assessed", [
        "ALTER TABLE datasets ADD COLUMN location VARCHAR",
    ]),
)
MIGRATIONS.append(
    (3, "recommendations: the catalog snapshot each was computed from, so it can be reproduced", [
        "ALTER TABLE recommendations ADD COLUMN snapshot_id BIGINT",
    ]),
)
# Control characters became refused in text fields after catalogs had been written; a catalog holding them
# would fail the models on read. The patterns are spelled out (not imported) so this migration never changes.
LINE_COLUMNS = {
    "tasks": ("name", "domain", "metric", "created_by", "updated_by"),
    "datasets": ("name", "licence", "created_by"),
    "outcomes": ("run_id", "metric", "fingerprint", "created_by"),
    "quality_reports": ("grade", "created_by"),
    "cost_tiers": ("name", "updated_by"),
    "audit_log": ("actor", "action", "entity", "entity_id"),
}
TEXT_COLUMNS = {
    "tasks": ("description", "collapse_guard_opt_out"),
    "datasets": ("provenance", "cost_source", "location"),
    "outcomes": ("notes",),
    "cost_tiers": ("description", "cost_source"),
    "audit_log": ("details",),
}


def replace_control(table: str, columns: Sequence[str], pattern: str, *, trim: bool) -> str:
    def cleaned(column: str) -> str:
        replaced = f"regexp_replace({column}, '{pattern}', ' ', 'g')"
        # Names are stripped by the models; a control character at either end leaves no stray space.
        return f"trim({replaced})" if trim else replaced
    assignments = ", ".join(f"{c} = {cleaned(c)}" for c in columns)
    matches = " OR ".join(f"regexp_matches({c}, '{pattern}')" for c in columns)
    return f"UPDATE {table} SET {assignments} WHERE {matches}"


MIGRATIONS.append(
    (4, "text: control characters in names and notes (refused from now on) replaced by spaces", [
        *(replace_control(t, cols, r"[\x00-\x1f\x7f]", trim=True) for t, cols in LINE_COLUMNS.items()),
        *(replace_control(t, cols, r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", trim=False)
          for t, cols in TEXT_COLUMNS.items()),
    ]),
)
# Neither backend ever counts two appends as a conflict, so two writers could both pass the task-name check
# and both add a task of that name. Every task write also updates this one row: of two such writes at once,
# the second fails (at commit on DuckLake, at the update when embedded), runs again, and sees the first's name.
# Written so that running it twice changes nothing (tests rewind a catalog's version to re-run later ones).
MIGRATIONS.append(
    (5, "tasks: a one-row lock every task write updates, so two writers cannot both create the same name", [
        "CREATE TABLE IF NOT EXISTS task_name_lock (writes BIGINT)",
        "INSERT INTO task_name_lock SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM task_name_lock)",
    ]),
)
MIGRATIONS.append(
    (6, "run mappings: which tracker key gives each outcome field, kept per source and experiment", [
        f"""CREATE TABLE IF NOT EXISTS run_mappings (
            id VARCHAR, source VARCHAR, name VARCHAR, mapping_json VARCHAR, {STAMP})""",
    ]),
)
LATEST_VERSION = MIGRATIONS[-1][0]


# Which permission writing to each table needs (strategy.access.NEEDS says which role has it).
WRITE_PERMISSION = {"tasks": Permission.EDIT_TASKS, "datasets": Permission.EDIT_DATASETS, "outcomes": Permission.LOG_OUTCOMES,
                    "quality_reports": Permission.ASSESS_DATASETS, "recommendations": Permission.RECOMPUTE_RECOMMENDATIONS,
                    "model_state": Permission.RECOMPUTE_RECOMMENDATIONS, "cost_tiers": Permission.EDIT_COSTS,
                    "run_mappings": Permission.LOG_OUTCOMES}
# The model state that holds the admins' rule weights (the rest is fitted).
RULE_WEIGHTS_KIND = "rule_weights"


# Which model each table holds; the only table names ever put into SQL text. Recommendations and
# model state have their own writers (they store JSON payloads beside queryable columns).
TABLES: dict[str, type[BaseModel] | None] = {
    "tasks": Task,
    "datasets": Dataset,
    "outcomes": Outcome,
    "quality_reports": QualityReport,
    "recommendations": None,
    "model_state": None,
    "cost_tiers": CostTier,
    "run_mappings": SavedMapping,
    "audit_log": AuditEntry,
}
AUDIT_RENAMES = {"at": "changed_at"}
ENTITY = {"tasks": "task", "datasets": "dataset", "outcomes": "outcome", "quality_reports": "quality report",
           "recommendations": "recommendation", "cost_tiers": "cost tier", "run_mappings": "run mapping"}
