"""Reads of the quality reports (the humanness the decisions use) and of the audit log.

A mixin of strategy.catalog.Catalog: it uses the catalog's mechanism (cursor, transaction, acting, audit)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from strategy.errors import StrategyError


class ReportStore:
    """Reads of the quality reports and the audit log."""

    def quality_reports(self, *, task_id: str | None = None, dataset_id: str | None = None,
                        with_metrics: bool = False) -> pd.DataFrame:
        """Humanness reports, oldest first, with the names of their datasets and task (the full JSON only when
        asked: it can be large)."""
        metrics = ", q.metrics_json" if with_metrics else ""
        with self.cursor() as cur:
            return cur.execute(
                f"""
                SELECT q.id, q.dataset_id, q.reference_dataset_id, q.task_id, q.modality, q.humanness, q.grade,
                       q.created_by, q.created_at, d.name AS dataset_name, r.name AS reference_name,
                       t.name AS task_name{metrics}
                FROM quality_reports q
                LEFT JOIN datasets d ON d.id = q.dataset_id
                LEFT JOIN datasets r ON r.id = q.reference_dataset_id
                LEFT JOIN tasks t ON t.id = q.task_id
                WHERE (? IS NULL OR q.task_id = ?) AND (? IS NULL OR q.dataset_id = ?)
                ORDER BY q.created_at, q.id
                """,
                [task_id, task_id, dataset_id, dataset_id],
            ).df()

    def quality_report_json(self, report_id: str) -> str:
        with self.cursor() as cur:
            found = cur.execute("SELECT metrics_json FROM quality_reports WHERE id = ?", [report_id]).fetchone()
        if found is None:
            raise StrategyError(f"Unknown quality report {report_id!r}.")
        return found[0]

    def task_humanness(self) -> dict[str, float]:
        """Per task, the mean humanness of its synthetic datasets' latest reports, leaving out a dataset whose
        latest report was ranked against others and not chosen (strategy.assessments.save_ranking); a task
        whose every latest report is such keeps them all."""
        with self.cursor() as cur:
            rows = cur.execute(
                """
                SELECT task_id, coalesce(avg(latest) FILTER (WHERE counted), avg(latest)) FROM (
                    SELECT task_id, dataset_id, arg_max(humanness, created_at) AS latest,
                           arg_max(coalesce(json_extract_string(metrics_json, '$.ranking.chosen'), 'true') <> 'false',
                                   created_at) AS counted
                    FROM quality_reports WHERE task_id IS NOT NULL GROUP BY task_id, dataset_id)
                GROUP BY task_id
                """
            ).fetchall()
        return {task_id: float(value) for task_id, value in rows}

    def audit_log(self, limit: int = 200, *, actors: Sequence[str] = (), actions: Sequence[str] = (),
                  entities: Sequence[str] = (), since=None, until=None, containing: str = "") -> pd.DataFrame:
        """The newest audit entries first, filtered by who, what, which kind of record, when (``since`` and
        ``until`` inclusive, UTC) and text in the record id or details."""
        with self.cursor() as cur:
            return cur.execute(
                """
                SELECT * FROM audit_log
                WHERE (len(?) = 0 OR list_contains(?, actor)) AND (len(?) = 0 OR list_contains(?, action))
                  AND (len(?) = 0 OR list_contains(?, entity))
                  AND (CAST(? AS TIMESTAMP) IS NULL OR changed_at >= CAST(? AS TIMESTAMP))
                  AND (CAST(? AS TIMESTAMP) IS NULL OR changed_at <= CAST(? AS TIMESTAMP))
                  AND (? = '' OR contains(lower(entity_id), lower(?)) OR contains(lower(details), lower(?)))
                ORDER BY changed_at DESC, entity LIMIT ?
                """,
                [list(actors), list(actors), list(actions), list(actions), list(entities), list(entities),
                 since, since, until, until, containing, containing, containing, limit],
            ).df()

    def audit_facets(self) -> dict[str, list[str]]:
        """The distinct people, actions and kinds of record in the audit log, for filters."""
        with self.cursor() as cur:
            return {column: [row[0] for row in cur.execute(
                f"SELECT DISTINCT {column} FROM audit_log WHERE {column} IS NOT NULL ORDER BY 1").fetchall()]
                for column in ("actor", "action", "entity")}

