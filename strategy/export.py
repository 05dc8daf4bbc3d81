"""Turning catalog content and strategy summaries into files people share.

A summary is first laid out once as a list of blocks (headings, paragraphs,
tables, lists, figures); Markdown, HTML and PDF each render those blocks, so
the three formats carry the same content. CSV is one row per task with stable
column names; JSON is the summary record itself (schema ``strategy.summary/1``).
CSV cells that a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import functools
import html
import io
import json
import os
import queue
import re
import struct
import subprocess
import sys
import threading
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import vl_convert
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from strategy.errors import StrategyError
from strategy.explain import class_reason
from strategy.ingest import inert as inert_line
from strategy.models import utc_now
from strategy.summary import Figure, StrategySummary, SummaryBundle, TaskSummary

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("md", "html", "pdf", "csv", "json")
MEDIA_TYPES = {"md": "text/markdown", "html": "text/html", "pdf": "application/pdf", "csv": "text/csv",
               "json": "application/json"}
PAPER_SIZES = ("A4", "Letter")


def neutralise(value):
    """Prefix a text cell that begins like a formula with an apostrophe, so a spreadsheet shows it as text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


# Characters that steer a terminal or reorder the text around them (C0 and C1 controls, DEL, Unicode's bidi
# embeddings, overrides, isolates and marks, and invisible ones) are shown as escapes by strategy.ingest.inert, the
# escaper of messages about files; this applies it to text of several lines. In JSON, C0 controls are escaped by
# the encoder already (and its own line breaks are layout); the rest become \\uXXXX, which decodes unchanged.
_STEERING_IN_JSON = re.compile(r"[\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def inert(text, *, lines: bool = True) -> str:
    """Text with every control, bidi and invisible character shown as a visible escape (``\\x1b``, ``\\u202e``):
    it still reads, but can no longer move a terminal's cursor, recolour or retitle it, or reorder what follows.
    Line breaks are kept (multi-line blocks) unless ``lines`` is False. Used for everything the CLI prints and
    for the Markdown, HTML, PDF and CSV exports."""
    text = str(text)
    if not lines:
        return inert_line(text)
    return "\n".join(inert_line(part) for part in text.split("\n"))


def json_inert(document: str) -> str:
    """A JSON document with DEL, C1 and bidi characters written as ``\\uXXXX`` escapes: it decodes to exactly
    the same values, but shows inert wherever the text itself is displayed."""
    return _STEERING_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", document)


def to_csv(frame: pd.DataFrame) -> bytes:
    """CSV bytes (UTF-8) with formula-like text cells neutralised and control and bidi characters shown as
    escapes; numbers are left as they are."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(lambda value: neutralise(inert(value)) if isinstance(value, str)
                                            else value)
    return safe.to_csv(index=False).encode("utf-8")


def to_json(frame: pd.DataFrame) -> bytes:
    """JSON array of records; timestamps in ISO 8601."""
    records = json.loads(frame.to_json(orient="records", date_format="iso"))
    return json_inert(json.dumps(records, indent=2, ensure_ascii=False)).encode("utf-8")


# ----------------------------------------------------------------------------- blocks
@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    contents: bool = True  # listed in the HTML's table of contents (the overview before it is not)


@dataclass(frozen=True)
class Paragraph:
    text: str
    label: str = ""


@dataclass(frozen=True)
class Table:
    frame: pd.DataFrame


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Chart:
    figure: Figure


@dataclass(frozen=True)
class PageBreak:
    pass


def _money(value: float) -> str:
    return f"${value:,.0f}" if value >= 100 else f"${value:,.2f}"


def _price(value: float) -> str:
    return f"${value:,.4g}"


def _share(value: float) -> str:
    return f"{value:.0%}"


def _stamp(moment) -> str:
    return f"{pd.Timestamp(moment):%Y-%m-%d %H:%M} UTC"


def portfolio_table(summary: StrategySummary) -> pd.DataFrame:
    """The table of all tasks in the summary, as the documents show it."""
    rows = []
    for task in summary.tasks:
        r = task.recommendation
        metric = r.expected_metric if r else None
        rows.append({
            "task": task.name, "domain": task.domain, "class": r.sourcing if r else "not computed",
            "human share of spend": _share(r.human_share_spend) if r else "–",
            "human samples": f"{r.n_human:,}" if r else "–", "synthetic samples": f"{r.n_synthetic:,}" if r else "–",
            "budget": _money(r.budget) if r else "–",
            "expected": (f"{metric.value:.3f} {task.metric}" if metric and metric.value is not None else "–"),
            "confidence": _share(r.confidence) if r else "–",
            "humanness": ", ".join(f"{h.humanness:.0f} ({h.grade})" for h in task.humanness) or "–",
        })
    return pd.DataFrame(rows)


def _task_blocks(bundle: SummaryBundle, task: TaskSummary) -> list:
    r = task.recommendation
    blocks: list = [Heading(2, task.name),
                    Paragraph(f"{task.domain} · {task.modality} · metric {task.metric} "
                              f"({'higher' if task.higher_is_better else 'lower'} is better)")]
    if task.description:
        blocks.append(Paragraph(task.description))
    if r is None:
        blocks.append(Paragraph("No recommendation has been computed for this task yet (run `strategy refit`).",
                                "Recommendation:"))
        return blocks
    blocks.append(Paragraph(
        f"{r.sourcing.upper()}: {_share(r.human_share_spend)} of the training spend and "
        f"{_share(r.human_share_samples)} of the samples are human; confidence {_share(r.confidence)}"
        f"{' (low)' if r.low_confidence else ''}; basis {r.basis}.", "Recommendation:"))
    blocks.append(Paragraph(class_reason(r), "Why this class:"))
    if r.extrapolation:
        blocks.append(Paragraph(r.extrapolation, "Caution:"))
    eval_set = r.eval_set
    blocks.append(Table(pd.DataFrame([
        {"source": "human training data", "samples": f"{r.n_human:,}",
         "cost per sample": _price(r.cost_per_sample["human"]), "spend": _money(r.spend_human)},
        {"source": "synthetic training data", "samples": f"{r.n_synthetic:,}",
         "cost per sample": _price(r.cost_per_sample["synthetic"]), "spend": _money(r.spend_synthetic)},
        {"source": f"human evaluation set ({eval_set.tier})", "samples": f"{eval_set.size:,}",
         "cost per sample": _price(eval_set.cost / eval_set.size) if eval_set.size else "–",
         "spend": _money(eval_set.cost)},
        {"source": "total budget", "samples": "", "cost per sample": "", "spend": _money(r.budget)},
    ])))
    blocks.append(Paragraph(f"{r.regime.replace('_', ' ')}; collapse guard: {r.collapse_guard}.", "Regime:"))
    metric = r.expected_metric
    if metric.value is not None:
        expected = (f"{metric.value:.3f} (80% interval {metric.low:.3f}–{metric.high:.3f}) from "
                    f"{r.evidence_count} logged outcomes.")
    else:
        expected = "not estimable yet: no usable outcome is logged, so the answer rests on the rules alone."
    blocks.append(Paragraph(expected, f"Expected {metric.name}:"))
    evidence = task.evidence
    if evidence.backtest_relative_error is not None:
        blocks.append(Paragraph(
            f"leave-one-outcome-out relative error {evidence.backtest_relative_error:.3f} (rules only "
            f"{evidence.backtest_rules_error:.3f}, task mean {evidence.backtest_mean_error:.3f}; lower is better).",
            "Backtest:"))
    else:
        blocks.append(Paragraph(f"{evidence.outcomes} outcomes logged; no backtest figure for this task "
                                "(it needs 4 or more outcomes and a stored backtest).", "Evidence:"))
    if r.target is not None:
        reach = (f"{_money(r.budget_for_target)} reaches it with 80% probability" if r.target_reachable
                 else "not reachable with this evidence")
        chance = (f"; this plan reaches it with probability {_share(r.target_probability)}"
                  if r.target_probability is not None else "")
        blocks.append(Paragraph(f"reaching {r.target}: {reach}{chance}.", "Target:"))
    blocks.append(Heading(3, "Why: the rules that fired"))
    blocks.append(Bullets(tuple(f"{rule.id} — {rule.effect}. {rule.rationale}"
                                + (f" (Principle: {rule.principle})" if rule.principle else "")
                                for rule in r.rules) or ("No rule fired.",)))
    if r.next_experiment:
        n = r.next_experiment
        blocks.append(Paragraph(f"{n.n_human:,} human + {n.n_synthetic:,} synthetic samples ({_money(n.cost)}). "
                                f"{n.reason}", "Next experiment:"))
    if task.humanness:
        blocks.append(Heading(3, "Humanness of the synthetic data (latest report per dataset)"))
        blocks.append(Table(pd.DataFrame([{
            "dataset": h.dataset, "against": h.reference or "–", "humanness": f"{h.humanness:.1f}",
            "human vs human": "–" if h.floor is None else f"{h.floor:.1f}", "grade": h.grade,
            "assessed": _stamp(h.assessed_at)} for h in task.humanness])))
    else:
        blocks.append(Paragraph("none measured yet.", "Humanness of the synthetic data:"))
    figures = bundle.task_figures(task)
    if figures:
        blocks.append(Heading(3, "Mix and budget"))
        blocks += [Chart(figure) for figure in figures]
    blocks.append(Paragraph(f"human {_price(r.cost_per_sample['human'])} and synthetic "
                            f"{_price(r.cost_per_sample['synthetic'])} per sample; rulebook {r.rulebook_version}; "
                            f"model {r.model_version}; computed {_stamp(r.created_at)} by {r.created_by}.",
                            "Assumptions and versions:"))
    return blocks


CLASS_ORDER = ("human", "mixed", "synthetic", "not computed")


def _overview_blocks(summary: StrategySummary) -> list:
    """One page for an executive: tasks and budget per class, where the money goes, and what needs attention."""
    view = summary.tasks
    rows = []
    for name in sorted(summary.totals.classes, key=lambda c: (CLASS_ORDER.index(c) if c in CLASS_ORDER else 9, c)):
        budget = sum(t.recommendation.budget for t in view
                     if (t.recommendation.sourcing if t.recommendation else "not computed") == name
                     and t.recommendation)
        rows.append({"class": name, "tasks": f"{summary.totals.classes[name]:,}", "budget": _money(budget),
                     "share of the budget": _share(budget / summary.totals.budget) if summary.totals.budget else "–"})
    totals = summary.totals
    training = totals.spend_human + totals.spend_synthetic
    blocks: list = [
        Heading(2, "Overview", contents=False),
        Table(pd.DataFrame(rows)),
        Paragraph(f"{_money(totals.budget)} in all: human training data {_money(totals.spend_human)}, synthetic "
                  f"training data {_money(totals.spend_synthetic)}, human evaluation sets {_money(totals.evaluation)}. "
                  f"Human data takes {_share(totals.human_share_spend)} of the training spend"
                  + (f" and synthetic data {_share(1 - totals.human_share_spend)}." if training else "."),
                  "Spend:"),
        Heading(3, "Tasks that need attention", contents=False),
    ]
    if summary.attention:
        blocks.append(Table(pd.DataFrame([{
            "task": item.task, "why": "; ".join(item.reasons),
            "budget": "–" if item.budget is None else _money(item.budget),
            "confidence": "–" if item.confidence is None else _share(item.confidence)}
            for item in summary.attention])))
        if summary.attention_more:
            more = summary.attention_more
            blocks.append(Paragraph(f"{more:,} more task{'s' if more != 1 else ''} with one of these reasons "
                                    "(the portfolio table lists every task)."))
    else:
        blocks.append(Paragraph("none: every task has a confident answer from recent evidence, and no task holds "
                                "most of the budget."))
    return blocks


def summary_blocks(bundle: SummaryBundle) -> list:
    """The document, once, for every rendered format."""
    return list(_blocks(bundle))


def _blocks(bundle: SummaryBundle):
    # One task at a time, so the PDF can have a task's charts drawn while the next task's are being computed.
    summary = bundle.summary
    yield Heading(1, summary.title)
    yield Paragraph(
        f"Generated {_stamp(summary.generated_at)} by {summary.generated_by} · {summary.totals.tasks} "
        f"task{'s' if summary.totals.tasks != 1 else ''} · rulebook {', '.join(summary.rulebook_versions) or '–'} · "
        f"model {', '.join(summary.model_versions) or '–'}")
    if summary.scope != "task":
        yield from _overview_blocks(summary)
        yield PageBreak()
        totals = summary.totals
        yield Heading(2, "Portfolio")
        yield Table(portfolio_table(summary))
        classes = ", ".join(f"{name} {count}" for name, count in sorted(totals.classes.items()))
        yield Paragraph(
            f"budget {_money(totals.budget)}: human training data {_money(totals.spend_human)}, synthetic training "
            f"data {_money(totals.spend_synthetic)}, human evaluation sets {_money(totals.evaluation)}; human share "
            f"of training spend {_share(totals.human_share_spend)}. Classes: {classes}.", "Totals:")
        split = bundle.split_figure()
        if split is not None:
            yield Chart(split)
    for position, task in enumerate(summary.tasks):
        if summary.scope != "task" or position:
            yield PageBreak()
        yield from _task_blocks(bundle, task)
    if summary.cost_tiers:
        yield PageBreak()
        yield Heading(2, "Cost assumptions")
        yield Table(pd.DataFrame([{
            "tier": t.name, "kind": t.kind, "cost per sample": _price(t.cost_per_sample),
            "where the figure comes from": t.cost_source} for t in summary.cost_tiers]))


# ----------------------------------------------------------------------------- Markdown
_MD_SPECIAL = re.compile(r"([\\`*_<>\[\]])")


def md_text(value) -> str:
    """Text as Markdown shows it literally: characters that would become emphasis, code, links or HTML are
    backslash-escaped (a plain-text reader still reads them), control and bidi characters shown as escapes."""
    return inert(_MD_SPECIAL.sub(r"\\\1", str(value)))


def _md_cell(value) -> str:
    return md_text(value).replace("|", "\\|").replace("\n", " ")


def _md_table(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(_md_cell(c) for c in frame.columns) + " |",
             "|" + "|".join("---" for _ in frame.columns) + "|"]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def to_markdown(bundle: SummaryBundle) -> str:
    """Markdown that reads as plain text: tables as Markdown tables, each chart as a table of its numbers."""
    out = []
    for block in summary_blocks(bundle):
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {md_text(block.text)}")
        elif isinstance(block, Paragraph):
            text = md_text(block.text).replace("\n", " ")
            out.append(f"**{md_text(block.label)}** {text}" if block.label else text)
        elif isinstance(block, Table):
            out.append(_md_table(block.frame))
        elif isinstance(block, Bullets):
            out.append("\n".join(f"- {md_text(item)}" for item in block.items))
        elif isinstance(block, Chart):
            out.append(f"*{md_text(block.figure.title)}*\n\n{_md_table(block.figure.table)}")
    return "\n\n".join(out) + "\n"


# ----------------------------------------------------------------------------- HTML
_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2733; max-width: 980px;
       margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.7rem; } h2 { font-size: 1.3rem; border-top: 2px solid #2f6f8f; padding-top: .6rem;
margin-top: 2.2rem; } h3 { font-size: 1.05rem; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .9rem; }
th, td { border: 1px solid #c9d3dc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #eef3f6; } figure { margin: 1rem 0; } figcaption { font-style: italic; font-size: .9rem; }
svg { max-width: 100%; height: auto; }
@media print { h2 { break-before: page; } h2:first-of-type { break-before: auto; } }
"""


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def chart_spec(chart) -> dict:
    """The chart's Vega-Lite spec with C0 control characters in its text replaced by spaces (the renderer aborts
    the whole process on some of them, and a catalog written before they were refused may still hold them) and
    C1 and bidi characters shown as escapes."""
    def clean(value):
        if isinstance(value, str):
            return inert(_CONTROL.sub(" ", value))
        if isinstance(value, dict):
            return {clean(k): clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value
    # Not validated against the Vega-Lite schema again: the charts are built by strategy.charts (whose tests
    # validate them) and the check costs more than a third of what drawing the chart does.
    return clean(chart.to_dict(validate=False))


def chart_svg(chart) -> str:
    """A chart as inline SVG (no namespace URLs: inline SVG in HTML needs none)."""
    svg = vl_convert.vegalite_to_svg(chart_spec(chart))
    return re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", svg, count=2)


def _h(text) -> str:
    return inert(html.escape(str(text)))


def to_html(bundle: SummaryBundle) -> str:
    """One HTML file that opens offline: inline style, charts as inline SVG, nothing fetched. With two or more
    sections (the portfolio, each task, the cost assumptions) a table of contents links them, after the overview."""
    blocks = summary_blocks(bundle)
    sections = [block.text for block in blocks if isinstance(block, Heading) and block.level == 2 and block.contents]
    contents = len(sections) >= 2
    body, section = [], 0
    for block in blocks:
        if isinstance(block, Heading) and block.level == 2 and block.contents and contents:
            section += 1
            if section == 1:
                body.append('<nav aria-label="Contents"><h2>Contents</h2><ol>' + "".join(
                    f'<li><a href="#section-{number}">{_h(text)}</a></li>'
                    for number, text in enumerate(sections, start=1)) + "</ol></nav>")
            body.append(f'<h2 id="section-{section}">{_h(block.text)}</h2>')
        elif isinstance(block, Heading):
            body.append(f"<h{block.level}>{_h(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            label = f"<strong>{_h(block.label)}</strong> " if block.label else ""
            body.append(f"<p>{label}{_h(block.text)}</p>")
        elif isinstance(block, Table):
            body.append(_html_table(block.frame))
        elif isinstance(block, Bullets):
            body.append("<ul>" + "".join(f"<li>{_h(item)}</li>" for item in block.items) + "</ul>")
        elif isinstance(block, Chart):
            body.append(f"<figure>{chart_svg(block.figure.chart)}<figcaption>{_h(block.figure.title)}"
                        "</figcaption></figure>")
    title = _h(bundle.summary.title)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
            f"<style>{_STYLE}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n")


def _html_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{_h(c)}</th>" for c in frame.columns)
    rows = "".join("<tr>" + "".join(f"<td>{_h(v)}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


# ----------------------------------------------------------------------------- PDF
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
        else:  # no Unicode font on this machine: the core font, with symbols spelled out in ASCII
            missing = {char for char in needed if ord(char) > 0xFF}
            self.replacement = "?"
        self.dropped = frozenset(missing & _INVISIBLE)
        self.unshown = frozenset(missing - _INVISIBLE)
        self.set_title(self.text_of(title))

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

    def footer(self):
        self.set_y(-12)
        self.set_font(self.family, "", 8)
        self.set_text_color(110)
        self.cell(0, 6, self.text_of(f"{self.document_title} · page {self.page_no()} of {{nb}}"), align="C")


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
    """A PDF laid out for A4 or Letter, with the same blocks and charts (as images) and page numbers. Text takes
    the body font, then the fallback fonts installed; a character none of them has is replaced with □ and the
    first page says how many were."""
    if paper not in PAPER_SIZES:
        raise ValueError(f"paper must be one of {PAPER_SIZES}")
    with _ChartPictures() as pictures:
        blocks, specs = [], {}
        for block in _blocks(bundle):
            blocks.append(block)
            if isinstance(block, Chart):
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
    for block in blocks:
        if isinstance(block, PageBreak):
            pdf.add_page()
        elif isinstance(block, Heading):
            pdf.set_font(pdf.family, "B", sizes.get(block.level, 11))
            pdf.ln(2)
            pdf.multi_cell(0, sizes.get(block.level, 11) * 0.5, pdf.text_of(block.text), align="L",
                           new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(1)
        elif isinstance(block, Paragraph):
            # write() flows text without reading markup in it, so user text is shown as typed.
            if block.label:
                pdf.set_font(pdf.family, "B", 9.5)
                pdf.write(5, pdf.text_of(block.label + " "))
            pdf.set_font(pdf.family, "", 9.5)
            pdf.write(5, pdf.text_of(block.text))
            pdf.ln(6.5)
        elif isinstance(block, Bullets):
            pdf.set_font(pdf.family, "", 9.5)
            for item in block.items:
                pdf.multi_cell(0, 5, pdf.text_of(f"- {item}"), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(1.5)
        elif isinstance(block, Table):
            _pdf_table(pdf, block.frame)
        elif isinstance(block, Chart):
            pdf.image(io.BytesIO(png_of(block)), w=min(pdf.epw, 175))
            pdf.set_font(pdf.family, "", 8.5)
            pdf.multi_cell(0, 4.5, pdf.text_of(block.figure.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(2)
    return bytes(pdf.output())


# ----------------------------------------------------------------------------- PDF charts
# Vega draws a chart in about 0.2 s of CPU and holds the GIL meanwhile, so threads gain nothing (measured: two
# threads draw no faster than one, and Python code beside them stalls). Another process does pay: it draws
# while this one computes the next tasks' figures and lays the pages out. Starting one costs a fresh
# interpreter and Vega engine (about 0.7 s), so workers start only once a document has PARALLEL_CHARTS charts
# to draw. They are plain subprocesses rather than multiprocessing's: its spawn and forkserver modes run the
# caller's main script again in the child, which a script without a __main__ guard does not survive, and a
# fork would copy Vega's engine without the thread that runs it.
PARALLEL_CHARTS = 16
CHART_SCALE = 2
# A worker reads specs and writes PNGs, each preceded by its length (4 bytes, big-endian); a failed chart
# comes back empty and is drawn again here, so its error is raised as it would be without workers.
_CHART_WORKER = """
import struct, sys, vl_convert
scale, read, out = float(sys.argv[1]), sys.stdin.buffer.read, sys.stdout.buffer
while header := read(4):
    spec = read(struct.unpack('>I', header)[0]).decode('utf-8')
    try:
        png = vl_convert.vegalite_to_png(spec, scale=scale)
    except Exception:
        png = b''
    out.write(struct.pack('>I', len(png)) + png)
    out.flush()
"""
# PNGs already drawn in this process, by the spec's JSON (which holds the chart's data): a chart shown twice,
# or again in the next export of the same tasks, is drawn once. About 200 KB each.
_DRAWN_LIMIT = 64
_drawn: OrderedDict[str, bytes] = OrderedDict()
_drawn_lock = threading.Lock()


def _remembered(spec: str) -> bytes | None:
    with _drawn_lock:
        if spec in _drawn:
            _drawn.move_to_end(spec)
        return _drawn.get(spec)


def _remember(spec: str, png: bytes) -> None:
    with _drawn_lock:
        _drawn[spec] = png
        _drawn.move_to_end(spec)
        while len(_drawn) > _DRAWN_LIMIT:
            _drawn.popitem(last=False)


def _draw(spec: str) -> bytes:
    return vl_convert.vegalite_to_png(spec, scale=CHART_SCALE)


CHART_WORKERS_ENV = "STRATEGY_CHART_WORKERS"


def _chart_workers() -> int:
    """Worker processes for drawing a large document's charts: none unless $STRATEGY_CHART_WORKERS says so
    (a number, or "auto" for one fewer than the cores). Off by default because a server is never idle:
    measured on the busy 2-core machine, a worker gained nothing for the 18-task portfolio and cost 2 s of CPU;
    on a quieter one a 1,000-task PDF took 623 s with one worker (1,091 s before charts were cached and no
    longer re-validated; not measured with the cache and no worker)."""
    setting = os.environ.get(CHART_WORKERS_ENV, "0").strip().lower()
    if setting == "auto":
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            cores = os.cpu_count() or 1
        return cores - 1  # this process keeps a core for the figures and the layout
    if not setting.isdigit():
        raise StrategyError(f"{CHART_WORKERS_ENV} must be a whole number of worker processes or 'auto', "
                            f"not {setting!r}.")
    return int(setting)


def _worker_loop(jobs: queue.Queue) -> None:
    """Feed one worker process the specs it takes from ``jobs`` and settle each one's future with the PNG
    (or None, to be drawn here); ends at a None job or when the worker cannot be started or dies."""
    try:
        worker = subprocess.Popen([sys.executable, "-I", "-c", _CHART_WORKER, str(CHART_SCALE)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except OSError:
        worker = None
    try:
        while (job := jobs.get()) is not None:
            spec, future = job
            png = None
            if worker is not None:
                try:
                    data = spec.encode("utf-8")
                    worker.stdin.write(struct.pack(">I", len(data)) + data)
                    worker.stdin.flush()
                    header = worker.stdout.read(4)
                    if len(header) == 4:
                        png = worker.stdout.read(struct.unpack(">I", header)[0]) or None
                except OSError:
                    png = None
                if png is None:  # the worker failed or died: the rest are drawn here too
                    worker.kill()
                    worker.wait()
                    worker = None
            future.set_result(png)
    finally:
        if worker is not None:
            worker.stdin.close()
            worker.wait()


class _ChartPictures:
    """The PNGs of one document's charts: each distinct spec drawn once, by worker processes once there are
    enough of them to pay for starting one, else here when the page needs it."""

    def __init__(self):
        self._ordered: dict[str, Future | bytes | None] = {}
        self._jobs: queue.Queue | None = None
        self._threads: list[threading.Thread] = []
        self._to_draw = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._jobs is not None:
            if exc[0] is not None:  # nobody waits for the charts still queued
                while True:
                    try:
                        self._jobs.get_nowait()[1].set_result(None)
                    except queue.Empty:
                        break
            for _ in self._threads:
                self._jobs.put(None)
            for thread in self._threads:
                thread.join()

    def order(self, chart: dict) -> str:
        """Note a chart the document shows; returns the key its PNG is asked for by."""
        spec = json.dumps(chart)
        if spec not in self._ordered:
            self._ordered[spec] = _remembered(spec)
            if self._ordered[spec] is None:
                self._to_draw += 1
                self._delegate(spec)
        return spec

    def _delegate(self, spec: str) -> None:
        if self._jobs is None:
            if self._to_draw < PARALLEL_CHARTS or _chart_workers() < 1:
                return
            self._jobs = queue.Queue()
            self._threads = [threading.Thread(target=_worker_loop, args=(self._jobs,), daemon=True)
                             for _ in range(_chart_workers())]
            for thread in self._threads:
                thread.start()
            waiting = [earlier for earlier, png in self._ordered.items() if png is None]
        else:
            waiting = [spec]
        for earlier in waiting:
            self._ordered[earlier] = Future()
            self._jobs.put((earlier, self._ordered[earlier]))

    def png(self, spec: str) -> bytes:
        found = self._ordered.get(spec)
        if isinstance(found, Future):
            found = found.result()
        if found is None:
            found = _draw(spec)
        self._ordered[spec] = found
        _remember(spec, found)
        return found


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
            measured[style, text] = pdf.get_string_width(text) / size
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
    for band in layout.bands:
        columns = [j for j, _ in band]
        # Widths are shares of the page width, which the band's widths add up to.
        with pdf.table(line_height=TABLE_LINE_HEIGHT * layout.size / start, text_align="LEFT",
                       first_row_as_headings=True, col_widths=tuple(w for _, w in band),
                       headings_style=FontFace(emphasis="BOLD", fill_color=(238, 243, 246))) as table:
            for cells in [header, *body]:
                row = table.row()
                for j in columns:
                    row.cell(cells[j])
        pdf.ln(2)


# ----------------------------------------------------------------------------- CSV and JSON
SUMMARY_COLUMNS = [
    "task_id", "task", "domain", "modality", "metric", "higher_is_better", "sourcing", "human_share_spend",
    "human_share_samples", "n_human", "n_synthetic", "spend_human", "spend_synthetic", "eval_set_size",
    "eval_set_tier", "eval_set_cost", "budget", "expected_value", "expected_low", "expected_high", "confidence",
    "low_confidence", "basis", "regime", "evidence_count", "backtest_relative_error", "humanness", "humanness_grade",
    "human_cost_per_sample", "synthetic_cost_per_sample", "rulebook_version", "model_version", "computed_at",
    # Added with contract /2 (columns are only appended): what each source adds, the class margin.
    "synthetic_adds", "human_adds", "class_margin",
]


def summary_frame(summary: StrategySummary) -> pd.DataFrame:
    """One row per task with the stable columns of the CSV export (empty cells where nothing is computed)."""
    rows = []
    for task in summary.tasks:
        r = task.recommendation
        row = {"task_id": task.task_id, "task": task.name, "domain": task.domain, "modality": task.modality,
               "metric": task.metric, "higher_is_better": task.higher_is_better,
               "backtest_relative_error": task.evidence.backtest_relative_error,
               "evidence_count": task.evidence.outcomes}
        if task.humanness:
            row["humanness"] = sum(h.humanness for h in task.humanness) / len(task.humanness)
            row["humanness_grade"] = " ".join(h.grade for h in task.humanness)
        if r is not None:
            row |= {"sourcing": r.sourcing, "human_share_spend": r.human_share_spend,
                    "human_share_samples": r.human_share_samples, "n_human": r.n_human, "n_synthetic": r.n_synthetic,
                    "spend_human": r.spend_human, "spend_synthetic": r.spend_synthetic,
                    "eval_set_size": r.eval_set.size, "eval_set_tier": r.eval_set.tier,
                    "eval_set_cost": r.eval_set.cost, "budget": r.budget, "expected_value": r.expected_metric.value,
                    "expected_low": r.expected_metric.low, "expected_high": r.expected_metric.high,
                    "confidence": r.confidence, "low_confidence": r.low_confidence, "basis": r.basis,
                    "regime": r.regime, "evidence_count": r.evidence_count,
                    "synthetic_adds": r.adds.synthetic_over_human_only, "human_adds": r.adds.human_over_synthetic_led,
                    "class_margin": r.class_margin,
                    "human_cost_per_sample": r.cost_per_sample["human"],
                    "synthetic_cost_per_sample": r.cost_per_sample["synthetic"],
                    "rulebook_version": r.rulebook_version, "model_version": r.model_version,
                    "computed_at": pd.Timestamp(r.created_at).isoformat()}
        rows.append(row)
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def summary_json(summary: StrategySummary) -> bytes:
    return json_inert(summary.model_dump_json(by_alias=True, indent=2)).encode("utf-8")


def render(bundle: SummaryBundle, fmt: str, *, paper: str = "A4") -> bytes:
    """The summary in one of FORMATS, as bytes ready to write or download."""
    if fmt == "md":
        return to_markdown(bundle).encode("utf-8")
    if fmt == "html":
        return to_html(bundle).encode("utf-8")
    if fmt == "pdf":
        return to_pdf(bundle, paper)
    if fmt == "csv":
        return to_csv(summary_frame(bundle.summary))
    if fmt == "json":
        return summary_json(bundle.summary)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}")


def file_name_for(scope: str, task_name: str, fmt: str, when=None) -> str:
    stem = task_name if scope == "task" else scope
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "summary"
    return f"strategy-{slug}-{pd.Timestamp(when or utc_now()):%Y%m%d}.{fmt}"
