"""Saving a task from the form: decided first (a budget that cannot carry its evaluation set is refused
before anything is written), then stored with its recommendation."""

from __future__ import annotations

import dataclasses

import numpy as np

from strategy.catalog import Catalog
from strategy.errors import ImportRejected, Problem
from strategy.models import Recommendation, Task
from strategy.recommend import TaskEvidence, decide, decision_context, gather, tier_prices


def save_task_and_recommend(catalog: Catalog, task: Task, *, create: bool = False,
                            actor: str | None = None) -> Recommendation:
    """Create or update a task from the form and store its new recommendation.

    The recommendation is computed first, so a task whose budget cannot work (say, it does not cover the
    evaluation set the rules require) is refused before anything is written. ``create`` refuses a name
    already taken instead of updating that task.
    """
    actor = actor or catalog.actor
    with catalog.reading() as view:
        existing = view.tasks(include_archived=True)
        taken = existing[existing["name"].str.strip().str.lower() == task.name.strip().lower()]
        if create and not taken.empty:
            raise ImportRejected([Problem("task form", None, "name",
                                          f"another task is already called {task.name!r}")])
        if task.id in set(existing["id"]):
            evidence = dataclasses.replace(gather(view, [task.id])[0], task=task)
        else:
            empty = np.array([], dtype=float)
            evidence = TaskEvidence(task=task, n_human=empty, n_synthetic=empty, values=empty,
                                    tier_costs=tier_prices(view))
        context = decision_context(view)
    recommendation, fit = decide(evidence, context=context, actor=actor)
    recommendation = recommendation.model_copy(update={"snapshot": view.pinned_snapshot})
    catalog.save_tasks([task], actor=actor, source_label="task form")
    catalog.save_recommendations([recommendation], [fit], actor=actor)
    return recommendation
