"""A strategy summary: everything a planning document needs about one task, a chosen set, or the portfolio,
gathered from the catalog into typed records that the exports render (Markdown, HTML, PDF, CSV, JSON).

The records are the JSON export's schema (``strategy.summary/1``): fields are
only ever added; a rename or removal needs a new schema name.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, NamedTuple

import altair as alt
import pandas as pd
from pydantic import ConfigDict, Field

from strategy import charts, plots
from strategy.catalog import Catalog
from strategy.errors import StrategyError, UnknownTask
from strategy.models import CostTier, Recommendation, Record, utc_now
from strategy.plots import LinePlot, StackedBars
from strategy.recommend import BACKTEST_KIND, TaskFit
from strategy.threads import mapped_in_order, worker_pool
from strategy.views import budget_frontier, filter_portfolio, mix_curve, portfolio_totals, portfolio_view

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


class AttentionItem(Record):
    """A task an executive should look at, with one line per reason (low confidence, most budget, stale or
    missing evidence)."""

    task_id: str
    task: str
    reasons: list[str]
    budget: float | None = None
    confidence: float | None = None


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
    attention: list[AttentionItem] = Field(
        default_factory=list, description="Tasks that need attention, most pressing first (at most "
        "ATTENTION_PER_REASON per reason); the overview page lists them")
    attention_more: int = Field(default=0, description="Further tasks with a reason that the list leaves out")


def summary_schema() -> dict:
    """The JSON Schema of the JSON export, generated from the records above."""
    schema = StrategySummary.model_json_schema(by_alias=True)
    schema["$id"] = SCHEMA
    return schema


class FigureParts(NamedTuple):
    build: Callable[[], alt.TopLevelMixin]  # the Vega-Lite chart, built when a format shows it
    table: pd.DataFrame
    plot: LinePlot | StackedBars | None = None  # the same figure as plain shapes, for the PDF's own drawing


@dataclass(frozen=True)
class Figure:
    """A chart with its title and a small table of the same numbers (what Markdown shows instead of a picture).

    Everything but the title is computed on first use (``make``), so a long document can gather its blocks
    (and the characters its fonts must cover) before the numbers exist, and compute them, or take them from
    another process, page by page. The Vega-Lite chart is built only when a format shows it; ``plot`` is for
    formats that draw the chart themselves (the PDF), where building the Altair chart cost 0.05 s a chart.
    """

    title: str
    make: Callable[[], FigureParts]
    has_plot: bool = False  # whether ``make`` gives a plot (known before the numbers are computed)

    @functools.cached_property
    def _parts(self) -> FigureParts:
        return self.make()

    @functools.cached_property
    def chart(self) -> alt.TopLevelMixin:
        return self._parts.build()

    @property
    def table(self) -> pd.DataFrame:
        return self._parts.table

    @property
    def plot(self) -> LinePlot | StackedBars | None:
        return self._parts.plot


@dataclass
class SummaryBundle:
    """A summary and the stored fits behind its charts (the fits are not exported, only drawn)."""

    summary: StrategySummary
    fits: dict[str, TaskFit | None] = field(default_factory=dict)
    portfolio: pd.DataFrame = field(default_factory=pd.DataFrame)
    _numbers: dict[str, FigureNumbers] = field(default_factory=dict, repr=False)
    _pending: Iterator | None = field(default=None, repr=False)

    @contextlib.contextmanager
    def figures_ahead(self, workers: int):
        """Compute every task's chart numbers (the mix curve and the budget frontier, a third of a long PDF's
        time) in ``workers`` other processes, in the order the document shows the tasks, while this one lays
        the pages out; :meth:`task_figures` takes them as they come. No workers: nothing changes."""
        if workers < 1:
            yield
            return
        wanted = [t for t in self.summary.tasks if self.fits.get(t.task_id) is not None and t.recommendation]
        jobs = [(self.fits[t.task_id], t.recommendation, t.metric) for t in wanted]
        pool = worker_pool(workers, preload=[__name__])
        try:
            self._pending = zip([t.task_id for t in wanted],
                                mapped_in_order(pool, _figure_numbers, jobs, chunksize=8), strict=True)
            yield
        finally:
            self._pending = None
            pool.shutdown(cancel_futures=True)

    def _figure_numbers(self, task: TaskSummary) -> FigureNumbers:
        while task.task_id not in self._numbers and self._pending is not None:
            try:
                task_id, numbers = next(self._pending)
            except StopIteration:
                self._pending = None
                break
            self._numbers[task_id] = numbers
        if task.task_id in self._numbers:
            return self._numbers.pop(task.task_id)
        return _figure_numbers((self.fits[task.task_id], task.recommendation, task.metric))

    def task_figures(self, task: TaskSummary) -> list[Figure]:
        """The task page's charts: expected metric against the human share, and the budget frontier (their
        numbers computed when first shown)."""
        recommendation = task.recommendation
        if self.fits.get(task.task_id) is None or recommendation is None:
            return []
        numbers = functools.cache(lambda: self._figure_numbers(task))
        chosen, floor, metric = recommendation.human_share_spend, recommendation.human_floor, task.metric

        def mix_parts() -> FigureParts:
            found = numbers()
            return FigureParts(lambda: charts.mix_chart(found.mix, metric, chosen, floor).properties(
                width=CHART_WIDTH, height=CHART_HEIGHT), found.mix_table, found.mix_plot)

        def frontier_parts() -> FigureParts:
            found = numbers()
            return FigureParts(lambda: charts.frontier_chart(found.frontier, metric).properties(
                width=CHART_WIDTH, height=CHART_HEIGHT), found.frontier_table, found.frontier_plot)

        return [Figure(f"Expected {metric} by human share of spend, at this budget", mix_parts, has_plot=True),
                Figure(f"Budget frontier: expected {metric} by budget", frontier_parts, has_plot=True)]

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
        return Figure("Budget split per task", lambda: FigureParts(
            lambda: charts.portfolio_split(self.portfolio).properties(width=CHART_WIDTH), table,
            plots.split_bars(self.portfolio)), has_plot=True)


class FigureNumbers(NamedTuple):
    """Everything a task's two charts show, short of the Vega-Lite charts themselves (which hold callables
    and so cannot come back from another process)."""

    mix: pd.DataFrame
    frontier: pd.DataFrame
    mix_table: pd.DataFrame
    frontier_table: pd.DataFrame
    mix_plot: LinePlot
    frontier_plot: LinePlot


def _figure_numbers(job: tuple[TaskFit, Recommendation, str]) -> FigureNumbers:
    fit, recommendation, metric = job
    mix, frontier = mix_curve(fit, recommendation), budget_frontier(fit, recommendation)
    every_tenth = mix.iloc[::10]
    mix_table = pd.DataFrame({
        "human share of spend": every_tenth["human_share_spend"].map("{:.0%}".format),
        f"expected {metric}": every_tenth["expected"].map("{:.4f}".format),
        "80% interval": [f"{lo:.4f}–{hi:.4f}" for lo, hi in zip(every_tenth["low"], every_tenth["high"], strict=True)],
        "allowed by the rules": every_tenth["allowed"].map({True: "yes", False: "no"}),
    })
    frontier_table = frontier.pivot_table(index="budget", columns="strategy", values="expected").reset_index()
    frontier_table["budget"] = frontier_table["budget"].map("${:,.0f}".format)
    for column in frontier_table.columns[1:]:
        frontier_table[column] = frontier_table[column].map("{:.4f}".format)
    chosen, floor = recommendation.human_share_spend, recommendation.human_floor
    return FigureNumbers(mix, frontier, mix_table, frontier_table, plots.mix_plot(mix, metric, chosen, floor),
                         plots.frontier_plot(frontier, metric))


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
    return {row["task_id"]: row for row in stored.payload["tasks"]} if stored else {}


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
    stored_all = catalog.latest_recommendations_of(view["task_id"].tolist())
    rows = tasks.to_dict(orient="index")
    for row in view.itertuples():
        if row.task_id not in rows:
            raise UnknownTask(row.task_id)
        stored = stored_all.get(row.task_id)
        recommendation, fit = stored if stored else (None, None)
        fits[row.task_id] = TaskFit.from_dict(fit) if fit else None
        tested = backtest.get(row.task_id, {})
        task = rows[row.task_id]
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
    newest = {task_id: logged for task_id, logged in tasks["last_outcome_at"].items() if pd.notna(logged)}
    attention, attention_more = attention_items(view, newest, utc_now())
    summary = StrategySummary(
        title=title or _default_title(scope, items), scope=scope, generated_by=catalog.actor,
        rulebook_versions=sorted({r.rulebook_version for r in recommendations}),
        model_versions=sorted({r.model_version for r in recommendations}),
        cost_tiers=tiers, totals=Totals(**totals, classes={str(k): int(v) for k, v in classes.items()}),
        tasks=items, attention=attention, attention_more=attention_more)
    return SummaryBundle(summary, fits, view)


ATTENTION_PER_REASON = 3
STALE_AFTER_DAYS = 180  # evidence older than this may no longer describe the generators and prices in use


def attention_items(view: pd.DataFrame, newest_outcomes: dict, now: datetime
                    ) -> tuple[list[AttentionItem], int]:
    """The tasks that need attention and how many more have a reason but are left out of the list.

    Three reasons, each keeping its most pressing ATTENTION_PER_REASON tasks: low confidence (lowest first),
    the largest share of the budget (the largest task always, when two or more are shown; others from a
    quarter of the budget), and evidence that is missing, old or newer than the stored answer.
    """
    lines: dict[str, list[str]] = {}
    order: list[str] = []
    left_out: set[str] = set()

    def note(task_ids, describe) -> None:
        for position, task_id in enumerate(task_ids):
            if position >= ATTENTION_PER_REASON:
                left_out.add(task_id)
                continue
            if task_id not in lines:
                lines[task_id] = []
                order.append(task_id)
            lines[task_id].append(describe(task_id))

    rows = view.set_index("task_id")
    computed = view[view["computed"].astype(bool)]
    low = computed[computed["low_confidence"].fillna(False).astype(bool)].sort_values("confidence")
    note(low["task_id"], lambda t: f"low confidence ({rows.at[t, 'confidence']:.0%}) from "
         f"{int(rows.at[t, 'outcomes'])} logged outcome{'s' if int(rows.at[t, 'outcomes']) != 1 else ''}")
    total = float(view["budget"].fillna(0.0).sum())
    if len(view) >= 2 and total > 0:
        by_budget = view.assign(held=view["budget"].fillna(0.0) / total).sort_values("held", ascending=False)
        large = by_budget[(by_budget["held"] >= 0.25) | (by_budget.index == by_budget.index[0])]
        note(large["task_id"], lambda t: f"{'largest' if t == large['task_id'].iloc[0] else 'large'} budget: "
             f"${rows.at[t, 'budget']:,.0f}, {rows.at[t, 'budget'] / total:.0%} of the total")
    stale: list[tuple[float, str, str]] = []
    for row in view.itertuples():
        newest = newest_outcomes.get(row.task_id)
        if not row.computed:
            stale.append((float("inf"), row.task_id, "no recommendation computed yet"))
        elif newest is None:
            stale.append((1e9, row.task_id, "no outcome logged: the answer rests on the rules alone"))
        elif newest > row.created_at:
            stale.append((1e8, row.task_id, "outcomes were logged after the answer was computed"))
        elif (now - newest).days > STALE_AFTER_DAYS:
            stale.append(((now - newest).days, row.task_id, f"newest outcome is {(now - newest).days} days old"))
    stale.sort(key=lambda item: -item[0])
    reasons = {task_id: text for _, task_id, text in stale}
    note([task_id for _, task_id, _ in stale], reasons.__getitem__)
    items = [AttentionItem(task_id=t, task=str(rows.at[t, "task_name"]), reasons=lines[t],
                           budget=None if pd.isna(rows.at[t, "budget"]) else float(rows.at[t, "budget"]),
                           confidence=None if pd.isna(rows.at[t, "confidence"]) else float(rows.at[t, "confidence"]))
             for t in order]
    return items, len(left_out - set(order))


def _default_title(scope: Scope, items: list[TaskSummary]) -> str:
    if scope == "task":
        return f"Data-sourcing strategy: {items[0].name}"
    if scope == "selection":
        return f"Data-sourcing strategy: {len(items)} selected tasks"
    return "Data-sourcing strategy: portfolio"
