"""Every chart has a title, axis titles and a tooltip, and draws what a reader needs to see."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
import vl_convert as vlc

from strategy import charts
from strategy.assessments import reports_with_scores
from strategy.quality.columns import Sample
from strategy.quality.report import distribution
from strategy.recommend import TaskFit, gather
from strategy.views import evidence_view, portfolio_view


def _encodings(spec: dict) -> dict:
    return spec.get("encoding", {})


@pytest.fixture
def built(demo_catalog):
    tasks = demo_catalog.tasks()
    outcomes = demo_catalog.outcomes()
    one = tasks.iloc[[0]]
    own = outcomes[outcomes["task_id"] == one["id"].iloc[0]]
    return {
        "task_profile": charts.task_profile(one),
        "profile_matrix": charts.profile_matrix(tasks),
        "outcomes_by_mix": charts.outcomes_by_mix(own, one["metric"].iloc[0]),
        "outcomes_per_task": charts.outcomes_per_task(outcomes),
        "dataset_costs": charts.dataset_costs(demo_catalog.datasets()),
    }


def test_charts_are_titled_with_axis_titles_and_tooltips(built):
    for name, chart in built.items():
        spec = chart.to_dict()
        assert spec.get("title"), f"{name} has no title"
        encoding = _encodings(spec)
        for axis in ("x", "y"):
            assert encoding[axis].get("title") is not None, f"{name} {axis} axis has no title"
        assert encoding.get("tooltip"), f"{name} has no tooltip"


def test_outcome_chart_plots_every_outcome(demo_catalog):
    outcomes = demo_catalog.outcomes()
    task_id = outcomes["task_id"].iloc[0]
    own = outcomes[outcomes["task_id"] == task_id]
    spec = charts.outcomes_by_mix(own, "AUPRC").to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert len(rows) == len(own)
    assert "units" in spec["encoding"]["y"]["title"] or "AUPRC" in spec["encoding"]["y"]["title"]


# ----------------------------------------------------------------------------- what a reader sees
# The tests below render each chart's spec to SVG, as a browser would draw it, and look at the marks.
SVG = "{http://www.w3.org/2000/svg}"
NUMBER = r"-?\d+(?:\.\d+)?(?:e-?\d+)?"


def _svg(chart) -> ET.Element:
    return ET.fromstring(vlc.vegalite_to_svg(chart.to_json()))


def _plot_size(svg: ET.Element) -> tuple[float, float]:
    """Width and height of the (first) plot area, from its background frame."""
    for path in svg.iter(f"{SVG}path"):
        if path.get("class") == "background" and path.get("stroke"):
            width, height = re.match(rf"M{NUMBER},{NUMBER}h({NUMBER})v({NUMBER})", path.get("d")).groups()
            return float(width), float(height)
    raise AssertionError("no plot area")


def _mark_groups(svg: ET.Element, kind: str) -> list[ET.Element]:
    """The data marks of one kind (symbol, rect, line, rule…) in drawing order."""
    return [g for g in svg.iter(f"{SVG}g") if f"mark-{kind} role-mark" in (g.get("class") or "")]


def _mark_order(svg: ET.Element) -> list[str]:
    return [re.search(r"mark-(\w+) role-mark", g.get("class")).group(1)
            for g in svg.iter(f"{SVG}g") if "role-mark" in (g.get("class") or "")]


def _rects(group: ET.Element) -> list[dict]:
    """Rect marks (bars, ticks) as x, y, width, height, with their paint."""
    found = []
    for path in group.iter(f"{SVG}path"):
        x, y, w, h = map(float, re.match(rf"M({NUMBER}),({NUMBER})h({NUMBER})v({NUMBER})", path.get("d")).groups())
        found.append({"x": x, "y": y, "width": w, "height": h, "fill": path.get("fill"),
                      "opacity": float(path.get("opacity", path.get("fill-opacity", 1))),
                      "label": path.get("aria-label", "")})
    return found


def _symbols(group: ET.Element) -> list[dict]:
    """Point marks as centre and radius (circles are drawn as two arcs of radius r)."""
    found = []
    for path in group.iter(f"{SVG}path"):
        x, y = map(float, re.match(rf"translate\(({NUMBER}),({NUMBER})\)", path.get("transform")).groups())
        radius = float(re.match(rf"M({NUMBER}),", path.get("d")).group(1))
        found.append({"x": x, "y": y, "r": abs(radius), "label": path.get("aria-label", "")})
    return found


def _axis(svg: ET.Element, axis: str) -> ET.Element:
    for g in svg.iter(f"{SVG}g"):
        if g.get("aria-roledescription") == "axis" and (g.get("aria-label") or "").startswith(f"{axis}-axis"):
            return g
    raise AssertionError(f"no {axis} axis")


def _axis_labels(svg: ET.Element, axis: str) -> list[str]:
    return [" ".join(t.itertext()) for g in _axis(svg, axis).iter(f"{SVG}g")
            if "role-axis-label" in (g.get("class") or "") for t in g.iter(f"{SVG}text")]


def _axis_title(svg: ET.Element, axis: str) -> str:
    return " ".join(t.text for g in _axis(svg, axis).iter(f"{SVG}g") if "role-axis-title" in (g.get("class") or "")
                    for t in g.iter(f"{SVG}text"))


def _legend_entries(svg: ET.Element) -> list[tuple[str, str]]:
    """(label, colour) of every legend entry of every legend."""
    entries = []
    for legend in svg.iter(f"{SVG}g"):
        if legend.get("aria-roledescription") != "legend":
            continue
        symbols = [p for g in legend.iter(f"{SVG}g") if "role-legend-symbol" in (g.get("class") or "")
                   for p in g.iter(f"{SVG}path")]
        labels = [t.text for g in legend.iter(f"{SVG}g") if "role-legend-label" in (g.get("class") or "")
                  for t in g.iter(f"{SVG}text")]
        colours = [p.get("stroke") if p.get("fill") in (None, "transparent", "none") else p.get("fill")
                   for p in symbols]
        entries += list(zip(labels, colours, strict=True))
    return entries


def _first_task_evidence(catalog):
    """A task's evidence view, built as the task page builds it from the stored fit."""
    task_id = catalog.tasks()["id"].iloc[0]
    _, fit_data = catalog.latest_recommendation(task_id)
    return evidence_view(gather(catalog, [task_id])[0], TaskFit.from_dict(fit_data))


def test_evidence_chart_draws_the_fitted_value_and_band_over_the_points(demo_catalog):
    frame = _first_task_evidence(demo_catalog)
    assert {"fitted", "low", "high"} <= set(frame.columns)
    svg = _svg(charts.evidence_chart(frame, "accuracy"))
    width, height = _plot_size(svg)
    order = _mark_order(svg)
    # The points come first, so the fit is painted over them rather than hidden beneath.
    assert order[0] == "symbol", order
    rects = [r for g in _mark_groups(svg, "rect") for r in _rects(g)]
    bands = [r for r in rects if r["height"] > r["width"]]
    fitted = [r for r in rects if r["width"] > r["height"]]
    assert len(bands) == len(frame) and len(fitted) == len(frame)
    # Each fitted value is a horizontal stroke wide enough to read beside its dot, not a sliver inside the band.
    assert all(r["width"] >= 12 and r["height"] >= 2 for r in fitted)
    assert all(r["width"] >= 6 and r["height"] >= 5 and r["opacity"] >= 0.25 for r in bands)
    # …and in a colour of its own, unlike the dots and the band around it.
    assert {r["fill"] for r in fitted}.isdisjoint({r["fill"] for r in bands} | {charts.HUMAN_COLOUR})
    # The marks at 0% and 100% human sit wholly inside the plot.
    for r in rects:
        assert r["x"] >= 0 and r["x"] + r["width"] <= width
        assert r["y"] >= 0 and r["y"] + r["height"] <= height
    for s in (s for g in _mark_groups(svg, "symbol") for s in _symbols(g)):
        assert s["r"] <= s["x"] <= width - s["r"]


def _reports(stamps, datasets) -> pd.DataFrame:
    """Stored humanness reports as strategy.assessments.reports_with_scores returns them."""
    count = len(stamps)
    return pd.DataFrame({"created_at": pd.to_datetime(stamps), "dataset_name": datasets,
                         "grade": ["C"] * count, "humanness": np.linspace(60, 80, count),
                         "floor": np.linspace(95, 97, count)})


@pytest.mark.parametrize("reports", [
    # The demo seed stores its reports microseconds apart: a time axis would show one tick, ".623".
    _reports(["2026-12-01 11:44:09.623657", "2026-12-01 11:44:09.623686", "2026-12-01 11:44:09.623707"],
             ["attack traffic", "fraud transactions", "labelled reviews"]),
    # A task page: one synthetic dataset assessed on three days.
    _reports(["2026-11-02 09:00", "2026-11-09 16:30", "2026-11-20 08:15"], ["fraud transactions"] * 3),
], ids=["same instant", "one dataset over weeks"])
def test_humanness_trend_has_a_tick_per_report_and_one_coloured_legend_entry_per_series(reports):
    svg = _svg(charts.humanness_trend(reports))
    labels = _axis_labels(svg, "X")
    assert len(set(labels)) == len(reports), labels
    assert all(str(stamp.year) in label or stamp.strftime("%b") in label
               for stamp, label in zip(reports["created_at"], labels, strict=True)), labels
    entries = _legend_entries(svg)
    names = [label for label, _ in entries]
    for series in ("synthetic vs human", "human vs human"):
        assert sum(series in name for name in names) == 1, names
    colours = dict(entries)
    series_colours = [colours[n] for n in names if "vs human" in n]
    assert len(set(series_colours)) == 2 and not {"#000", "black", "#000000"} & set(series_colours), entries
    for dataset in reports["dataset_name"].unique():
        assert sum(dataset in name for name in names) == 1, names


def test_humanness_trend_of_the_demo_reports(demo_catalog):
    reports = reports_with_scores(demo_catalog)
    svg = _svg(charts.humanness_trend(reports))
    assert len(set(_axis_labels(svg, "X"))) == len(reports)


def _history(stamps, values, scenarios) -> pd.DataFrame:
    """Recommendation history as the task page hands it to the chart."""
    count = len(stamps)
    return pd.DataFrame({"created_at": pd.to_datetime(stamps), "expected_value": values, "scenario_label": scenarios,
                         "sourcing": ["mixed"] * count, "human_share_spend": [0.5] * count,
                         "budget": [1000.0] * count, "evidence_count": [14] * count})


@pytest.mark.parametrize("history", [
    _history(["2026-11-02 09:00", "2026-11-09 16:30", "2026-11-20 08:15"], [0.61, 0.74, 0.69], ["recomputed"] * 3),
    _history(["2026-11-02 09:00", "2026-11-02 09:00", "2026-11-05 10:00"], [0.50, 0.80, 0.65],
             ["recomputed", "budget $2,000", "recomputed"]),
    _history(["2026-12-01 11:44:10.543"], [0.79], ["recomputed"]),
], ids=["three recomputations", "a scenario beside them", "one row"])
def test_history_chart_keeps_every_point_inside_the_plot(history):
    svg = _svg(charts.history_chart(history, "accuracy").properties(width=400, height=250))
    width, height = _plot_size(svg)
    points = [s for g in _mark_groups(svg, "symbol") for s in _symbols(g)]
    assert len(points) == len(history)
    for point in points:
        assert point["r"] <= point["x"] <= width - point["r"], (point, width)
        assert point["r"] <= point["y"] <= height - point["r"], (point, height)


def _overlay(human_values, synthetic_values, **keywords):
    """The overlay as the Data quality page draws it, handing the raw columns over as well."""
    human, synthetic = Sample("human", pd.DataFrame({"x": human_values})), Sample(
        "synthetic", pd.DataFrame({"x": synthetic_values}))
    return charts.distribution_overlay(distribution(human, synthetic, "x"), "x", True,
                                       human=human.frame["x"], synthetic=synthetic.frame["x"], **keywords)


def _visible_bars(svg: ET.Element) -> dict[str, int]:
    """How many bars of each sample stand on the x axis at least 2 pixels tall."""
    _, height = _plot_size(svg)
    bars = [r for g in _mark_groups(svg, "rect") for r in _rects(g)]
    return {colour: sum(r["height"] >= 2 and r["y"] + r["height"] == pytest.approx(height, abs=0.5)
                        for r in bars if r["fill"] == colour)
            for colour in (charts.HUMAN_COLOUR, charts.SYNTHETIC_COLOUR)}


def test_distribution_overlay_bins_a_long_positive_tail_on_a_log_axis():
    rng = np.random.default_rng(3)
    # Transaction amounts: most a few dollars, a handful in the hundred thousands.
    svg = _svg(_overlay(rng.lognormal(2, 2, 2000), rng.lognormal(2.3, 1.8, 2000)))
    assert "log" in _axis_title(svg, "X")
    assert "log scale" in _axis(svg, "X").get("aria-label")
    assert all(count >= 8 for count in _visible_bars(svg).values()), _visible_bars(svg)


def test_distribution_overlay_uses_quantile_bins_for_a_long_tail_with_zeros():
    rng = np.random.default_rng(4)
    # Refund amounts: many zero, the rest long-tailed; a log axis cannot show the zeros.
    human = np.concatenate([np.zeros(400), rng.lognormal(3, 2, 1600)])
    synthetic = np.concatenate([np.zeros(200), rng.lognormal(3, 1.5, 1800)])
    svg = _svg(_overlay(human, synthetic))
    assert "quantile" in _axis_title(svg, "X")
    assert len(set(_axis_labels(svg, "X"))) >= 8
    assert all(count >= 8 for count in _visible_bars(svg).values()), _visible_bars(svg)
    # A tail to the left (times to failure near a ceiling, say) is squeezed further by a log axis.
    human, synthetic = (1000 - np.minimum(rng.lognormal(1, 2, 2000), 999) for _ in range(2))
    assert min(human.min(), synthetic.min()) > 0
    assert "quantile" in _axis_title(_svg(_overlay(human, synthetic)), "X")


def test_distribution_overlay_keeps_equal_width_bins_without_a_long_tail():
    rng = np.random.default_rng(5)
    chart = _overlay(rng.normal(50, 10, 1000), rng.normal(52, 11, 1000))
    svg = _svg(chart)
    assert _axis_title(svg, "X") == "x (binned)"
    assert "linear scale" in _axis(svg, "X").get("aria-label")
    # Without the raw columns the chart draws the bins it is given, as before.
    human, synthetic = (Sample(n, pd.DataFrame({"x": rng.lognormal(2, 2, 500)})) for n in ("human", "synthetic"))
    plain = charts.distribution_overlay(distribution(human, synthetic, "x"), "x", True)
    assert _axis_title(_svg(plain), "X") == "x (binned)"


def test_portfolio_split_shows_every_task_as_shares_of_its_own_budget(demo_catalog):
    view = portfolio_view(demo_catalog)
    assert view["budget"].max() >= 100 * view["budget"].min()  # the $150k task beside $300 ones
    svg = _svg(charts.portfolio_split(view).properties(width=400))
    width, _ = _plot_size(svg)
    rows: dict[float, list[dict]] = {}
    for bar in (r for g in _mark_groups(svg, "rect") for r in _rects(g)):
        rows.setdefault(round(bar["y"], 1), []).append(bar)
    assert len(rows) == view["computed"].sum()
    for bars in rows.values():
        # Every task's parts fill the row: the small budgets are as readable as the large one.
        assert sum(b["width"] for b in bars) == pytest.approx(width, abs=1)
        assert all("$" in b["label"] and "%" in b["label"] for b in bars), bars[0]["label"]
    assert "0% to 100%" in _axis(svg, "X").get("aria-label")
    legend = [label for label, _ in _legend_entries(svg)]
    assert legend == ["human training data", "synthetic training data", "human evaluation set"]
