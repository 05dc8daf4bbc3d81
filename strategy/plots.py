"""A task's two charts as plain series (lines, a band, markers), for formats that draw charts themselves.

The HTML and the pages show the Vega-Lite charts of :mod:`strategy.charts`. A PDF of a 1,000-task portfolio
cannot afford Vega there: it takes about 0.2 s of CPU per chart, and building each Altair chart another
0.05 s, so the PDF draws these two charts from the same numbers as vector lines (strategy/export/pdf_plots.py).
Titles, axis titles, colours and legends follow the Vega-Lite charts so the two formats read alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from strategy.charts import HUMAN_COLOUR, SYNTHETIC_COLOUR

BEST_MIX_COLOUR = "#1b5e20"
FLOOR_COLOUR = "#b71c1c"


@dataclass(frozen=True)
class Series:
    label: str
    x: np.ndarray
    y: np.ndarray
    colour: str
    points: bool = False     # a dot at every value as well as the line


@dataclass(frozen=True)
class Band:
    x: np.ndarray
    low: np.ndarray
    high: np.ndarray
    colour: str
    opacity: float = 0.25


@dataclass(frozen=True)
class Marker:
    """A dashed vertical rule at one x, named in the legend."""

    label: str
    x: float
    colour: str


@dataclass(frozen=True)
class LinePlot:
    title: str
    x_title: str
    y_title: str
    x_format: Literal["percent", "dollars"]
    x_log: bool = False
    series: list[Series] = field(default_factory=list)
    band: Band | None = None
    markers: list[Marker] = field(default_factory=list)
    legend_title: str = ""

    def y_range(self) -> tuple[float, float]:
        values = [s.y for s in self.series] + ([self.band.low, self.band.high] if self.band else [])
        finite = np.concatenate([np.asarray(v, float) for v in values]) if values else np.array([0.0, 1.0])
        finite = finite[np.isfinite(finite)]
        if not len(finite):
            return 0.0, 1.0
        return float(finite.min()), float(finite.max())

    def x_range(self) -> tuple[float, float]:
        values = np.concatenate([np.asarray(s.x, float) for s in self.series] + [
            np.array([m.x for m in self.markers], float)])
        values = values[np.isfinite(values) & ((values > 0) if self.x_log else True)]
        if not len(values):
            return (1.0, 10.0) if self.x_log else (0.0, 1.0)
        return float(values.min()), float(values.max())


@dataclass(frozen=True)
class StackedBars:
    """One horizontal bar per row, split into parts that add up to 1 (shares), with a legend of the parts."""

    title: str
    x_title: str
    y_title: str
    labels: list[str]
    shares: np.ndarray          # (rows, parts), each row summing to 1 (or 0 when nothing was spent)
    parts: list[str]
    colours: list[str]


def split_bars(view: pd.DataFrame) -> StackedBars:
    """:func:`strategy.charts.portfolio_split` as bars: every computed task's budget split into human
    training data, synthetic training data and the human evaluation set, as shares of its own budget."""
    from strategy.charts import SPLIT_COLOURS, SPLIT_PARTS

    rows = view[view["computed"]]
    evaluation = (rows["budget"] - rows["spend_human"] - rows["spend_synthetic"]).clip(lower=0)
    usd = np.column_stack([rows["spend_human"].to_numpy(float), rows["spend_synthetic"].to_numpy(float),
                           evaluation.to_numpy(float)])
    spent = usd.sum(axis=1, keepdims=True)
    shares = np.divide(usd, spent, out=np.zeros_like(usd), where=spent > 0)
    labels = [f"{name} · ${budget:,.0f}" for name, budget in zip(rows["task_name"], rows["budget"], strict=True)]
    return StackedBars(title="Budget split per task (share of each task's budget)",
                       x_title="Share of the task's budget (%)", y_title="Task · budget (USD)", labels=labels,
                       shares=shares, parts=list(SPLIT_PARTS.values()), colours=list(SPLIT_COLOURS))


def mix_plot(frame: pd.DataFrame, metric: str, chosen_share: float, floor: float) -> LinePlot:
    """:func:`strategy.charts.mix_chart` as series."""
    x = frame["human_share_spend"].to_numpy(float)
    return LinePlot(
        title=f"Expected {metric} by human share of spend, at this budget",
        x_title="Human share of training spend (%)", y_title=f"Expected {metric} (metric units)",
        x_format="percent", series=[Series("expected", x, frame["expected"].to_numpy(float), HUMAN_COLOUR)],
        band=Band(x, frame["low"].to_numpy(float), frame["high"].to_numpy(float), HUMAN_COLOUR),
        markers=[Marker("recommended", float(chosen_share), BEST_MIX_COLOUR),
                 Marker("rules' floor", float(floor), FLOOR_COLOUR)],
        legend_title="Marker")


FRONTIER_COLOURS = {"best mix": BEST_MIX_COLOUR, "human only": HUMAN_COLOUR, "synthetic-led": SYNTHETIC_COLOUR}


def frontier_plot(frame: pd.DataFrame, metric: str) -> LinePlot:
    """:func:`strategy.charts.frontier_chart` as series (one line per strategy, in the legend's order)."""
    series = []
    for strategy, colour in FRONTIER_COLOURS.items():
        part = frame[frame["strategy"] == strategy].sort_values("budget")
        if len(part):
            series.append(Series(strategy, part["budget"].to_numpy(float), part["expected"].to_numpy(float), colour,
                                 points=True))
    return LinePlot(title=f"Budget frontier: expected {metric} by budget",
                    x_title="Total budget (USD, log scale)", y_title=f"Expected {metric} (metric units)",
                    x_format="dollars", x_log=True, series=series, legend_title="Strategy")


# ------------------------------------------------------------------------------------------ ticks
def nice_scale(low: float, high: float, count: int = 5) -> tuple[float, float, list[float]]:
    """An axis over [low, high] widened to round ends, and its ticks (steps of 1, 2 or 5 × a power of ten),
    as Vega's "nice" scales pick them."""
    if not np.isfinite(low) or not np.isfinite(high):
        low, high = 0.0, 1.0
    if high <= low:
        pad = abs(low) * 0.05 or 0.5
        low, high = low - pad, high + pad
    raw = (high - low) / max(count, 1)
    power = 10 ** np.floor(np.log10(raw))
    step = float(next(m * power for m in (1, 2, 5, 10) if m * power >= raw * (1 - 1e-9)))
    start, end = math.floor(low / step + 1e-9) * step, math.ceil(high / step - 1e-9) * step
    ticks = [float(round(start + i * step, 12)) for i in range(int(round((end - start) / step)) + 1)]
    return ticks[0], ticks[-1], ticks


def log_ticks(low: float, high: float) -> list[float]:
    """Ticks at 1, 2 and 5 × powers of ten inside [low, high] (only the powers when that is too many)."""
    if low <= 0 or high <= 0 or not np.isfinite(low) or not np.isfinite(high):
        return []
    powers = range(int(np.floor(np.log10(low))), int(np.ceil(np.log10(high))) + 1)
    for multiples in ((1, 2, 5), (1,)):
        ticks = [m * 10.0 ** p for p in powers for m in multiples if low * (1 - 1e-9) <= m * 10.0 ** p <= high * (1 + 1e-9)]
        if len(ticks) <= 8:
            return ticks
    return ticks


def tick_label(value: float, style: str, step: float | None = None) -> str:
    if style == "percent":
        return f"{value:.0%}"
    if style == "dollars":
        return f"${value:,.0f}"
    decimals = 0 if step is None or step >= 1 else int(np.ceil(-np.log10(step) - 1e-9))
    return f"{value:,.{decimals}f}"
