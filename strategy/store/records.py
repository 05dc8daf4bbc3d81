"""Writes shared by the tables of plain records (datasets, cost tiers, quality reports, outcomes), with the
checks the portable schema cannot make (unique ids, known task ids), and the small tables' reads.

A mixin of strategy.catalog.Catalog: it uses the catalog's mechanism (cursor, transaction, acting, audit)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from pydantic import BaseModel

from strategy.access import Permission
from strategy.errors import ImportRejected, Problem
from strategy.store.mechanism import retrying, with_stamp
from strategy.store.schema import ENTITY, TABLES, WRITE_PERMISSION
from strategy.store.tasks import duplicate_names


class RecordStore:
    """Writes of plain records, with the checks the portable schema cannot make."""

    def add_records(self, table: str, records: Sequence[BaseModel], *, actor: str | None = None,
                    action: str = "create") -> int:
        """Append datasets, outcomes, reports, recommendations or cost tiers in one transaction."""
        return self.write_batch({table: records}, actor=actor, action=action)[table]

    @retrying
    def write_batch(self, batch: dict[str, Sequence[BaseModel]], *, actor: str | None = None,
                    action: str = "create", needs: Sequence[Permission] = ()) -> dict[str, int]:
        """Append new records to several tables in one transaction: all land or none. Each table's write
        permission is checked, and ``needs`` adds others (seeding the demo is administering the catalog).

        Records are stamped with the actor and the time; task references are
        checked against tasks already stored or written in the same batch.
        """
        unknown = set(batch) - {table for table, model in TABLES.items() if model and table != "audit_log"}
        if unknown:
            raise ValueError(f"write_batch does not write {sorted(unknown)}")
        needs = {WRITE_PERMISSION[table] for table in batch} | set(needs)
        actor = self.acting(*sorted(needs), actor=actor)
        stamped = {table: [with_stamp(r, actor) for r in records] for table, records in batch.items()}
        if "tasks" in stamped:
            problems = duplicate_names(stamped["tasks"], "tasks")
            if problems:
                raise ImportRejected(problems)
        with self.transaction() as cur:
            if "tasks" in stamped:
                self.lock_task_names(cur)
            for table, records in stamped.items():
                self.check_new_ids(cur, table, records)
                if table == "tasks":
                    self.check_new_names(cur, records)
                self._append(cur, table, records)
                self.audit(cur, actor, action, ENTITY[table], [r.id for r in records])
            for table, records in stamped.items():
                if table != "tasks":
                    self.check_task_ids(cur, table, records)
        return {table: len(records) for table, records in stamped.items()}

    def check_new_ids(self, cur, table: str, records: Sequence[BaseModel]) -> None:
        """Ids are unique per table: the portable schema has no constraint to say so."""
        ids = [r.id for r in records]
        seen: dict[str, int] = {}
        problems = []
        for position, record_id in enumerate(ids, start=1):
            if record_id in seen:
                problems.append(Problem(table, position, "id", f"repeats row {seen[record_id]}'s id {record_id!r}"))
            seen.setdefault(record_id, position)
        taken = {row[0] for row in cur.execute(
            f"SELECT id FROM {table} WHERE list_contains(?, id)", [ids]).fetchall()}
        problems += [Problem(table, position, "id", f"a record with id {record_id!r} already exists")
                     for position, record_id in enumerate(ids, start=1) if record_id in taken]
        if problems:
            raise ImportRejected(problems)

    def check_task_ids(self, cur, table: str, records: Sequence[BaseModel]) -> None:
        wanted = {r.task_id for r in records if getattr(r, "task_id", None)}
        if not wanted:
            return
        known = {row[0] for row in cur.execute(
            "SELECT id FROM tasks WHERE list_contains(?, id)", [sorted(wanted)]).fetchall()}
        problems = [
            Problem(table, position, "task_id", f"no task has id {r.task_id!r}")
            for position, r in enumerate(records, start=1)
            if getattr(r, "task_id", None) and r.task_id not in known
        ]
        if problems:
            raise ImportRejected(problems)

    @retrying
    def replace_records(self, table: str, records: Sequence[BaseModel], *, actor: str | None = None) -> int:
        """Edit existing datasets or cost tiers: each record replaces the stored one with its id, all or nothing."""
        if table not in {"datasets", "cost_tiers"}:
            raise ValueError(f"replace_records does not edit {table!r}")
        actor = self.acting(WRITE_PERMISSION[table], actor=actor)
        ids = [r.id for r in records]
        stamped = [with_stamp(r, actor) if table == "cost_tiers" else r for r in records]
        with self.transaction() as cur:
            found = {row[0] for row in cur.execute(
                f"SELECT id FROM {table} WHERE list_contains(?, id)", [ids]).fetchall()}
            missing = [Problem(table, i, "id", f"no stored record has id {rid!r}")
                       for i, rid in enumerate(ids, start=1) if rid not in found]
            if missing:
                raise ImportRejected(missing)
            if table == "datasets":
                self.check_task_ids(cur, table, stamped)
            cur.execute(f"DELETE FROM {table} WHERE list_contains(?, id)", [ids])
            self._append(cur, table, stamped)
            self.audit(cur, actor, "update", ENTITY[table], ids)
        return len(stamped)

    def counts(self) -> dict[str, int]:
        """Rows per table (soft-deleted outcomes and archived tasks included)."""
        with self.cursor() as cur:
            return {
                table: cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in TABLES
            }

    def datasets(self) -> pd.DataFrame:
        with self.cursor() as cur:
            return cur.execute(
                """
                SELECT d.*, t.name AS task_name FROM datasets d
                LEFT JOIN tasks t ON t.id = d.task_id
                ORDER BY d.source_kind, d.name
                """
            ).df()

    def cost_tiers(self) -> pd.DataFrame:
        with self.cursor() as cur:
            return cur.execute("SELECT * FROM cost_tiers ORDER BY kind, cost_per_sample").df()

