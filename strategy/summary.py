"""A strategy summary: everything a planning document needs about one task, a chosen set, or the portfolio,
gathered from the catalog into typed records that the exports render (Markdown, HTML, PDF, CSV, JSON).

The records are the JSON export's schema (``strategy.summary/1``): fields are
only ever added; a rename or removal needs a new schema name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import altair as alt
import pandas as pd
from pydantic import ConfigDict, Field

from strategy import charts
from strategy.catalog import Catalog
from strategy.errors import StrategyError, UnknownTask
from strategy.models import CostTier, Recommendation, Record, utc_now
from strategy.recommend import (
    BACKTEST_KIND,
    TaskFit,
    budget_frontier,
    filter_portfolio,
    mix_curve,
    portfolio_totals,
    portfolio_view,
)

SCHEMA = "strategy.summary/1"
# Charts in documents: wide and short enough for two on a page.
CHART_WIDTH, CHART_HEIGHT = 480, 220
Scope = Literal["task", "selection", "portfolio"]


class HumannessSummary(Record):
    """The latest humanness report of one of the task's synthetic datasets."""

    dataset: str
    reference: str | None = None
    humanness: float
    floor: float | None = None
    grade: str
    modality: str
    assessed_at: datetime
    assessed_by: str


class EvidenceSummary(Record):
    """What the recommendation stands on: logged outcomes and how well the model predicted them."""

    outcomes: int
    backtest_relative_error: float | None = Field(
        default=None, description="Leave-one-outcome-out mean absolute error ÷ sd of the task's outcomes (model)")
    backtest_rules_error: float | None = None
    backtest_mean_error: float | None = None


class TaskSummary(Record):
    """One task: what it is, the stored recommendation, its evidence and the humanness of its synthetic data."""

    task_id: str
    name: str
    domain: str
    modality: str
    metric: str
    higher_is_better: bool
    description: str = ""
    recommendation: Recommendation | None = None
    evidence: EvidenceSummary
    humanness: list[HumannessSummary] = Field(default_factory=list)


class Totals(Record):
    """Budget and spend over the tasks in the summary, and how many tasks fall in each class."""

    tasks: int
    budget: float
    spend_human: float
    spend_synthetic: float
    evaluation: float
    human_share_spend: float
    classes: dict[str, int]


class StrategySummary(Record):
    """The whole summary; the JSON export is this record."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    schema_name: Literal["strategy.summary/1"] = Field(default=SCHEMA, alias="schema")
    title: str
    scope: Scope
    generated_at: datetime = Field(default_factory=utc_now)
    generated_by: str = "unknown"
    rulebook_versions: list[str] = Field(default_factory=list)
    model_versions: list[str] = Field(default_factory=list)
    cost_tiers: list[CostTier] = Field(default_factory=list)
    totals: Totals
    tasks: list[TaskSummary]


def summary_schema() -> dict:
    """The JSON Schema of the JSON export, generated from the records above."""
    schema = StrategySummary.model_json_schema(by_alias=True)
    schema["$id"] = SCHEMA
    return schema


@dataclass(frozen=True)
class Figure:
    """A chart with its title and a small table of the same numbers (what Markdown shows instead of a picture)."""

    title: str
    chart: alt.TopLevelMixin
    table: pd.DataFrame


@dataclass
class SummaryBundle:
    """A summary and the stored fits behind its charts (the fits are not exported, only drawn)."""

    summary: StrategySummary
    fits: dict[str, TaskFit | None] = field(default_factory=dict)
    portfolio: pd.DataFrame = field(default_factory=pd.DataFrame)

    def task_figures(self, task: TaskSummary) -> list[Figure]:
        """The task page's charts: expected metric against the human share, and the budget frontier."""
        fit, recommendation = self.fits.get(task.task_id), task.recommendation
        if fit is None or recommendation is None:
            return []
        mix = mix_curve(fit, recommendation)
        frontier = budget_frontier(fit, recommendation)
        every_tenth = mix.iloc[::10]
        mix_table = pd.DataFrame({
            "human share of spend": every_tenth["human_share_spend"].map("{:.0%}".format),
            f"expected {task.metric}": every_tenth["expected"].map("{:.4f}".format),
            "80% interval": [f"{lo:.4f}–{hi:.4f}" for lo, hi in zip(every_tenth["low"], every_tenth["high"],
                                                                     strict=True)],
            "allowed by the rules": every_tenth["allowed"].map({True: "yes", False: "no"}),
        })
        frontier_table = frontier.pivot_table(index="budget", columns="strategy", values="expected").reset_index()
        frontier_table["budget"] = frontier_table["budget"].map("${:,.0f}".format)
        for column in frontier_table.columns[1:]:
            frontier_table[column] = frontier_table[column].map("{:.4f}".format)
        return [
            Figure(f"Expected {task.metric} by human share of spend, at this budget",
                   charts.mix_chart(mix, task.metric, recommendation.human_share_spend, recommendation.human_floor)
                   .properties(width=CHART_WIDTH, height=CHART_HEIGHT), mix_table),
            Figure(f"Budget frontier: expected {task.metric} by budget",
                   charts.frontier_chart(frontier, task.metric).properties(width=CHART_WIDTH, height=CHART_HEIGHT),
                   frontier_table),
        ]

    def split_figure(self) -> Figure | None:
        """The budget split per task (None for a single task or when nothing is computed)."""
        if self.summary.scope == "task" or self.portfolio.empty or not self.portfolio["computed"].any():
            return None
        computed = self.portfolio[self.portfolio["computed"]]
        table = pd.DataFrame({
            "task": computed["task_name"],
            "human training data": computed["spend_human"].map("${:,.0f}".format),
            "synthetic training data": computed["spend_synthetic"].map("${:,.0f}".format),
            "human evaluation set": (computed["budget"] - computed["spend_human"] - computed["spend_synthetic"])
            .clip(lower=0).map("${:,.0f}".format),
        })
        return Figure("Budget split per task", charts.portfolio_split(self.portfolio).properties(width=CHART_WIDTH),
                      table)


# ----------------------------------------------------------------------------- gathering
def _humanness(catalog: Catalog) -> dict[str, list[HumannessSummary]]:
    reports = catalog.quality_reports(with_metrics=True)
    found: dict[str, list[HumannessSummary]] = {}
    for row in reports.iloc[::-1].itertuples():
        if pd.isna(row.task_id):
            continue
        latest = found.setdefault(row.task_id, [])
        if any(item.dataset == row.dataset_name for item in latest):
            continue  # an older report of a dataset already listed
        latest.append(HumannessSummary(
            dataset=row.dataset_name or row.dataset_id, reference=None if pd.isna(row.reference_name) else
            row.reference_name, humanness=float(row.humanness), floor=json.loads(row.metrics_json).get("floor"),
            grade=row.grade, modality=row.modality, assessed_at=row.created_at, assessed_by=row.created_by))
    return found


def _backtest(catalog: Catalog) -> dict[str, dict]:
    stored = catalog.latest_model_state(BACKTEST_KIND)
    return {row["task_id"]: row for row in stored[1]["tasks"]} if stored else {}


def build_summary(catalog: Catalog, *, task_ids: list[str] | None = None, scope: Scope | None = None,
                  title: str | None = None, filters: dict | None = None) -> SummaryBundle:
    """Gather a summary: of the given tasks (ids or names), of the portfolio filtered as on the Portfolio page
    (``filters``: domains, modalities, classes, low_confidence_only), or of every active task."""
    view = portfolio_view(catalog)
    if task_ids is not None:
        wanted = [catalog.task(reference).id for reference in task_ids]
        view = view[view["task_id"].isin(wanted)].set_index("task_id").loc[wanted].reset_index()
        scope = scope or ("task" if len(wanted) == 1 else "selection")
    elif filters:
        view = filter_portfolio(view, **filters, sort_by="largest budget first")
        scope = scope or "selection"
    else:
        view = view.sort_values(["domain", "task_name"], ignore_index=True)
        scope = scope or "portfolio"
    if view.empty:
        raise StrategyError("Nothing to export: no active task matches.")
    tasks = catalog.tasks(ids=view["task_id"].tolist()).set_index("id")
    humanness, backtest = _humanness(catalog), _backtest(catalog)
    items, fits = [], {}
    for row in view.itertuples():
        if row.task_id not in tasks.index:
            raise UnknownTask(row.task_id)
        stored = catalog.latest_recommendation(row.task_id)
        recommendation, fit = (stored[0], stored[1]) if stored else (None, None)
        fits[row.task_id] = TaskFit.from_dict(fit) if fit else None
        tested = backtest.get(row.task_id, {})
        task = tasks.loc[row.task_id]
        items.append(TaskSummary(
            task_id=row.task_id, name=task["name"], domain=task["domain"], modality=task["modality"],
            metric=task["metric"], higher_is_better=bool(task["higher_is_better"]),
            description=task["description"] or "", recommendation=recommendation,
            evidence=EvidenceSummary(outcomes=int(task["outcomes"]),
                                     backtest_relative_error=tested.get("relative_model"),
                                     backtest_rules_error=tested.get("relative_rules"),
                                     backtest_mean_error=tested.get("relative_mean")),
            humanness=humanness.get(row.task_id, []),
        ))
    totals = portfolio_totals(view)
    classes = view["sourcing"].fillna("not computed").value_counts().to_dict()
    recommendations = [t.recommendation for t in items if t.recommendation]
    tiers = [CostTier(**{k: v for k, v in row.items() if k in CostTier.model_fields})
             for row in catalog.cost_tiers().to_dict(orient="records")]
    summary = StrategySummary(
        title=title or _default_title(scope, items), scope=scope, generated_by=catalog.actor,
        rulebook_versions=sorted({r.rulebook_version for r in recommendations}),
        model_versions=sorted({r.model_version for r in recommendations}),
        cost_tiers=tiers, totals=Totals(**totals, classes={str(k): int(v) for k, v in classes.items()}),
        tasks=items)
    return SummaryBundle(summary, fits, view)


def _default_title(scope: Scope, items: list[TaskSummary]) -> str:
    if scope == "task":
        return f"Data-sourcing strategy: {items[0].name}"
    if scope == "selection":
        return f"Data-sourcing strategy: {len(items)} selected tasks"
    return "Data-sourcing strategy: portfolio"
