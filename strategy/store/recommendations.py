"""Recommendations with the fit each came from, adopted scenarios, and the model state (pooled prior,
calibration, rule weights): written together, read latest first.

A mixin of strategy.catalog.Catalog: it uses the catalog's mechanism (cursor, transaction, acting, audit)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pandas as pd

from strategy.access import Permission
from strategy.models import Recommendation, StoredModelState, StoredRecommendation, new_id, utc_now
from strategy.store.mechanism import retrying
from strategy.store.schema import ENTITY, RULE_WEIGHTS_KIND


class RecommendationStore:
    """Reads and writes of recommendations, their fits and the model state."""

    @staticmethod
    def _recommendation_frame(recommendations: Sequence[Recommendation], fits: Sequence[dict | None]) -> pd.DataFrame:
        """Recommendations as rows: queryable columns plus the full JSON and the fit they came from."""
        frame = pd.DataFrame([{
            "id": r.id, "task_id": r.task_id, "sourcing": r.sourcing, "human_share_spend": r.human_share_spend,
            "human_share_samples": r.human_share_samples, "n_human": r.n_human, "n_synthetic": r.n_synthetic,
            "spend_human": r.spend_human, "spend_synthetic": r.spend_synthetic, "budget": r.budget,
            "expected_value": r.expected_metric.value, "expected_low": r.expected_metric.low,
            "expected_high": r.expected_metric.high, "confidence": r.confidence,
            "low_confidence": r.low_confidence, "basis": r.basis, "regime": r.regime,
            "evidence_count": r.evidence_count, "rulebook_version": r.rulebook_version,
            "model_version": r.model_version, "scenario": r.scenario, "payload_json": r.model_dump_json(),
            "fit_json": json.dumps(fit) if fit is not None else None, "snapshot_id": r.snapshot,
            "created_by": r.created_by,
            "created_at": r.created_at,
        } for r, fit in zip(recommendations, fits, strict=True)])
        return frame.astype({"expected_value": float, "expected_low": float, "expected_high": float,
                             "snapshot_id": "Int64"})

    @retrying
    def save_recommendations(self, recommendations: Sequence[Recommendation], fits: Sequence[dict | None],
                             *, actor: str | None = None) -> int:
        """Store recommendations (queryable columns plus the full JSON and the fit they came from)."""
        actor = self.acting(Permission.RECOMPUTE_RECOMMENDATIONS, actor=actor)
        if not recommendations:
            return 0
        frame = self._recommendation_frame(recommendations, fits)
        with self.transaction() as cur:
            self.check_task_ids(cur, "recommendations", recommendations)
            self.append_frame(cur, "recommendations", frame)
            self.audit(cur, actor, "recommend", ENTITY["recommendations"], list(frame["id"]))
        return len(frame)

    @retrying
    def adopt_scenario(self, recommendation: Recommendation, fit: dict | None, *, scenario: str,
                       actor: str | None = None) -> None:
        """Make a saved scenario the task's plan, in one transaction: the task takes the scenario's budget
        (so a later recompute plans at it too) and the scenario's answer becomes its current recommendation;
        the audit log says which scenario was adopted."""
        actor = self.acting(Permission.EDIT_TASKS, Permission.RECOMPUTE_RECOMMENDATIONS, actor=actor)
        frame = self._recommendation_frame([recommendation], [fit])
        with self.transaction() as cur:
            self.check_task_ids(cur, "recommendations", [recommendation])
            cur.execute("UPDATE tasks SET budget = ?, updated_by = ?, updated_at = ? WHERE id = ?",
                        [recommendation.budget, actor, recommendation.created_at, recommendation.task_id])
            self.append_frame(cur, "recommendations", frame)
            self.audit(cur, actor, "adopt scenario", ENTITY["recommendations"], [recommendation.id],
                        {"scenario": scenario, "budget": recommendation.budget})
            self.audit(cur, actor, "update", ENTITY["tasks"], [recommendation.task_id],
                        {"budget": recommendation.budget, "from scenario": scenario})

    def latest_recommendations(self, scenario: str = "") -> pd.DataFrame:
        """The newest stored recommendation of every active task (tasks without one are absent)."""
        with self.cursor() as cur:
            return cur.execute(
                """
                SELECT r.* EXCLUDE (payload_json, fit_json), t.name AS task_name, t.domain, t.modality, t.metric,
                       -- what each source adds (contract /2; empty for /1 and rules-only answers)
                       TRY_CAST(json_extract_string(r.payload_json, '$.adds.synthetic_over_human_only') AS DOUBLE)
                           AS synthetic_adds,
                       TRY_CAST(json_extract_string(r.payload_json, '$.adds.human_over_synthetic_led') AS DOUBLE)
                           AS human_adds
                FROM recommendations r JOIN tasks t ON t.id = r.task_id
                WHERE r.scenario = ? AND t.status = 'active'
                QUALIFY row_number() OVER (PARTITION BY r.task_id ORDER BY r.created_at DESC, r.id DESC) = 1
                ORDER BY t.domain, t.name
                """,
                [scenario],
            ).df()

    def recommendation_history(self, task_id: str) -> pd.DataFrame:
        with self.cursor() as cur:
            return cur.execute(
                "SELECT * EXCLUDE (fit_json) FROM recommendations WHERE task_id = ? ORDER BY created_at, id",
                [task_id],
            ).df()

    def latest_recommendations_of(self, task_ids: list[str], scenario: str = "") -> dict[str, StoredRecommendation]:
        """The newest stored recommendation and fit of each of these tasks (absent: none stored), in one read:
        a summary of 1,000 tasks asking one by one spent seconds in the queries alone."""
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT task_id, payload_json, fit_json FROM recommendations "
                "WHERE scenario = ? AND list_contains(?, task_id) "
                "QUALIFY row_number() OVER (PARTITION BY task_id ORDER BY created_at DESC, id DESC) = 1",
                [scenario, list(task_ids)],
            ).fetchall()
        return {task_id: StoredRecommendation(Recommendation.model_validate_json(payload),
                                              json.loads(fit) if fit else None)
                for task_id, payload, fit in rows}

    def latest_recommendation(self, task_id: str, scenario: str = "") -> StoredRecommendation | None:
        """The newest stored recommendation of a task and the fit it was computed from."""
        return self.latest_recommendations_of([task_id], scenario).get(task_id)

    @retrying
    def save_model_state(self, kind: str, version: str, payload: dict, *, actor: str | None = None) -> None:
        """Keep a fitted shared model (such as the pooled prior) so a single task can be refitted without it."""
        needs = Permission.EDIT_THE_RULEBOOK if kind == RULE_WEIGHTS_KIND else Permission.RECOMPUTE_RECOMMENDATIONS
        actor = self.acting(needs, actor=actor)
        frame = pd.DataFrame([{"id": new_id(), "kind": kind, "version": version,
                               "payload_json": json.dumps(payload), "created_by": actor, "created_at": utc_now()}])
        with self.transaction() as cur:
            self.append_frame(cur, "model_state", frame)
            self.audit(cur, actor, "fit", kind, list(frame["id"]), {"version": version})

    def latest_model_state(self, kind: str) -> StoredModelState | None:
        with self.cursor() as cur:
            row = cur.execute(
                "SELECT version, payload_json FROM model_state WHERE kind = ? "
                "ORDER BY created_at DESC, id DESC LIMIT 1", [kind]).fetchone()
        return StoredModelState(row[0], json.loads(row[1])) if row else None

