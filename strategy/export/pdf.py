"""PDF: the summary's blocks laid out for A4 or Letter, with page numbers, the charts drawn as vector shapes and fonts
for every character the text holds (or a count of those no installed font has)."""

from __future__ import annotations

import functools
import io
import os
from pathlib import Path

from fontTools.ttLib import TTFont
from fpdf import FPDF

from strategy.errors import StrategyError
from strategy.export.blocks import Bullets, Chart, Heading, PageBreak, Paragraph, Table, chart_spec, inert, iter_blocks
from strategy.export.pdf_charts import _ChartPictures
from strategy.export.pdf_plots import draw, height_of
from strategy.export.pdf_tables import _pdf_table
from strategy.export.pdf_text import TextFlow
from strategy.export.registry import Renderer, register
from strategy.summary import SummaryBundle

PAPER_SIZES = ("A4", "Letter")
# A document of this many tasks computes its charts' numbers (the mix curve and the budget frontier, a third
# of its time) in another process while this one lays the pages out. The worker comes from a fork server
# (strategy.threads.worker_pool), whose start in a process that has none yet costs 1.5-2 s: the first PDF of a
# fresh process, without a worker and with one, took 0.81 s and 2.53 s at 40 tasks, 4.16 s and 5.09 s at 200
# (bench/bench_workers.py; a later one, the server running, 3.92 s and 3.34 s at 200), so only a long
# document starts one. $STRATEGY_CHART_WORKERS says how many: a number, or "auto" (the default: one when
# the machine has a second core; more gain nothing, the layout here being the slower half).
PARALLEL_FIGURE_TASKS = 200
# Stands for the page count in the footer until the document is complete; fpdf2 sizes the footer by it, and
# its default "{nb}" is narrower than the four digits of a 1,000-task portfolio's page count.
PAGE_COUNT = "{pages}"
CHART_WORKERS_ENV = "STRATEGY_CHART_WORKERS"


def chart_workers() -> int:
    setting = os.environ.get(CHART_WORKERS_ENV, "auto").strip().lower()
    if setting == "auto":
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            cores = os.cpu_count() or 1
        return min(cores - 1, 1)
    if not setting.isdigit():
        raise StrategyError(f"{CHART_WORKERS_ENV} must be a whole number of worker processes or 'auto', "
                            f"not {setting!r}.")
    return int(setting)
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"),
             Path("/usr/share/fonts/truetype/noto"), Path("/usr/share/fonts/opentype/noto"),
             Path("/usr/share/fonts/noto"), Path("/usr/share/fonts/noto-cjk"),
             Path("/usr/local/share/fonts"), Path("/Library/Fonts"), Path("C:/Windows/Fonts"))
# The body font, regular and bold: DejaVu Sans (Debian fonts-dejavu-core), else Noto Sans (fonts-noto-core).
BODY_FONTS = (("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"), ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"))
# Fonts for the characters the body font lacks, in order of preference, as (file, face of a collection); each
# is loaded only when the document holds a character it has and nothing before it does. Debian packages:
# fonts-noto-cjk (Chinese, Japanese, Korean), fonts-noto-color-emoji, fonts-noto-core (symbols, scripts).
FALLBACK_FONTS = (
    ("NotoSansCJK-Regular.ttc", 0), ("NotoColorEmoji.ttf", 0), ("NotoSansSymbols2-Regular.ttf", 0),
    ("NotoSansSymbols-Regular.ttf", 0), ("NotoSansMath-Regular.ttf", 0), ("NotoSansArabic-Regular.ttf", 0),
    ("NotoSansHebrew-Regular.ttf", 0), ("NotoSansDevanagari-Regular.ttf", 0), ("NotoSansBengali-Regular.ttf", 0),
    ("NotoSansTamil-Regular.ttf", 0), ("NotoSansThai-Regular.ttf", 0), ("NotoSansArmenian-Regular.ttf", 0),
    ("NotoSansGeorgian-Regular.ttf", 0), ("NotoSansEthiopic-Regular.ttf", 0), ("NotoSansKhmer-Regular.ttf", 0),
    ("NotoSansSinhala-Regular.ttf", 0),
)
# What stands in for a character no installed font can show; the PDF says how many were replaced.
REPLACEMENT = "\u25a1"  # □
# Format characters with no glyph of their own (joiners, variation selectors inside emoji): left out when no
# font has them, which changes nothing a reader could see.
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufe0e\ufe0f\ufeff")
_PLAIN = str.maketrans({"–": "-", "—": "-", "→": "->", "≥": ">=", "≤": "<=", "·": "-", "×": "x", "…": "...",
                        "‘": "'", "’": "'", "“": '"', "”": '"', "•": "-"})


def _font_file(name: str) -> Path | None:
    return next((folder / name for folder in FONT_DIRS if (folder / name).is_file()), None)


def _unicode_font() -> tuple[Path, Path] | None:
    for regular_name, bold_name in BODY_FONTS:
        regular, bold = _font_file(regular_name), _font_file(bold_name)
        if regular and bold:
            return regular, bold
    return None


@functools.lru_cache(maxsize=32)
def _characters(path: Path, face: int = 0) -> frozenset[int]:
    """The code points a font file has glyphs for (read once per process)."""
    try:
        font = TTFont(path, fontNumber=face, lazy=True)
        return frozenset(font.getBestCmap() or ())
    except Exception:  # noqa: BLE001 - an unreadable font file is one we do without
        return frozenset()


class _Document(FPDF):
    """The PDF, with a body font, the fallback fonts its text needs, and every character no installed font
    has replaced (and counted) rather than dropped."""

    def __init__(self, paper: str, title: str, texts: list[str]):
        super().__init__(format=paper)
        self.document_title = title
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=18)
        fonts = _unicode_font()
        self.family = "Body" if fonts else "Helvetica"
        needed = {char for text in texts for char in self._plain(text)} - {"\n"}
        if fonts:
            self.add_font("Body", "", str(fonts[0]))
            self.add_font("Body", "B", str(fonts[1]))
            missing = {char for char in needed if ord(char) not in _characters(fonts[0])}
            # The regular face stands in for a glyph only the bold one lacks.
            fallbacks = ["Body"] if needed - {c for c in needed if ord(c) in _characters(fonts[1])} else []
            for position, (name, face) in enumerate(FALLBACK_FONTS):
                path = _font_file(name) if missing else None
                covered = {char for char in missing if ord(char) in _characters(path, face)} if path else set()
                if covered:
                    self.add_font(f"Fallback{position}", "", str(path), collection_font_number=face)
                    fallbacks.append(f"Fallback{position}")
                    missing -= covered
            if fallbacks:
                self.set_fallback_fonts(fallbacks, exact_match=False)
            self.replacement = REPLACEMENT if ord(REPLACEMENT) in _characters(fonts[0]) else "?"
            self.flow = TextFlow(self, _characters(fonts[0]) & _characters(fonts[1]))
        else:  # no Unicode font on this machine: the core font, with symbols spelled out in ASCII
            missing = {char for char in needed if ord(char) > 0xFF}
            self.replacement = "?"
            self.flow = TextFlow(self, frozenset())  # the core font: fpdf2 lays every line out
        self.dropped = frozenset(missing & _INVISIBLE)
        self.unshown = frozenset(missing - _INVISIBLE)
        self.set_title(self.text_of(title))
        self.alias_nb_pages(PAGE_COUNT)

    def _plain(self, value: str) -> str:
        shown = inert(value)
        return shown.translate(_PLAIN) if self.family != "Body" else shown

    def text_of(self, value: str) -> str:
        """Text as this document can show it: control and bidi characters as escapes, and what no font has
        replaced."""
        shown = self._plain(value)
        if self.unshown or self.dropped:
            shown = "".join("" if char in self.dropped else self.replacement if char in self.unshown else char
                            for char in shown)
        return shown

    def replaced_note(self, texts: list[str]) -> str | None:
        """The sentence telling the reader how many characters were replaced, and which, or None."""
        if not self.unshown:
            return None
        count = sum(1 for text in texts for char in self._plain(text) if char in self.unshown)
        listed = sorted(self.unshown)
        codes = ", ".join(f"U+{ord(char):04X}" for char in listed[:12]) + (", …" if len(listed) > 12 else "")
        return (f"{count} character{'s' if count != 1 else ''} could not be shown in the fonts installed where "
                f"this PDF was made and {'were' if count != 1 else 'was'} replaced with {self.replacement} "
                f"({codes}); the HTML, Markdown and JSON exports show them.")

    def flowed(self, text: str, height: float, *, label: str = "") -> None:
        """``text`` (and a bold ``label`` before it) from the left margin in the current font, and below it."""
        text, label = self.text_of(text), self.text_of(label) if label else ""
        if self.flow.fits(text + label):
            self.flow.write_lines(text, height, label=label)
            return
        if label:  # write() flows text without reading markup in it, so user text is shown as typed
            style = self.font_style
            self.set_font(self.family, "B", self.font_size_pt)
            self.write(height, label + " ")
            self.set_font(self.family, style, self.font_size_pt)
        self.write(height, text)
        self.ln(height)

    def footer(self):
        self.set_y(-12)
        self.set_font(self.family, "", 8)
        self.set_text_color(110)
        self.cell(0, 6, self.text_of(f"{self.document_title} · page {self.page_no()} of {PAGE_COUNT}"), align="C")


def _block_texts(blocks: list) -> list[str]:
    texts = []
    for block in blocks:
        if isinstance(block, Heading):
            texts.append(block.text)
        elif isinstance(block, Paragraph):
            texts += [block.label, block.text]
        elif isinstance(block, Bullets):
            texts += [f"- {item}" for item in block.items]
        elif isinstance(block, Table):
            texts += [str(c) for c in block.frame.columns]
            texts += [str(v) for row in block.frame.itertuples(index=False) for v in row]
        elif isinstance(block, Chart):
            texts.append(block.figure.title)
    return texts


def to_pdf(bundle: SummaryBundle, paper: str = "A4") -> bytes:
    """A PDF laid out for A4 or Letter, with the same blocks and charts (drawn as vector shapes) and page numbers. Text takes
    the body font, then the fallback fonts installed; a character none of them has is replaced with □ and the
    first page says how many were."""
    if paper not in PAPER_SIZES:
        raise ValueError(f"paper must be one of {PAPER_SIZES}")
    workers = chart_workers() if len(bundle.summary.tasks) >= PARALLEL_FIGURE_TASKS else 0
    with _ChartPictures() as pictures, bundle.figures_ahead(workers):
        blocks, specs = [], {}
        for block in iter_blocks(bundle):
            blocks.append(block)
            if isinstance(block, Chart) and not block.figure.has_plot:
                specs[id(block)] = pictures.order(chart_spec(block.figure.chart))
        return _laid_out(bundle, paper, blocks, lambda chart: pictures.png(specs[id(chart)]))


def _laid_out(bundle: SummaryBundle, paper: str, blocks: list, png_of) -> bytes:
    texts = [bundle.summary.title, *_block_texts(blocks)]
    pdf = _Document(paper, bundle.summary.title, texts)
    note = pdf.replaced_note(texts)
    if note:  # on the first page, under the title and the line saying when it was made
        blocks.insert(2, Paragraph(note, "Characters not shown:"))
    pdf.add_page()
    sizes = {1: 17, 2: 13.5, 3: 11}
    for index, block in enumerate(blocks):
        if isinstance(block, PageBreak):
            pdf.add_page()
        elif isinstance(block, Heading):
            pdf.set_font(pdf.family, "B", sizes.get(block.level, 11))
            pdf.ln(2)
            following = blocks[index + 1] if index + 1 < len(blocks) else None
            keep = height_of(following.figure.plot) if isinstance(following, Chart) and following.figure.has_plot else 12
            if pdf.will_page_break(sizes.get(block.level, 11) * 0.5 + keep):
                pdf.add_page()  # a heading stays on the page of what it heads
            pdf.flowed(block.text, sizes.get(block.level, 11) * 0.5)
            pdf.ln(1)
        elif isinstance(block, Paragraph):
            pdf.set_font(pdf.family, "", 9.5)
            pdf.flowed(block.text, 5, label=block.label)
            pdf.ln(1.5)
        elif isinstance(block, Bullets):
            pdf.set_font(pdf.family, "", 9.5)
            for item in block.items:
                pdf.flowed(f"- {item}", 5)
            pdf.ln(1.5)
        elif isinstance(block, Table):
            _pdf_table(pdf, block.frame)
        elif isinstance(block, Chart):
            if block.figure.has_plot:
                draw(pdf, block.figure.plot, min(pdf.epw, 175), pdf.text_of)
            else:
                pdf.image(io.BytesIO(png_of(block)), w=min(pdf.epw, 175))
            pdf.set_font(pdf.family, "", 8.5)
            pdf.flowed(block.figure.title, 4.5)
            pdf.ln(2)
    return bytes(pdf.output())


register(Renderer("pdf", "PDF", "application/pdf", "pdf", to_pdf, takes_paper=True, binary=True,
                  position=30))
