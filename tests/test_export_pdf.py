"""The PDF's own layout: text broken into lines from word widths, and chart numbers computed in a worker
process giving the same document as computed here."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from strategy.export import pdf as pdf_module
from strategy.export import to_pdf
from strategy.export.pdf import _Document
from strategy.summary import build_summary


@pytest.fixture
def document():
    made = _Document("A4", "t", ["plain text"])
    made.add_page()
    made.set_font(made.family, "", 9.5)
    if not made.flow.characters:
        pytest.skip("no Unicode body font installed (fonts-dejavu-core): every line goes through fpdf2")
    return made


def test_lines_fill_the_width_and_never_exceed_it(document):
    flow = document.flow
    text = "Predict from a survey of married women whether the respondent reported an affair " * 4
    lines = flow.lines(text.strip(), 60)
    assert len(lines) > 3
    assert all(flow.width(line) <= 60 + 1e-9 for line in lines)
    # greedy: the next word would not have fitted on any line
    for line, following in zip(lines, lines[1:], strict=False):
        assert flow.width(f"{line} {following.split(' ')[0]}") > 60
    assert " ".join(lines) == text.strip()


def test_newlines_are_kept_and_a_word_longer_than_a_line_is_cut(document):
    flow = document.flow
    assert flow.lines("first\nsecond", 100) == ["first", "second"]
    long = "x" * 200
    pieces = flow.lines(long, 20)
    assert "".join(pieces) == long and len(pieces) > 1
    assert all(flow.width(piece) <= 20 + 1e-9 for piece in pieces)
    # a label on the first line leaves less room there
    first = flow.lines("one two three four five six seven", 40, first_width=10)
    assert flow.width(first[0]) <= 10 and flow.width(first[1]) <= 40


def test_widths_match_fpdf2s_own_measure(document):
    for text in ("Budget frontier", "$150,000", "synthetic-led · 95%"):
        assert document.flow.width(text) == pytest.approx(document.get_string_width(text))


def test_text_only_a_fallback_font_has_goes_through_fpdf2(document):
    assert document.flow.fits("plain ascii")
    assert not document.flow.fits("日本語")


def test_chart_numbers_from_a_worker_process_make_the_same_document(demo_catalog, monkeypatch):
    bundle = build_summary(demo_catalog)  # one bundle: its "generated at" minute is the same in both
    monkeypatch.setattr(pdf_module, "PARALLEL_FIGURE_TASKS", 2)
    pages = []
    for workers in ("0", "1"):
        monkeypatch.setenv(pdf_module.CHART_WORKERS_ENV, workers)
        reader = PdfReader(io.BytesIO(to_pdf(bundle)))
        pages.append([page.extract_text() for page in reader.pages])
    assert pages[0] == pages[1] and len(pages[0]) > 18


def test_a_bad_worker_setting_is_refused_by_name(demo_catalog, monkeypatch):
    monkeypatch.setenv(pdf_module.CHART_WORKERS_ENV, "many")
    with pytest.raises(pdf_module.StrategyError, match="STRATEGY_CHART_WORKERS must be a whole number"):
        pdf_module.chart_workers()
