"""The outcomes table: append (each run once), soft-delete, correct, read.

A mixin of strategy.catalog.Catalog: it uses the catalog's mechanism (cursor, transaction, acting, audit)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from strategy.access import Permission
from strategy.errors import ImportRejected, Problem
from strategy.models import Outcome, new_id
from strategy.store.mechanism import retrying
from strategy.store.schema import ENTITY
from strategy.store.tasks import is_null


class OutcomeStore:
    """Reads and writes of the outcomes table."""

    def outcome_directions(self) -> pd.DataFrame:
        """For each task and metric name (lower-cased) already logged, whether higher is better."""
        with self.cursor() as cur:
            return cur.execute(
                "SELECT DISTINCT task_id, lower(metric) AS metric, higher_is_better FROM outcomes WHERE NOT deleted"
            ).df()

    def logged_fingerprints(self, fingerprints: Sequence[str]) -> set[str]:
        """Which of these outcome fingerprints (run ids or content digests) are already stored."""
        if not fingerprints:
            return set()
        with self.cursor() as cur:
            cur.register("wanted_fingerprints", pd.DataFrame({"fingerprint": list(fingerprints)}))
            try:
                return {row[0] for row in cur.execute(
                    "SELECT DISTINCT o.fingerprint FROM outcomes o "
                    "JOIN wanted_fingerprints w ON w.fingerprint = o.fingerprint").fetchall()}
            finally:
                cur.unregister("wanted_fingerprints")

    @retrying
    def append_outcomes(self, rows, *, actor: str, source: str, created_at, label: str = "",
                        details: dict | None = None) -> int:
        """Bulk-append outcome rows already checked in one pass (see strategy.outcomes.validate).

        ``rows`` is an Arrow table or DataFrame. Ids are made in SQL; tasks are checked inside the
        transaction; all rows land or none. The import is one write, so it is one audit entry (with the
        row count and the file); each row also carries who and when.
        """
        self.acting(Permission.LOG_OUTCOMES)
        if len(rows) == 0:
            return 0
        with self.transaction() as cur:
            cur.register("incoming_outcomes", rows)
            try:
                unknown = cur.execute(
                    "SELECT count(*) FROM (SELECT DISTINCT task_id FROM incoming_outcomes) i "
                    "ANTI JOIN tasks t ON t.id = i.task_id").fetchone()[0]
                if unknown:
                    raise ImportRejected([Problem("outcomes", None, "task_id", f"{unknown} task id(s) do not exist")])
                cur.execute(
                    "INSERT INTO outcomes BY NAME SELECT CAST(gen_random_uuid() AS VARCHAR) AS id, "
                    "* EXCLUDE (dataset_ids_text), "
                    "list_filter(list_transform(string_split(dataset_ids_text, ','), x -> trim(x)), x -> x <> '') "
                    "AS dataset_ids, ? AS source, false AS deleted, ? AS created_by, CAST(? AS TIMESTAMP) AS created_at "
                    "FROM incoming_outcomes", [source, actor, created_at])
            finally:
                cur.unregister("incoming_outcomes")
            batch = new_id()
            self.audit(cur, actor, "import", "outcome import", [batch],
                        {"rows": len(rows), "file": label, "created_at": created_at, **(details or {})})
        return len(rows)

    @retrying
    def delete_outcomes(self, ids: Sequence[str], *, actor: str | None = None) -> list[str]:
        """Soft delete: the rows stay, marked deleted and left out of fits. Returns the affected task ids."""
        actor = self.acting(Permission.LOG_OUTCOMES, actor=actor)
        with self.transaction() as cur:
            tasks = [row[0] for row in cur.execute(
                "SELECT DISTINCT task_id FROM outcomes WHERE list_contains(?, id) AND NOT deleted",
                [list(ids)]).fetchall()]
            cur.execute("UPDATE outcomes SET deleted = true WHERE list_contains(?, id)", [list(ids)])
            self.audit(cur, actor, "delete", ENTITY["outcomes"], list(ids))
        return tasks

    @retrying
    def replace_outcome(self, outcome: Outcome, *, actor: str | None = None) -> None:
        """Edit one stored outcome (same id): the old row is replaced in one transaction and audited."""
        actor = self.acting(Permission.LOG_OUTCOMES, actor=actor)
        with self.transaction() as cur:
            if not cur.execute("SELECT count(*) FROM outcomes WHERE id = ?", [outcome.id]).fetchone()[0]:
                raise ImportRejected([Problem("outcomes", None, "id", f"no outcome has id {outcome.id!r}")])
            self.check_task_ids(cur, "outcomes", [outcome])
            cur.execute("DELETE FROM outcomes WHERE id = ?", [outcome.id])
            self._append(cur, "outcomes", [outcome])
            self.audit(cur, actor, "update", ENTITY["outcomes"], [outcome.id])

    def outcome(self, outcome_id: str) -> Outcome:
        with self.cursor() as cur:
            frame = cur.execute("SELECT * FROM outcomes WHERE id = ?", [outcome_id]).df()
        if frame.empty:
            raise ImportRejected([Problem("outcomes", None, "id", f"no outcome has id {outcome_id!r}")])
        row = frame.iloc[0].to_dict()
        row["dataset_ids"] = list(row["dataset_ids"]) if row["dataset_ids"] is not None else []
        return Outcome(**{k: v for k, v in row.items() if k in Outcome.model_fields and not is_null(v)})

    def outcomes(self, task_id: str | None = None, *, include_deleted: bool = False,
                 task_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Outcomes (of one task, of several, or all) with their task's name and the human share of samples."""
        with self.cursor() as cur:
            return cur.execute(
                """
                SELECT o.*, t.name AS task_name,
                       o.n_human / nullif(o.n_human + o.n_synthetic, 0) AS human_share
                FROM outcomes o JOIN tasks t ON t.id = o.task_id
                WHERE (? IS NULL OR o.task_id = ?) AND (? IS NULL OR list_contains(?, o.task_id))
                  AND (? OR NOT o.deleted)
                ORDER BY t.name, o.created_at, o.n_human, o.n_synthetic
                """,
                [task_id, task_id, task_ids, task_ids, include_deleted],
            ).df()

