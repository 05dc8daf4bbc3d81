"""Altair charts of catalog content, shared by the pages and (later) the exports.

Every chart has a title, axis titles with units and a tooltip.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from strategy.models import profile_long
from strategy.quality.present import CROSSED, FLOOR, RANK, RISK, SAMPLE, SCORE
from strategy.quality.ranking import RISK_CAP

HUMAN_COLOUR = "#2f6f8f"
SYNTHETIC_COLOUR = "#d08c2f"
FIT_COLOUR = "#8a4b08"  # a darker orange: the fitted value reads against its own band
POINT_PADDING = 12  # pixels between the outermost points and the plot's edges


def task_profile(task: pd.DataFrame) -> alt.Chart:
    """Horizontal bars of one task's 0–4 factor scores, coloured by which way each factor pulls."""
    long = profile_long(task)
    return alt.Chart(long, title="Task profile (0–4 per factor)").mark_bar().encode(
        x=alt.X("score:Q", title="Score (0–4)", scale=alt.Scale(domain=[0, 4])),
        y=alt.Y("label:N", title="Factor", sort=alt.SortField("order"),
                axis=alt.Axis(labelLimit=260, labelOverlap=False)),
        color=alt.Color("leans:N", title="Pulls toward",
                        scale=alt.Scale(domain=["human", "synthetic"], range=[HUMAN_COLOUR, SYNTHETIC_COLOUR])),
        tooltip=[alt.Tooltip("label:N", title="Factor"), alt.Tooltip("score:Q", title="Score"),
                 alt.Tooltip("leans:N", title="Pulls toward"), alt.Tooltip("help:N", title="Scale")],
    ).properties(height=alt.Step(26))


def profile_matrix(tasks: pd.DataFrame) -> alt.Chart:
    """Heat map of every task's profile: tasks down, factors across."""
    long = profile_long(tasks)
    return alt.Chart(long, title="Profiles of all tasks (0–4 per factor)").mark_rect().encode(
        x=alt.X("label:N", title="Factor", sort=alt.SortField("order"),
                axis=alt.Axis(labelAngle=-40, labelLimit=220, labelOverlap=False)),
        y=alt.Y("name:N", title="Task", axis=alt.Axis(labelLimit=260, labelOverlap=False)),
        color=alt.Color("score:Q", title="Score (0–4)", scale=alt.Scale(domain=[0, 4], scheme="blues")),
        tooltip=[alt.Tooltip("name:N", title="Task"), alt.Tooltip("label:N", title="Factor"),
                 alt.Tooltip("score:Q", title="Score"), alt.Tooltip("leans:N", title="Pulls toward"),
                 alt.Tooltip("help:N", title="Scale")],
    ).properties(height=alt.Step(24), width=alt.Step(44))


def outcomes_by_mix(outcomes: pd.DataFrame, metric: str) -> alt.Chart:
    """Each logged outcome of one task: metric against the human share of samples, sized by total samples."""
    frame = outcomes.assign(total=outcomes["n_human"] + outcomes["n_synthetic"])
    return alt.Chart(frame, title=f"Logged outcomes: {metric} by human share of training samples").mark_circle(
        opacity=0.8
    ).encode(
        x=alt.X("human_share:Q", title="Human share of training samples (%)", axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("value:Q", title=f"{metric} (metric units)", scale=alt.Scale(zero=False)),
        size=alt.Size("total:Q", title="Training samples (count)", scale=alt.Scale(type="log")),
        color=alt.Color("regime:N", title="Regime"),
        tooltip=[alt.Tooltip("run_id:N", title="Run"), alt.Tooltip("n_human:Q", title="Human samples", format=","),
                 alt.Tooltip("n_synthetic:Q", title="Synthetic samples", format=","),
                 alt.Tooltip("value:Q", title=metric, format=".4f"), alt.Tooltip("regime:N", title="Regime"),
                 alt.Tooltip("source:N", title="Source")],
    )


def outcomes_per_task(outcomes: pd.DataFrame) -> alt.Chart:
    """How much evidence each task has: outcome counts, split by source (measured / illustrative)."""
    counted = outcomes.groupby(["task_name", "source"], as_index=False).size()
    return alt.Chart(counted, title="Outcomes logged per task").mark_bar().encode(
        x=alt.X("size:Q", title="Outcomes (count)"),
        y=alt.Y("task_name:N", title="Task", sort="-x", axis=alt.Axis(labelLimit=300, labelOverlap=False)),
        color=alt.Color("source:N", title="Source"),
        tooltip=[alt.Tooltip("task_name:N", title="Task"), alt.Tooltip("source:N", title="Source"),
                 alt.Tooltip("size:Q", title="Outcomes")],
    ).properties(height=alt.Step(20))


def dataset_costs(datasets: pd.DataFrame) -> alt.Chart:
    """Cost per sample of every dataset on a log scale, human against synthetic."""
    priced = datasets[datasets["cost_per_sample"] > 0]
    # Points, not bars: a bar on a log scale would start at zero, which a log scale cannot show.
    return alt.Chart(priced, title="Cost per sample by dataset").mark_point(filled=True, size=90).encode(
        x=alt.X("cost_per_sample:Q", title="Cost per sample (USD, log scale)", scale=alt.Scale(type="log")),
        y=alt.Y("name:N", title="Dataset", sort="-x", axis=alt.Axis(labelLimit=300, labelOverlap=False)),
        color=alt.Color("source_kind:N", title="Source",
                        scale=alt.Scale(domain=["human", "synthetic", "mixed"],
                                        range=[HUMAN_COLOUR, SYNTHETIC_COLOUR, "#7a7a7a"])),
        tooltip=[alt.Tooltip("name:N", title="Dataset"), alt.Tooltip("task_name:N", title="Task"),
                 alt.Tooltip("cost_per_sample:Q", title="USD per sample", format="$,.4f"),
                 alt.Tooltip("samples:Q", title="Samples", format=","), alt.Tooltip("cost_source:N", title="Source of figure")],
    ).properties(height=alt.Step(24))


SPLIT_PARTS = {"spend_human": "human training data", "spend_synthetic": "synthetic training data",
               "evaluation": "human evaluation set"}
SPLIT_COLOURS = (HUMAN_COLOUR, SYNTHETIC_COLOUR, "#8fb8cc")


def portfolio_split(view: pd.DataFrame) -> alt.Chart:
    """Each task's budget split into human training data, synthetic training data and the human evaluation
    set, as shares of that task's own budget (the dollars are in the labels and the tooltip)."""
    rows = view[view["computed"]].assign(evaluation=lambda f: (f["budget"] - f["spend_human"]
                                                               - f["spend_synthetic"]).clip(lower=0))
    # Shares rather than dollars: on one dollar axis a single $150k task flattens every $300 task to a sliver.
    # The budget goes into the task's label so the sizes are still there to read.
    rows = rows.assign(task=[f"{name} · ${budget:,.0f}" for name, budget in zip(rows["task_name"], rows["budget"],
                                                                                 strict=True)])
    long = rows.melt(id_vars=["task", "task_name", "budget"], value_vars=list(SPLIT_PARTS), var_name="part",
                     value_name="usd")
    long["part"] = long["part"].map(SPLIT_PARTS)
    spent = long.groupby("task")["usd"].transform("sum")
    long["share"] = (long["usd"] / spent.where(spent > 0)).fillna(0.0)
    return alt.Chart(long, title="Budget split per task (share of each task's budget)").mark_bar().encode(
        x=alt.X("share:Q", title="Share of the task's budget (%)", stack="zero",
                scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        # maxExtent: Vega stops the axis title 200 px out by default, over the longer labels.
        y=alt.Y("task:N", title="Task · budget (USD)", sort=list(rows["task"]),
                axis=alt.Axis(labelLimit=340, labelOverlap=False, maxExtent=360)),
        color=alt.Color("part:N", title="Spent on", scale=alt.Scale(
            domain=list(SPLIT_PARTS.values()), range=list(SPLIT_COLOURS))),
        tooltip=[alt.Tooltip("task_name:N", title="Task"), alt.Tooltip("part:N", title="Spent on"),
                 alt.Tooltip("usd:Q", title="USD", format="$,.0f"), alt.Tooltip("share:Q", title="Share", format=".0%"),
                 alt.Tooltip("budget:Q", title="Task budget", format="$,.0f")],
    ).properties(height=alt.Step(22))


def mix_chart(frame: pd.DataFrame, metric: str, chosen_share: float, floor: float) -> alt.LayerChart:
    """Expected metric against the human share of the training spend at one budget, with its 80% band."""
    base = alt.Chart(frame).encode(
        x=alt.X("human_share_spend:Q", title="Human share of training spend (%)", axis=alt.Axis(format="%")))
    band = base.mark_area(opacity=0.25, color=HUMAN_COLOUR).encode(
        y=alt.Y("low:Q", title=f"Expected {metric} (metric units)", scale=alt.Scale(zero=False)), y2="high:Q")
    line = base.mark_line(color=HUMAN_COLOUR).encode(
        y="expected:Q",
        tooltip=[alt.Tooltip("human_share_spend:Q", title="Human share of spend", format=".0%"),
                 alt.Tooltip("n_human:Q", title="Human samples", format=","),
                 alt.Tooltip("n_synthetic:Q", title="Synthetic samples", format=","),
                 alt.Tooltip("expected:Q", title=f"Expected {metric}", format=".4f"),
                 alt.Tooltip("low:Q", title="80% low", format=".4f"),
                 alt.Tooltip("high:Q", title="80% high", format=".4f")])
    marks = pd.DataFrame({"share": [chosen_share, floor], "what": ["recommended", "rules' floor"]})
    rules = alt.Chart(marks).mark_rule(strokeDash=[4, 3]).encode(
        x="share:Q", color=alt.Color("what:N", title="Marker",
                                     scale=alt.Scale(domain=["recommended", "rules' floor"],
                                                     range=["#1b5e20", "#b71c1c"])),
        tooltip=[alt.Tooltip("what:N", title="Marker"), alt.Tooltip("share:Q", title="Human share", format=".0%")])
    return alt.layer(band, line, rules, title=f"Expected {metric} by human share of spend, at this budget")


def frontier_chart(frame: pd.DataFrame, metric: str) -> alt.Chart:
    """Expected metric against budget for human only, synthetic-led (human data at the floor) and the best mix."""
    return alt.Chart(frame, title=f"Budget frontier: expected {metric} by budget").mark_line(point=True).encode(
        x=alt.X("budget:Q", title="Total budget (USD, log scale)", scale=alt.Scale(type="log"),
                axis=alt.Axis(format="$,.0f")),
        y=alt.Y("expected:Q", title=f"Expected {metric} (metric units)", scale=alt.Scale(zero=False)),
        color=alt.Color("strategy:N", title="Strategy", scale=alt.Scale(
            domain=["best mix", "human only", "synthetic-led"], range=["#1b5e20", HUMAN_COLOUR, SYNTHETIC_COLOUR])),
        tooltip=[alt.Tooltip("strategy:N", title="Strategy"), alt.Tooltip("budget:Q", title="Budget", format="$,.0f"),
                 alt.Tooltip("n_human:Q", title="Human samples", format=","),
                 alt.Tooltip("n_synthetic:Q", title="Synthetic samples", format=","),
                 alt.Tooltip("expected:Q", title=f"Expected {metric}", format=".4f")],
    )


def evidence_chart(frame: pd.DataFrame, metric: str) -> alt.LayerChart:
    """Logged outcomes and, at each one's mix, what the fitted curve expects with its 80% band."""
    # Pixel padding keeps the marks at 0% and 100% human inside the plot instead of straddling its edges.
    base = alt.Chart(frame).encode(
        x=alt.X("human_share:Q", title="Human share of training samples (%)", axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1], nice=False, padding=POINT_PADDING)))
    tooltip = [alt.Tooltip("n_human:Q", title="Human samples", format=","),
               alt.Tooltip("n_synthetic:Q", title="Synthetic samples", format=","),
               alt.Tooltip("observed:Q", title=f"Observed {metric}", format=".4f")]
    observed = base.mark_circle(color=HUMAN_COLOUR, opacity=0.55).encode(
        y=alt.Y("observed:Q", title=f"{metric} (metric units)", scale=alt.Scale(zero=False)),
        size=alt.Size("total:Q", title="Training samples (count)", scale=alt.Scale(type="log", range=[30, 260])),
        tooltip=tooltip)
    if "fitted" not in frame:
        return alt.layer(observed, title=f"Logged outcomes: {metric} by human share of samples")
    tooltip = tooltip + [alt.Tooltip("fitted:Q", title="Fitted", format=".4f"),
                         alt.Tooltip("low:Q", title="80% low", format=".4f"),
                         alt.Tooltip("high:Q", title="80% high", format=".4f")]
    # The fit depends on the total as well as the mix, so outcomes at one share (10 and 80 human samples,
    # say) expect different values: joining them into one line would zig-zag. Each outcome gets its own
    # band and fitted stroke instead, drawn after the dots so the dots cannot hide them.
    band = base.mark_bar(color=SYNTHETIC_COLOUR, opacity=0.35, size=8).encode(
        y="low:Q", y2="high:Q", tooltip=tooltip)
    # Opaque: a tick is drawn at 0.7 opacity by default, which makes the "dark stroke" a pale brown.
    fitted = base.mark_tick(color=FIT_COLOUR, opacity=1, orient="horizontal", size=22, thickness=3).encode(
        y="fitted:Q", tooltip=tooltip)
    return alt.layer(observed, band, fitted, title=alt.Title(
        f"Logged outcomes against the fitted curve: {metric} by human share of samples",
        subtitle="Dots: outcomes · dark stroke: what the fit expects at that mix · orange bar: its 80% band"))


def history_chart(history: pd.DataFrame, metric: str) -> alt.Chart:
    """How the expected metric and the class changed as recommendations were recomputed."""
    # The scales fit the data exactly, which puts the first and last points (and the lowest and highest) on
    # the plot's edges, half under the axes; pixel padding keeps every point whole.
    return alt.Chart(history, title=f"Recommendation history: expected {metric}").mark_line(point=True).encode(
        x=alt.X("created_at:T", title="Computed at (UTC)", scale=alt.Scale(padding=POINT_PADDING)),
        y=alt.Y("expected_value:Q", title=f"Expected {metric} (metric units)",
                scale=alt.Scale(zero=False, padding=POINT_PADDING)),
        color=alt.Color("scenario_label:N", title="Scenario"),
        tooltip=[alt.Tooltip("created_at:T", title="When", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("scenario_label:N", title="Scenario"), alt.Tooltip("sourcing:N", title="Class"),
                 alt.Tooltip("human_share_spend:Q", title="Human share of spend", format=".0%"),
                 alt.Tooltip("budget:Q", title="Budget", format="$,.0f"),
                 alt.Tooltip("expected_value:Q", title=f"Expected {metric}", format=".4f"),
                 alt.Tooltip("evidence_count:Q", title="Outcomes")],
    )


# ----------------------------------------------------------------------------- humanness
def humanness_metrics(table: pd.DataFrame) -> alt.LayerChart:
    """Each humanness metric's score (bar) against what human data scores against itself (tick)."""
    frame = table.dropna(subset=["score"]).assign(label=lambda f: f["modality"] + " · " + f["metric"])
    base = alt.Chart(frame, title="Humanness by metric, against the noise floor (0–100)").encode(
        y=alt.Y("label:N", title="Metric", sort=None, axis=alt.Axis(labelLimit=300, labelOverlap=False)))
    bars = base.mark_bar(color=SYNTHETIC_COLOUR).encode(
        x=alt.X("score:Q", title="Score (0–100)", scale=alt.Scale(domain=[0, 100])),
        tooltip=[alt.Tooltip("label:N", title="Metric"), alt.Tooltip("score:Q", title="Synthetic vs human", format=".1f"),
                 alt.Tooltip("floor:Q", title="Human vs human", format=".1f"),
                 alt.Tooltip("weight:Q", title="Weight", format=".2f")])
    ticks = base.mark_tick(color=HUMAN_COLOUR, thickness=3, size=20).encode(
        x="floor:Q", tooltip=[alt.Tooltip("floor:Q", title="Human vs human (noise floor)", format=".1f")])
    return (bars + ticks).properties(height=alt.Step(26))


def column_scores(shapes: pd.DataFrame) -> alt.Chart:
    """Per-column shape scores (1 − KS or 1 − TV), lowest first, so the least human-like columns lead."""
    frame = shapes.dropna(subset=["score"]).assign(points=lambda f: 100 * f["score"])
    return alt.Chart(frame, title="Column shapes: how closely each column's distribution matches (0–100)").mark_bar(
        color=SYNTHETIC_COLOUR).encode(
        x=alt.X("points:Q", title="Score (0–100)", scale=alt.Scale(domain=[0, 100])),
        y=alt.Y("column:N", title="Column", sort="x", axis=alt.Axis(labelLimit=260, labelOverlap=False)),
        tooltip=[alt.Tooltip("column:N", title="Column"), alt.Tooltip("kind:N", title="Kind"),
                 alt.Tooltip("metric:N", title="Metric"), alt.Tooltip("points:Q", title="Score", format=".1f")],
    ).properties(height=alt.Step(22))


def _numbers(values) -> np.ndarray:
    numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return numbers[np.isfinite(numbers)]


def _long_tail_bins(values: np.ndarray, bins: int) -> tuple[np.ndarray, str] | None:
    """Bin edges for a long-tailed sample and how they were chosen ("log" or "quantile"), or None when
    equal-width bins show the shape well enough."""
    if values.size < 2 or values.min() == values.max():
        return None
    counts, _ = np.histogram(values, bins=bins)
    # The symptom itself: a few extreme values stretch the range until most values share one bin.
    if counts.max() <= values.size / 3:
        return None
    right_tail = np.median(values) < (values.min() + values.max()) / 2
    if values.min() > 0 and right_tail:
        return np.geomspace(values.min(), values.max(), bins + 1), "log"
    # A log axis cannot show zeros or negatives, and would squeeze a tail to the left further; bins of equal
    # counts can show either. Ties (many zeros, say) merge edges.
    # These bins are labelled side by side on the axis, where more than about 20 crowd it.
    quantiles = np.linspace(0, 1, min(bins, 20) + 1)
    return np.unique(np.quantile(values, quantiles)), "quantile"


def _shares(samples: dict[str, np.ndarray], edges: np.ndarray) -> pd.DataFrame:
    """Share of each sample per bin, in the shape strategy.quality.report.distribution gives."""
    rows = []
    for name, values in samples.items():
        counts, _ = np.histogram(values, bins=edges)
        shares = counts / max(counts.sum(), 1)
        rows += [{"sample": name, "bin_start": float(a), "bin_end": float(b), "value": f"{_short(a)}–{_short(b)}",
                  "share": float(c)} for a, b, c in zip(edges[:-1], edges[1:], shares, strict=True)]
    return pd.DataFrame(rows)


def _short(number: float) -> str:
    """A bin edge for an axis label: 0.052, 4.85, 462, 25,350 (never 2.535e+04)."""
    return f"{number:,.0f}" if abs(number) >= 100 else f"{number:.3g}"


def distribution_overlay(frame: pd.DataFrame, column: str, numeric: bool, *, human=None, synthetic=None,
                         bins: int = 30) -> alt.Chart:
    """Human and synthetic distributions of one column side by side (shares of each sample).

    ``frame`` holds the shares per bin or category. Given the raw ``human`` and ``synthetic`` values of a
    numeric column as well, the chart re-bins a long-tailed column, on a log axis when every value is
    positive and into quantile bins otherwise, and says so in the axis title.
    """
    binning = "equal"
    if numeric and human is not None and synthetic is not None and not (
            pd.api.types.is_datetime64_any_dtype(human) or pd.api.types.is_datetime64_any_dtype(synthetic)):
        samples = {"human": _numbers(human), "synthetic": _numbers(synthetic)}
        chosen = _long_tail_bins(np.concatenate(list(samples.values())), bins)
        if chosen is not None:
            edges, binning = chosen
            frame = _shares(samples, edges)

    if binning == "log":
        x = alt.X("bin_start:Q", title=f"{column} (binned on a log scale: long tail)", bin="binned",
                  scale=alt.Scale(type="log"))
    elif binning == "quantile":
        x = alt.X("value:O", title=f"{column} (quantile bins of both samples together: long tail)",
                  sort=alt.SortField("bin_start"), axis=alt.Axis(labelAngle=-40, labelLimit=120))
    elif numeric:
        x = alt.X("bin_start:Q", title=f"{column} (binned)", bin="binned")
    else:
        x = alt.X("value:N", title=column, sort="-y", axis=alt.Axis(labelLimit=160))
    encoding = dict(
        x=x, y=alt.Y("share:Q", title="Share of the sample (%)", axis=alt.Axis(format="%"), stack=None),
        color=alt.Color("sample:N", title="Sample", scale=alt.Scale(domain=["human", "synthetic"],
                                                                  range=[HUMAN_COLOUR, SYNTHETIC_COLOUR])),
        tooltip=[alt.Tooltip("sample:N", title="Sample"), alt.Tooltip("value:N", title=column),
                 alt.Tooltip("share:Q", title="Share", format=".1%")])
    # Bins along a number line overlap, each sample see-through; named bins stand side by side.
    overlapping = binning in ("equal", "log") and numeric
    if overlapping:
        encoding["x2"] = "bin_end:Q"
    else:
        encoding["xOffset"] = "sample:N"
    chart = alt.Chart(frame, title=f"Distribution of {column}: human and synthetic")
    return chart.mark_bar(opacity=0.55 if overlapping else 0.9).encode(**encoding)


HUMANNESS_SERIES = {"humanness": "synthetic vs human", "floor": "human vs human (noise floor)"}


def humanness_trend(reports: pd.DataFrame) -> alt.Chart:
    """Humanness of each synthetic dataset over successive assessments, with the noise floor dashed."""
    ordered = reports.sort_values("created_at", kind="stable").reset_index(drop=True)
    # One x position per report, labelled by when it was made: a time axis squeezes reports stored moments
    # apart (the demo seed stores them microseconds apart) into one sub-second tick. The number keeps two
    # reports made in the same minute apart.
    ordered["assessment"] = [f"#{i} · {stamp:%Y-%m-%d %H:%M}" for i, stamp in enumerate(ordered["created_at"], 1)]
    long = ordered.melt(id_vars=["assessment", "dataset_name", "grade"],
                        value_vars=list(HUMANNESS_SERIES), var_name="series", value_name="points"
                        ).dropna(subset=["points"])
    long["series"] = long["series"].map(HUMANNESS_SERIES)
    # Colour and dash both follow the series, so Vega-Lite draws one legend naming each series once in its
    # colour; the dataset, when there are several, is told by the point shape.
    series_scale = alt.Scale(domain=list(HUMANNESS_SERIES.values()), range=[SYNTHETIC_COLOUR, HUMAN_COLOUR])
    return alt.Chart(long, title="Humanness over successive assessments (0–100)").mark_line(
        point=alt.OverlayMarkDef(filled=True, size=60)).encode(
        x=alt.X("assessment:O", title="Assessment (number · UTC time)", sort=list(ordered["assessment"]),
                axis=alt.Axis(labelAngle=0, labelExpr="split(datum.label, ' · ')", labelOverlap=True)),
        y=alt.Y("points:Q", title="Humanness (0–100)", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("series:N", title="Series", scale=series_scale,
                        legend=alt.Legend(symbolType="stroke", symbolStrokeWidth=3, symbolSize=400)),
        strokeDash=alt.StrokeDash("series:N", title="Series", scale=alt.Scale(
            domain=list(HUMANNESS_SERIES.values()), range=[[1, 0], [5, 3]])),
        shape=alt.Shape("dataset_name:N", title="Synthetic dataset"),
        detail="dataset_name:N",
        tooltip=[alt.Tooltip("dataset_name:N", title="Dataset"), alt.Tooltip("series:N", title="Series"),
                 alt.Tooltip("points:Q", title="Score", format=".1f"), alt.Tooltip("grade:N", title="Grade"),
                 alt.Tooltip("assessment:N", title="Assessment (UTC)")],
    ).properties(width=alt.Step(100))


def segment_scores(segments: pd.DataFrame, column: str) -> alt.Chart:
    """Humanness within each value of the chosen column."""
    return alt.Chart(segments, title=f"Humanness within each value of {column} (0–100)").mark_bar(
        color=SYNTHETIC_COLOUR).encode(
        x=alt.X("humanness:Q", title="Humanness (0–100)", scale=alt.Scale(domain=[0, 100])),
        y=alt.Y("value:N", title=column, sort="x", axis=alt.Axis(labelLimit=200)),
        tooltip=[alt.Tooltip("value:N", title=column), alt.Tooltip("humanness:Q", title="Humanness", format=".1f"),
                 alt.Tooltip("human_rows:Q", title="Human rows", format=","),
                 alt.Tooltip("synthetic_rows:Q", title="Synthetic rows", format=",")],
    ).properties(height=alt.Step(24))


def generator_ranking(frame: pd.DataFrame) -> alt.LayerChart:
    """Ranked synthetic samples (strategy.quality.present.ranking_frame): humanness against privacy risk, the
    human sample's noise floor as a line and the privacy threshold (risk 1) as another. Best is top left."""
    data = frame.rename(columns={SCORE: "score", FLOOR: "floor", RISK: "risk", SAMPLE: "sample", RANK: "rank",
                                 CROSSED: "crossed"}).dropna(subset=["score"])
    data = data.assign(risk=data["risk"].fillna(0.0))
    top = 1.2 * RISK_CAP  # the margin leaves room for a label beside a point at the cap
    base = alt.Chart(data, title="Fidelity against privacy risk (best: high and to the left)")
    points = base.mark_circle(size=140, color=SYNTHETIC_COLOUR).encode(
        x=alt.X("risk:Q", title="Privacy risk (1 = a threshold reached)", scale=alt.Scale(domain=[0, top])),
        y=alt.Y("score:Q", title="Humanness (0–100)", scale=alt.Scale(domain=[0, 100])),
        tooltip=[alt.Tooltip("rank:Q", title="Rank"), alt.Tooltip("sample:N", title="Sample"),
                 alt.Tooltip("score:Q", title="Humanness", format=".1f"),
                 alt.Tooltip("floor:Q", title="Human vs human", format=".1f"),
                 alt.Tooltip("risk:Q", title="Privacy risk", format=".2f"),
                 alt.Tooltip("crossed:N", title="Thresholds crossed")])
    labels = base.mark_text(align="left", dx=9, dy=-7, fontSize=12).encode(x="risk:Q", y="score:Q",
                                                                        text="sample:N")
    threshold = alt.Chart(pd.DataFrame({"risk": [1.0]})).mark_rule(color="#b42318", strokeDash=[4, 4]).encode(
        x="risk:Q")
    layers = [threshold, points, labels]
    floors = data["floor"].dropna()
    if len(floors):
        layers.insert(0, alt.Chart(pd.DataFrame({"floor": [float(floors.iloc[0])]})).mark_rule(
            color=HUMAN_COLOUR, strokeDash=[2, 2]).encode(y="floor:Q", tooltip=[
                alt.Tooltip("floor:Q", title="Human vs human (noise floor)", format=".1f")]))
    return alt.layer(*layers).properties(height=320)
