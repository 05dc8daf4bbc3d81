"""The tasks table: create and update (names unique, ignoring case), archive, read.

A mixin of strategy.catalog.Catalog: it uses the catalog's mechanism (cursor, transaction, acting, audit)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from strategy.access import Permission
from strategy.errors import ImportRejected, Problem, UnknownTask
from strategy.models import Task, utc_now
from strategy.store.mechanism import retrying
from strategy.store.schema import ENTITY


class TaskStore:
    """Reads and writes of the tasks table."""

    @retrying
    def save_tasks(self, tasks: Sequence[Task], *, actor: str | None = None,
                   source_label: str = "tasks") -> tuple[int, int]:
        """Create or update tasks (matched by id, else by name), all or nothing.

        Returns (created, updated). Task names are unique, ignoring case and
        surrounding spaces, across active and archived tasks.
        """
        actor = self.acting(Permission.EDIT_TASKS, actor=actor)
        problems = duplicate_names(tasks, source_label)
        if problems:
            raise ImportRejected(problems)
        with self.transaction() as cur:
            self.lock_task_names(cur)
            existing = cur.execute(
                "SELECT id, lower(trim(name)), created_by, created_at, status, source FROM tasks"
            ).fetchall()
            by_id = {row[0]: row for row in existing}
            by_name = {row[1]: row for row in existing}
            # A row matches by id first; by name only when no other row of the batch claims that task by id
            # (so renaming A and giving a new task A's old name in one batch keeps two tasks).
            claimed = {task.id for task in tasks if task.id in by_id}
            created, updated, prepared = [], [], []
            for position, task in enumerate(tasks, start=1):
                key = task.name.strip().lower()
                match = by_id.get(task.id)
                if match is None and key in by_name and by_name[key][0] not in claimed:
                    match = by_name[key]
                holder = by_name.get(key)
                renamed_away = holder is not None and holder[0] in claimed and holder[0] != task.id
                if holder is not None and match is not None and holder[0] != match[0] and not renamed_away:
                    problems.append(Problem(source_label, position, "name",
                                            f"another task is already called {task.name!r}"))
                    continue
                if match is not None and match[0] in updated:
                    problems.append(Problem(source_label, position, "name",
                                            f"updates the same task as an earlier row ({task.name!r})"))
                    continue
                now = utc_now()
                if match is None:
                    prepared.append(task.model_copy(update={
                        "created_by": actor, "created_at": now, "updated_by": actor, "updated_at": now}))
                    created.append(task.id)
                else:
                    prepared.append(task.model_copy(update={
                        "id": match[0], "created_by": match[2], "created_at": match[3],
                        "status": match[4], "source": match[5], "updated_by": actor, "updated_at": now}))
                    updated.append(match[0])
            if problems:
                raise ImportRejected(problems)
            if updated:
                cur.execute("DELETE FROM tasks WHERE list_contains(?, id)", [updated])
            self._append(cur, "tasks", prepared)
            self.audit(cur, actor, "create", ENTITY["tasks"], created)
            self.audit(cur, actor, "update", ENTITY["tasks"], updated)
        return len(created), len(updated)

    @staticmethod
    def lock_task_names(cur) -> None:
        """Take the task-name lock for this transaction (see migration 5): a concurrent task write then fails
        to commit (DuckLake) or to update (embedded) and is retried against the names this one adds."""
        touched = cur.execute("UPDATE task_name_lock SET writes = writes + 1").fetchone()[0]
        if not touched:  # the row was removed by hand: put it back so the lock holds again
            cur.execute("INSERT INTO task_name_lock VALUES (1)")

    def check_new_names(self, cur, tasks: Sequence[Task]) -> None:
        taken = {row[0] for row in cur.execute("SELECT lower(trim(name)) FROM tasks").fetchall()}
        problems = [
            Problem("tasks", position, "name", f"another task is already called {task.name!r}")
            for position, task in enumerate(tasks, start=1)
            if task.name.strip().lower() in taken
        ]
        if problems:
            raise ImportRejected(problems)

    @retrying
    def set_task_status(self, task_id: str, status: str, *, actor: str | None = None) -> None:
        """Archive a task (hidden from the portfolio, kept with its history) or make it active again."""
        if status not in {"active", "archived"}:
            raise ValueError(f"unknown task status {status!r}")
        actor = self.acting(Permission.EDIT_TASKS, actor=actor)
        with self.transaction() as cur:
            found = cur.execute("SELECT count(*) FROM tasks WHERE id = ?", [task_id]).fetchone()[0]
            if not found:
                raise UnknownTask(task_id)
            cur.execute("UPDATE tasks SET status = ?, updated_by = ?, updated_at = ? WHERE id = ?",
                        [status, actor, utc_now(), task_id])
            self.audit(cur, actor, "archive" if status == "archived" else "restore", ENTITY["tasks"], [task_id])

    def tasks(self, *, include_archived: bool = False, ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Tasks (all, or those with the given ids) with the number of live outcomes behind each and when the
        newest was logged, ordered by domain then name."""
        with self.cursor() as cur:
            return cur.execute(
                """
                SELECT t.*, coalesce(o.outcomes, 0) AS outcomes, o.last_outcome_at
                FROM tasks t
                LEFT JOIN (SELECT task_id, count(*) AS outcomes, max(created_at) AS last_outcome_at FROM outcomes
                           WHERE NOT deleted GROUP BY task_id) o ON o.task_id = t.id
                WHERE (? OR t.status = 'active') AND (? IS NULL OR list_contains(?, t.id))
                ORDER BY t.domain, t.name
                """,
                [include_archived, ids, ids],
            ).df()

    def task(self, reference: str) -> Task:
        """One task by id or by name (case-insensitive). Raises UnknownTask."""
        with self.cursor() as cur:
            frame = cur.execute(
                "SELECT * FROM tasks WHERE id = ? OR lower(trim(name)) = lower(trim(?)) LIMIT 1",
                [reference, reference],
            ).df()
        if frame.empty:
            raise UnknownTask(reference)
        return task_from_row(frame.iloc[0].to_dict())



def task_from_row(row: dict) -> Task:
    """A Task from a row of the tasks table; NULL columns take the model's defaults."""
    return Task(**{name: row[name] for name in Task.model_fields if name in row and not is_null(row[name])})


def is_null(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def duplicate_names(tasks: Sequence[Task], source_label: str) -> list[Problem]:
    first_seen: dict[str, int] = {}
    problems = []
    for position, task in enumerate(tasks, start=1):
        key = task.name.strip().lower()
        if key in first_seen:
            problems.append(Problem(source_label, position, "name",
                                    f"{task.name!r} also appears in row {first_seen[key]}"))
        else:
            first_seen[key] = position
    return problems
