"""The PDF's tables: font size and column widths measured from the text, so no cell breaks inside a word or
a number; a table too wide for the page even in the smallest type is spread over bands of columns."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
from fpdf.fonts import FontFace

from strategy.export.pdf_text import baseline_offset

if TYPE_CHECKING:
    from strategy.export.pdf import _Document

# Table text starts at these sizes (pt) and may shrink, a step at a time, down to TABLE_MIN_FONT so that every
# column can be as wide as its widest word or number; lines are TABLE_LINE_HEIGHT mm apart at the starting size.
TABLE_FONT, WIDE_TABLE_FONT, WIDE_TABLE_COLUMNS = 8.5, 7.5, 6
TABLE_MIN_FONT, TABLE_FONT_STEP, TABLE_LINE_HEIGHT = 6.0, 0.5, 4.2
# fpdf2 wraps a cell's text at spaces and line breaks; where a word is wider than the cell it cuts the word
# wherever the line is full ("hu/ma/n", "$3,0/00"). Tokens are what lies between those places (other Unicode
# spaces count as part of a token, which can only make a column wider than it needs).
_WRAP_AT = re.compile(r"[ \n]+")


def _lines_of(text: str) -> list[str]:
    return text.split("\n")

# Room beyond a token's own width, so that rounding never leaves it a hair too wide for its column.
_TABLE_SLACK = 0.05


@dataclass(frozen=True)
class TableLayout:
    """How a PDF table is drawn: its font size and one or more bands of columns, each band a table of its own
    as wide as the page, given as (column index, width) pairs."""

    size: float
    bands: tuple[tuple[tuple[int, float], ...], ...]


def table_layout(tokens: list[float], lines: list[float], heads: list[float], *, width: float, padding: float,
                 start: float, minimum: float = TABLE_MIN_FONT, step: float = TABLE_FONT_STEP) -> TableLayout:
    """Font size and column widths for a table whose column ``j`` has its widest unbreakable token
    ``tokens[j]``, its widest line of a body cell ``lines[j]`` and its heading's width on one line
    ``heads[j]``, each per point of font size, on ``width`` of page, with ``padding`` inside each cell.

    Every column is at least as wide as its widest token, so no cell breaks inside a word or a number. What
    the page has beyond that goes to the columns holding prose (text that may wrap between words), in
    proportion to how much more they would need to show each cell on one line: first the body's cells, then
    the headings (a heading wrapping costs one line, a body column wrapping costs one per row). When the
    tokens side by side are wider than the page the font shrinks, down to ``minimum``; past that the columns
    are spread over several bands, each repeating the first column (the row's name) when it fits beside the
    next one. Only a token wider than the whole page at the smallest size is broken, as fpdf2 does when a
    word does not fit its cell (its column then takes the page alone)."""
    size = start
    while sum(t * size + padding for t in tokens) > width and size > minimum:
        size = max(minimum, size - step)
    needs = [t * size + padding for t in tokens]
    bodies = [max(need, line * size + padding) for need, line in zip(needs, lines, strict=True)]
    wholes = [max(body, head * size + padding) for body, head in zip(bodies, heads, strict=True)]
    if sum(needs) <= width:
        bands = [list(range(len(tokens)))]
    else:
        bands, band = [], [0]
        for column in range(1, len(tokens)):
            if sum(needs[j] for j in band) + needs[column] <= width:
                band.append(column)
                continue
            bands.append(band)
            band = [0, column] if needs[0] + needs[column] <= width else [column]
        bands.append(band)
    return TableLayout(size, tuple(tuple(zip(band, _band_widths(
        [needs[j] for j in band], [bodies[j] for j in band], [wholes[j] for j in band], width), strict=True))
        for band in bands))


def _band_widths(needs: list[float], bodies: list[float], wholes: list[float], width: float) -> list[float]:
    if sum(wholes) <= width:  # every cell on one line: the spare width goes to all columns, in proportion
        return [whole * width / sum(wholes) for whole in wholes]
    if sum(needs) > width:  # a lone column whose token is wider than the page
        return [need * width / sum(needs) for need in needs]
    floor, goal = (bodies, wholes) if sum(bodies) <= width else (needs, bodies)
    extra = [more - less for less, more in zip(floor, goal, strict=True)]
    spare = width - sum(floor)
    return [less + spare * more / sum(extra) for less, more in zip(floor, extra, strict=True)]


def _column_extents(pdf: _Document, header: list[str], body: list[list[str]], size: float
                    ) -> tuple[list[float], list[float], list[float]]:
    """Per column, per point of font size: the widest token (headings in bold), the widest line of a body
    cell, and the widest line of the heading."""
    measured: dict[tuple[str, str], float] = {}

    def width_of(text: str, style: str) -> float:
        if (style, text) not in measured:
            pdf.set_font(pdf.family, style, size)
            measured[style, text] = (pdf.flow.width(text) if pdf.flow.fits(text)
                                     else pdf.get_string_width(text)) / size
        return measured[style, text]

    def widest(texts, style: str, split) -> float:
        return max((width_of(part, style) for text in texts for part in split(text) if part), default=0.0)

    tokens, lines, heads = [], [], []
    for j, heading in enumerate(header):
        column = [row[j] for row in body]
        tokens.append(max(widest([heading], "B", _WRAP_AT.split), widest(column, "", _WRAP_AT.split)))
        lines.append(widest(column, "", _lines_of))
        heads.append(widest([heading], "B", _lines_of))
    return tokens, lines, heads


def _pdf_table(pdf: _Document, frame: pd.DataFrame) -> None:
    if not len(frame.columns):
        return
    header = [pdf.text_of(str(column)) for column in frame.columns]
    body = [[pdf.text_of(str(value)) for value in values] for values in frame.itertuples(index=False)]
    start = WIDE_TABLE_FONT if len(header) > WIDE_TABLE_COLUMNS else TABLE_FONT
    layout = table_layout(*_column_extents(pdf, header, body, start), width=pdf.epw,
                          padding=2 * pdf.c_margin + _TABLE_SLACK, start=start)
    pdf.set_font(pdf.family, "", layout.size)
    line_height = TABLE_LINE_HEIGHT * layout.size / start
    for band in layout.bands:
        columns = [j for j, _ in band]
        if _plain_band(pdf, header, body, band, layout.size, line_height):
            pdf.ln(2)
            continue
        # Widths are shares of the page width, which the band's widths add up to.
        with pdf.table(line_height=line_height, text_align="LEFT",
                       first_row_as_headings=True, col_widths=tuple(w for _, w in band),
                       headings_style=FontFace(emphasis="BOLD", fill_color=(238, 243, 246))) as table:
            for cells in [header, *body]:
                row = table.row()
                for j in columns:
                    row.cell(cells[j])
        pdf.ln(2)


HEADING_FILL = (238, 243, 246)


def _plain_band(pdf: _Document, header: list[str], body: list[list[str]], band, size: float,
                line_height: float) -> bool:
    """Draw a band as boxes and lines of text (the headings repeated on each new page), each cell wrapped at
    spaces to its column, and say so; False (a character only a fallback font has) leaves the band to
    fpdf2's table. fpdf2's table lays each cell out through its line breaker, which measures a line again
    for every character: the larger part of a long portfolio's time. The column widths already hold every
    word whole (table_layout), so wrapping here never cuts one."""
    flow = pdf.flow
    if not all(flow.fits(cells[j]) for cells in (header, *body) for j, _ in band):
        return False
    padding = 2 * pdf.c_margin

    def wrapped(cells: list[str], style: str) -> list[list[str]]:
        pdf.set_font(pdf.family, style, size)
        return [flow.lines(cells[j], width - padding) for j, width in band]

    def row(lines: list[list[str]], style: str, fill: bool) -> None:
        # Boxes and text() rather than cell(), which lays each cell's text out again (four times slower).
        pdf.set_font(pdf.family, style, size)
        height = line_height * max(len(cell) for cell in lines)
        x, y = pdf.l_margin, pdf.get_y()
        for (_, width), cell in zip(band, lines, strict=True):
            pdf.rect(x, y, width, height, style="DF" if fill else "D")
            for index, text in enumerate(cell):
                if text:
                    pdf.text(x + pdf.c_margin, y + index * line_height + baseline_offset(pdf, line_height), text)
            x += width
        pdf.set_xy(pdf.l_margin, y + height)

    heading = wrapped(header, "B")
    heading_height = line_height * max(len(cell) for cell in heading)
    pdf.set_fill_color(*HEADING_FILL)
    pdf.set_line_width(0.2)
    first = True
    for cells in body:
        lines = wrapped(cells, "")
        height = line_height * max(len(cell) for cell in lines)
        if first or pdf.will_page_break(height):
            if pdf.will_page_break(heading_height + height):
                pdf.add_page()
            row(heading, "B", True)
            first = False
        row(lines, "", False)
    if first:
        row(heading, "B", True)
    pdf.set_font(pdf.family, "", size)
    return True
