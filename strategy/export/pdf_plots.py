"""A :class:`strategy.plots.LinePlot` drawn straight into the PDF as vector lines: axes with round ticks and
grid lines, the band, the lines (with dots), dashed markers and a legend, laid out as Vega-Lite lays out the
same chart on the HTML page: a few milliseconds per chart, where Vega took about 0.2 s to draw it as an image."""

from __future__ import annotations

import math

import numpy as np
from fpdf import FPDF

from strategy.plots import LinePlot, StackedBars, log_ticks, nice_scale, tick_label

HEIGHT = 78.0          # mm, the whole figure: title, plot, axis labels
LEFT, RIGHT = 20.0, 34.0   # room for the y labels and title / for the legend
TOP, BOTTOM = 9.0, 13.0    # room for the title / for the x labels and title
AXIS_GREY, GRID_GREY, LABEL_GREY = (136, 136, 136), (221, 221, 221), (70, 70, 70)


def _rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


def draw_line_plot(pdf: FPDF, plot: LinePlot, width: float, text_of=str) -> None:
    """Draw ``plot`` at the current position, ``width`` mm wide, and move below it (a new page first when it
    would not fit). ``text_of`` makes text safe for the document's fonts."""
    if pdf.will_page_break(HEIGHT):
        pdf.add_page()
    x0, y0 = pdf.l_margin, pdf.get_y()
    left, top = x0 + LEFT, y0 + TOP
    plot_w, plot_h = width - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    y_low, y_high, y_ticks = nice_scale(*plot.y_range())
    if plot.x_format == "percent":
        x_low, x_high, x_ticks = 0.0, 1.0, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    elif plot.x_log:
        x_low, x_high = plot.x_range()
        if x_high <= x_low:
            x_low, x_high = x_low / 2, x_high * 2
        x_ticks = log_ticks(x_low, x_high)
        pad = (math.log10(x_high) - math.log10(x_low)) * 0.04  # the end points' dots stay inside the plot
        x_low, x_high = x_low / 10 ** pad, x_high * 10 ** pad
    else:
        x_low, x_high, x_ticks = nice_scale(*plot.x_range())

    def px(x):
        x = np.asarray(x, float)
        if plot.x_log:
            span = math.log10(x_high) - math.log10(x_low)
            return left + (np.log10(np.maximum(x, 1e-300)) - math.log10(x_low)) / span * plot_w
        return left + (x - x_low) / (x_high - x_low) * plot_w

    def py(y):
        return top + plot_h - (np.asarray(y, float) - y_low) / (y_high - y_low) * plot_h

    # Title
    pdf.set_text_color(0)
    pdf.set_font(pdf.family, "B", 8.5)
    pdf.text(left, y0 + 5, text_of(plot.title))
    # Grid and tick labels
    pdf.set_font(pdf.family, "", 6.5)
    pdf.set_text_color(*LABEL_GREY)
    pdf.set_line_width(0.15)
    y_step = y_ticks[1] - y_ticks[0] if len(y_ticks) > 1 else None
    for tick in y_ticks:
        y = float(py(tick))
        pdf.set_draw_color(*GRID_GREY)
        pdf.line(left, y, left + plot_w, y)
        label = text_of(tick_label(tick, "number", y_step))
        pdf.text(left - 1.5 - pdf.get_string_width(label), y + 0.9, label)
    for tick in x_ticks:
        x = float(px(tick))
        pdf.set_draw_color(*GRID_GREY)
        pdf.line(x, top, x, top + plot_h)
        label = text_of(tick_label(tick, plot.x_format))
        pdf.text(x - pdf.get_string_width(label) / 2, top + plot_h + 3.6, label)
    pdf.set_draw_color(*AXIS_GREY)
    pdf.line(left, top + plot_h, left + plot_w, top + plot_h)
    pdf.line(left, top, left, top + plot_h)
    # Axis titles
    pdf.set_font(pdf.family, "B", 7)
    pdf.set_text_color(0)
    x_title = text_of(plot.x_title)
    pdf.text(left + (plot_w - pdf.get_string_width(x_title)) / 2, top + plot_h + 9, x_title)
    y_title = text_of(plot.y_title)
    y_mid = top + (plot_h + pdf.get_string_width(y_title)) / 2
    with pdf.rotation(90, x0 + 3.5, y_mid):
        pdf.text(x0 + 3.5, y_mid, y_title)

    # Band, lines, dots, markers: clipped to the plot by construction (every value is inside the ranges)
    if plot.band is not None:
        band = plot.band
        keep = np.isfinite(band.low) & np.isfinite(band.high)
        xs, lows, highs = px(band.x[keep]), py(band.low[keep]), py(band.high[keep])
        outline = list(zip(xs, highs, strict=True)) + list(zip(xs[::-1], lows[::-1], strict=True))
        if len(outline) >= 3:
            pdf.set_fill_color(*_rgb(band.colour))
            with pdf.local_context(fill_opacity=band.opacity):
                pdf.polygon([(float(a), float(b)) for a, b in outline], style="F")
    for series in plot.series:
        keep = np.isfinite(series.y) & ((series.x > 0) if plot.x_log else np.isfinite(series.x))
        points = [(float(a), float(b)) for a, b in zip(px(series.x[keep]), py(series.y[keep]), strict=True)]
        pdf.set_draw_color(*_rgb(series.colour))
        pdf.set_fill_color(*_rgb(series.colour))
        pdf.set_line_width(0.45)
        if len(points) > 1:
            pdf.polyline(points)
        if series.points:
            for a, b in points:
                pdf.circle(a, b, 0.7, style="F")
    pdf.set_line_width(0.35)
    for marker in plot.markers:
        x = float(px(marker.x))
        pdf.set_draw_color(*_rgb(marker.colour))
        pdf.set_dash_pattern(dash=1.4, gap=1.0)
        pdf.line(x, top, x, top + plot_h)
        pdf.set_dash_pattern()

    # Legend
    entries = [(s.label, s.colour, False) for s in plot.series if plot.legend_title != "Marker"]
    entries += [(m.label, m.colour, True) for m in plot.markers]
    legend_x, legend_y = left + plot_w + 4, top + 1
    if entries:
        pdf.set_font(pdf.family, "B", 7)
        pdf.set_text_color(0)
        pdf.text(legend_x, legend_y + 2, text_of(plot.legend_title))
        pdf.set_font(pdf.family, "", 6.5)
        for index, (label, colour, dashed) in enumerate(entries):
            y = legend_y + 6 + index * 4.2
            pdf.set_draw_color(*_rgb(colour))
            pdf.set_line_width(0.45)
            if dashed:
                pdf.set_dash_pattern(dash=1.4, gap=1.0)
            pdf.line(legend_x, y - 0.8, legend_x + 5, y - 0.8)
            pdf.set_dash_pattern()
            pdf.set_text_color(*LABEL_GREY)
            pdf.text(legend_x + 6.5, y, text_of(label))
    pdf.set_text_color(0)
    pdf.set_draw_color(0)
    pdf.set_line_width(0.2)
    pdf.set_y(y0 + HEIGHT)


BAR_ROW, LABEL_WIDTH = 4.0, 62.0


def draw(pdf: FPDF, plot: LinePlot | StackedBars, width: float, text_of=str) -> None:
    """Draw either kind of plot (see :func:`draw_line_plot` and :func:`draw_stacked_bars`)."""
    if isinstance(plot, StackedBars):
        draw_stacked_bars(pdf, plot, width, text_of)
    else:
        draw_line_plot(pdf, plot, width, text_of)


def height_of(plot: LinePlot | StackedBars) -> float:
    """How much of a page the plot needs before it may start (the bars need their header and a few rows)."""
    return HEIGHT if isinstance(plot, LinePlot) else 16 + 5 * BAR_ROW


def draw_stacked_bars(pdf: FPDF, plot: StackedBars, width: float, text_of=str) -> None:
    """A bar per row, over as many pages as the rows need, the title, scale and legend repeated at the top
    of each page (as one image, a bar 22 pixels high per task, the split of 1,000 tasks was over 20,000 pixels
    tall and illegible once shrunk to a page; profiled at 400 tasks, Vega took 8.6 s to draw it)."""
    bar_left = pdf.l_margin + LABEL_WIDTH
    bar_width = width - LABEL_WIDTH - 6
    ticks = [i / 10 for i in range(11)]

    def header() -> None:
        # Title, then the legend in a row, then the scale over the bars (the title already names the axis).
        y0 = pdf.get_y()
        pdf.set_text_color(0)
        pdf.set_font(pdf.family, "B", 8.5)
        pdf.text(pdf.l_margin, y0 + 4, text_of(plot.title))
        pdf.set_font(pdf.family, "", 6.5)
        pdf.set_text_color(*LABEL_GREY)
        x = bar_left
        for part, colour in zip(plot.parts, plot.colours, strict=True):
            pdf.set_fill_color(*_rgb(colour))
            pdf.rect(x, y0 + 6.3, 2.6, 2.6, style="F")
            label = text_of(part)
            pdf.text(x + 3.6, y0 + 8.5, label)
            x += 3.6 + pdf.get_string_width(label) + 5
        pdf.set_font(pdf.family, "B", 7)
        pdf.set_text_color(0)
        pdf.text(pdf.l_margin, y0 + 12.5, text_of(plot.y_title))
        pdf.set_font(pdf.family, "", 6.5)
        pdf.set_text_color(*LABEL_GREY)
        for tick in ticks:
            label = f"{tick:.0%}"
            pdf.text(bar_left + tick * bar_width - pdf.get_string_width(label) / 2, y0 + 12.5, label)
        pdf.set_y(y0 + 14)

    if pdf.will_page_break(height_of(plot)):
        pdf.add_page()
    header()
    pdf.set_font(pdf.family, "", 6.5)
    for label, shares in zip(plot.labels, plot.shares, strict=True):
        if pdf.will_page_break(BAR_ROW):
            pdf.add_page()
            header()
            pdf.set_font(pdf.family, "", 6.5)
        y = pdf.get_y()
        shown = _shortened(pdf, text_of(label), LABEL_WIDTH - 2)
        pdf.set_text_color(*LABEL_GREY)
        pdf.text(bar_left - 1.5 - pdf.get_string_width(shown), y + 2.8, shown)
        x = bar_left
        for share, colour in zip(shares, plot.colours, strict=True):
            if share > 0:
                pdf.set_fill_color(*_rgb(colour))
                pdf.rect(x, y + 0.4, share * bar_width, BAR_ROW - 0.8, style="F")
                x += share * bar_width
        pdf.set_y(y + BAR_ROW)
    pdf.set_text_color(0)
    pdf.ln(2)


def _shortened(pdf: FPDF, label: str, room: float) -> str:
    """The label cut to ``room`` mm with an ellipsis, keeping what follows its last " · " (the budget)."""
    if pdf.get_string_width(label) <= room:
        return label
    name, dot, tail = label.rpartition(" · ")
    if not dot:
        name, tail = label, ""
    tail = dot + tail if dot else ""
    while name and pdf.get_string_width(name + "…" + tail) > room:
        name = name[:-1]
    return name.rstrip() + "…" + tail
