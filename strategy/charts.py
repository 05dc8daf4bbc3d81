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
