"""Altair charts of catalog content, shared by the pages and (later) the exports.

Every chart has a title, axis titles with units and a tooltip.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from strategy.models import profile_long

HUMAN_COLOUR = "#2f6f8f"
SYNTHETIC_COLOUR = "#d08c2f"


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


def portfolio_split(view: pd.DataFrame) -> alt.Chart:
    """Stacked spend per task: human training data, synthetic training data and the human evaluation set."""
    rows = view[view["computed"]].assign(evaluation=lambda f: (f["budget"] - f["spend_human"]
                                                               - f["spend_synthetic"]).clip(lower=0))
    long = rows.melt(id_vars=["task_name"], value_vars=["spend_human", "spend_synthetic", "evaluation"],
                     var_name="part", value_name="usd")
    long["part"] = long["part"].map({"spend_human": "human training data", "spend_synthetic":
                                     "synthetic training data", "evaluation": "human evaluation set"})
    return alt.Chart(long, title="Budget split per task").mark_bar().encode(
        x=alt.X("usd:Q", title="Spend (USD)", stack="zero", axis=alt.Axis(format="$,.0f")),
        y=alt.Y("task_name:N", title="Task", sort=list(rows["task_name"]),
                axis=alt.Axis(labelLimit=300, labelOverlap=False)),
        color=alt.Color("part:N", title="Spent on", scale=alt.Scale(
            domain=["human training data", "synthetic training data", "human evaluation set"],
            range=[HUMAN_COLOUR, SYNTHETIC_COLOUR, "#8fb8cc"])),
        tooltip=[alt.Tooltip("task_name:N", title="Task"), alt.Tooltip("part:N", title="Spent on"),
                 alt.Tooltip("usd:Q", title="USD", format="$,.0f")],
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
    """Expected metric against budget for human only, synthetic only and the best allowed mix."""
    return alt.Chart(frame, title=f"Budget frontier: expected {metric} by budget").mark_line(point=True).encode(
        x=alt.X("budget:Q", title="Total budget (USD, log scale)", scale=alt.Scale(type="log"),
                axis=alt.Axis(format="$,.0f")),
        y=alt.Y("expected:Q", title=f"Expected {metric} (metric units)", scale=alt.Scale(zero=False)),
        color=alt.Color("strategy:N", title="Strategy", scale=alt.Scale(
            domain=["best mix", "human only", "synthetic only"], range=["#1b5e20", HUMAN_COLOUR, SYNTHETIC_COLOUR])),
        tooltip=[alt.Tooltip("strategy:N", title="Strategy"), alt.Tooltip("budget:Q", title="Budget", format="$,.0f"),
                 alt.Tooltip("n_human:Q", title="Human samples", format=","),
                 alt.Tooltip("n_synthetic:Q", title="Synthetic samples", format=","),
                 alt.Tooltip("expected:Q", title=f"Expected {metric}", format=".4f")],
    )


def evidence_chart(frame: pd.DataFrame, metric: str) -> alt.LayerChart:
    """Logged outcomes and, at each one's mix, what the fitted curve expects with its 80% band."""
    base = alt.Chart(frame).encode(
        x=alt.X("human_share:Q", title="Human share of training samples (%)", axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])))
    tooltip = [alt.Tooltip("n_human:Q", title="Human samples", format=","),
               alt.Tooltip("n_synthetic:Q", title="Synthetic samples", format=","),
               alt.Tooltip("observed:Q", title=f"Observed {metric}", format=".4f")]
    observed = base.mark_circle(size=70, color=HUMAN_COLOUR).encode(
        y=alt.Y("observed:Q", title=f"{metric} (metric units)", scale=alt.Scale(zero=False)),
        size=alt.Size("total:Q", title="Training samples (count)", scale=alt.Scale(type="log")),
        tooltip=tooltip)
    if "fitted" not in frame:
        return alt.layer(observed, title=f"Logged outcomes: {metric} by human share of samples")
    tooltip = tooltip + [alt.Tooltip("fitted:Q", title="Fitted", format=".4f"),
                         alt.Tooltip("low:Q", title="80% low", format=".4f"),
                         alt.Tooltip("high:Q", title="80% high", format=".4f")]
    band = base.mark_rule(color=SYNTHETIC_COLOUR, opacity=0.6).encode(y="low:Q", y2="high:Q", tooltip=tooltip)
    fitted = base.mark_tick(color=SYNTHETIC_COLOUR, thickness=2).encode(y="fitted:Q", tooltip=tooltip)
    return alt.layer(band, fitted, observed,
                     title="Logged outcomes (dots) and the fitted curve with its 80% band (orange) at each mix")


def history_chart(history: pd.DataFrame, metric: str) -> alt.Chart:
    """How the expected metric and the class changed as recommendations were recomputed."""
    return alt.Chart(history, title=f"Recommendation history: expected {metric}").mark_line(point=True).encode(
        x=alt.X("created_at:T", title="Computed at (UTC)"),
        y=alt.Y("expected_value:Q", title=f"Expected {metric} (metric units)", scale=alt.Scale(zero=False)),
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


def distribution_overlay(frame: pd.DataFrame, column: str, numeric: bool) -> alt.Chart:
    """Human and synthetic distributions of one column side by side (shares of each sample)."""
    x = (alt.X("bin_start:Q", title=f"{column} (binned)", bin="binned") if numeric
         else alt.X("value:N", title=column, sort="-y", axis=alt.Axis(labelLimit=160)))
    encoding = dict(
        x=x, y=alt.Y("share:Q", title="Share of the sample (%)", axis=alt.Axis(format="%"), stack=None),
        color=alt.Color("sample:N", title="Sample", scale=alt.Scale(domain=["human", "synthetic"],
                                                                  range=[HUMAN_COLOUR, SYNTHETIC_COLOUR])),
        tooltip=[alt.Tooltip("sample:N", title="Sample"), alt.Tooltip("value:N", title=column),
                 alt.Tooltip("share:Q", title="Share", format=".1%")])
    if numeric:
        encoding["x2"] = "bin_end:Q"
    else:
        encoding["xOffset"] = "sample:N"
    chart = alt.Chart(frame, title=f"Distribution of {column}: human and synthetic")
    return chart.mark_bar(opacity=0.55 if numeric else 0.9).encode(**encoding)


def humanness_trend(reports: pd.DataFrame) -> alt.LayerChart:
    """Humanness of each synthetic dataset over successive assessments, with the noise floor dashed."""
    long = reports.melt(id_vars=["created_at", "dataset_name", "grade"], value_vars=["humanness", "floor"],
                        var_name="series", value_name="points").dropna(subset=["points"])
    long["series"] = long["series"].map({"humanness": "synthetic vs human", "floor": "human vs human"})
    return alt.Chart(long, title="Humanness over successive assessments (0–100)").mark_line(point=True).encode(
        x=alt.X("created_at:T", title="Assessed (UTC)"),
        y=alt.Y("points:Q", title="Humanness (0–100)", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("dataset_name:N", title="Synthetic dataset"),
        strokeDash=alt.StrokeDash("series:N", title="Series"),
        tooltip=[alt.Tooltip("dataset_name:N", title="Dataset"), alt.Tooltip("series:N", title="Series"),
                 alt.Tooltip("points:Q", title="Score", format=".1f"), alt.Tooltip("grade:N", title="Grade"),
                 alt.Tooltip("created_at:T", title="Assessed", format="%Y-%m-%d %H:%M")],
    )


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
