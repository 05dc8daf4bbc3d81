"""Flowing text into the PDF a line at a time.

fpdf2's own line breaker measures the whole line again for every character it adds, so a paragraph costs
time in the square of its line length; at 1,000 tasks it was the largest part of a portfolio PDF. Here
words are measured once each (from the font's advance widths, cached per font and size), lines are filled
greedily, and each line is written as one cell. Text with a character the body fonts lack goes through
fpdf2's breaker instead, which switches to the fallback fonts mid-line.
"""

from __future__ import annotations

from fpdf import FPDF


class TextFlow:
    """Word widths and line filling for one document (its fonts are fixed once it is made)."""

    def __init__(self, pdf: FPDF, characters: frozenset[int]):
        self.pdf = pdf
        self.characters = characters  # code points both body faces have
        self._widths: dict[tuple[str, float, str], float] = {}

    def fits(self, text: str) -> bool:
        return bool(self.characters) and all(ord(char) in self.characters for char in text)

    def width(self, text: str) -> float:
        """Width in mm of ``text`` in the current font (no kerning, as fpdf2 measures without shaping)."""
        pdf = self.pdf
        key = (pdf.font_style, pdf.font_size_pt, text)
        found = self._widths.get(key)
        if found is None:
            advances = pdf.current_font.cw
            found = sum(advances[ord(char)] for char in text) * pdf.font_size_pt * 0.001 / pdf.k
            if len(self._widths) < 200_000:
                self._widths[key] = found
        return found

    def lines(self, text: str, width: float, first_width: float | None = None) -> list[str]:
        """``text`` broken into lines no wider than ``width`` (the first no wider than ``first_width``), at
        spaces, or inside a word too long for a line; explicit newlines are kept."""
        out: list[str] = []
        limit = width if first_width is None else first_width
        space = self.width(" ")
        for paragraph in text.split("\n"):
            line, used = "", 0.0
            for word in paragraph.split(" "):
                size = self.width(word)
                needed = size if not line else used + space + size
                if needed <= limit + 1e-9:
                    line, used = (word if not line else f"{line} {word}"), needed
                    continue
                if line:
                    out.append(line)
                    limit = width
                line, used = word, size
                while used > limit + 1e-9 and len(line) > 1:  # a word longer than a line: cut it
                    cut = self._longest_prefix(line, limit)
                    out.append(line[:cut])
                    limit = width
                    line = line[cut:]
                    used = self.width(line)
            out.append(line)
            limit = width
        return out

    def _longest_prefix(self, word: str, limit: float) -> int:
        total = 0.0
        for index, char in enumerate(word):
            total += self.width(char)
            if total > limit + 1e-9:
                return max(index, 1)
        return len(word)

    def write_lines(self, text: str, height: float, *, label: str = "") -> None:
        """Write ``text`` from the left margin (after a bold ``label`` on its first line), in the current
        font, ``height`` mm per line, and move below it. The caller has checked :meth:`fits`."""
        pdf = self.pdf
        width = pdf.epw
        style, size = pdf.font_style, pdf.font_size_pt
        label_width = 0.0
        if label:
            pdf.set_font(pdf.font_family, "B", size)
            label_width = self.width(label + " ")
            pdf.set_font(pdf.font_family, style, size)
        lines = self.lines(text, width, first_width=width - label_width if label else None)
        margin, pdf.c_margin = pdf.c_margin, 0.0  # text starts at the margin, as write() starts it
        try:
            self._cells(lines, height, label, label_width, style, size)
        finally:
            pdf.c_margin = margin

    def _cells(self, lines, height, label, label_width, style, size) -> None:
        # text() places a line without laying it out again (cell() lays each line out anew: measured 4× slower).
        pdf = self.pdf
        for index, line in enumerate(lines):
            if pdf.will_page_break(height):
                pdf.add_page()
            x, baseline = pdf.l_margin, pdf.get_y() + baseline_offset(pdf, height)
            if index == 0 and label:
                pdf.set_font(pdf.font_family, "B", size)
                pdf.text(x, baseline, label)
                pdf.set_font(pdf.font_family, style, size)
                x += label_width
            if line:
                pdf.text(x, baseline, line)
            pdf.set_xy(pdf.l_margin, pdf.get_y() + height)


def baseline_offset(pdf: FPDF, height: float) -> float:
    """Where a line of text sits in a row ``height`` mm tall: vertically centred, as cell() centres it."""
    return 0.5 * height + 0.3 * pdf.font_size
