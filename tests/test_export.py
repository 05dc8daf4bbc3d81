"""Exports: catalog tables and strategy summaries in every format, each read back; CSV cells that a
spreadsheet would execute are neutralised."""

from __future__ import annotations

import html
import io
import json
import shutil

import altair as alt
import jsonschema
import numpy as np
import pandas as pd
import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader

from strategy import export as export_module
from strategy.backtest import run_backtest
from strategy.catalog import Catalog
from strategy.errors import StrategyError
from strategy.export import (
    FORMATS,
    SUMMARY_COLUMNS,
    md_text,
    neutralise,
    pdf_charts,
    pdf_tables,
    render,
    to_csv,
    to_json,
    to_pdf,
)
from strategy.export import pdf as pdf_module
from strategy.models import Task
from strategy.summary import StrategySummary, SummaryBundle, build_summary, summary_schema
from strategy.tasks import save_task_and_recommend


def test_formula_like_text_is_neutralised():
    for hostile in ['=HYPERLINK("x")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB"]:
        assert neutralise(hostile) == "'" + hostile
    assert neutralise("Chest X-ray triage") == "Chest X-ray triage"
    assert neutralise(-3) == -3


def test_csv_round_trip_keeps_numbers_and_neutralises_text():
    frame = pd.DataFrame({"name": ['=HYPERLINK("x")', "plain"], "value": [-0.5, 0.25], "n": [3, 4]})
    back = pd.read_csv(io.BytesIO(to_csv(frame)))
    assert back["name"].tolist() == ['\'=HYPERLINK("x")', "plain"]
    assert back["value"].tolist() == [-0.5, 0.25]
    assert back["n"].tolist() == [3, 4]


def test_json_round_trip(demo_catalog):
    tasks = demo_catalog.tasks()
    records = json.loads(to_json(tasks))
    assert len(records) == len(tasks)
    assert {r["name"] for r in records} == set(tasks["name"])


# --------------------------------------------------------------------------- strategy summaries
@pytest.fixture(scope="module")
def portfolio_files(demo_template, tmp_path_factory):
    """Every format of the demo portfolio's summary, made once (the PDF and HTML render every chart)."""
    path = tmp_path_factory.mktemp("export") / "catalog.duckdb"
    shutil.copy(demo_template, path)
    with Catalog.open(path) as catalog:
        run_backtest(catalog)
        bundle = build_summary(catalog)
        return bundle, {fmt: render(bundle, fmt) for fmt in FORMATS}


@pytest.fixture
def hostile_catalog(demo_catalog):
    """The demo with one task renamed like a spreadsheet formula and described with markup."""
    task = demo_catalog.task("Card fraud detection")
    renamed = task.model_copy(update={"name": '=HYPERLINK("x")', "description": "<script>alert(1)</script> | **x**"})
    save_task_and_recommend(demo_catalog, renamed)
    return demo_catalog, renamed


def test_the_pdf_has_every_task_numbered_pages_and_the_charts(portfolio_files):
    bundle, files = portfolio_files
    reader = PdfReader(io.BytesIO(files["pdf"]))
    pages = len(reader.pages)
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = " ".join(text.split())
    for task in bundle.summary.tasks:
        assert " ".join(task.name.split()) in flat, task.name
    assert f"page 1 of {pages}" in flat and f"page {pages} of {pages}" in flat
    # The title page's table, one section per task, and the cost assumptions: more pages than tasks.
    assert pages > len(bundle.summary.tasks)
    # Every chart is drawn as vector shapes (strategy/export/pdf_plots.py), none as a picture: the mix curve
    # and the budget frontier of each fitted task, and the budget split.
    assert sum(len(page.images) for page in reader.pages) == 0
    charted = sum(1 for task in bundle.summary.tasks if bundle.fits.get(task.task_id))
    assert flat.count("Human share of training spend (%)") == charted
    assert flat.count("Total budget (USD, log scale)") == charted
    assert flat.count("Budget split per task (share of each task's budget)") >= 1


def _pixels_near(picture, colour: str, tolerance: int = 40) -> int:
    target = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    pixels = np.asarray(picture.convert("RGB"), dtype=int)
    return int((np.abs(pixels - target).max(axis=2) <= tolerance).sum())


def test_the_pdf_draws_each_chart_in_the_colours_of_its_legend(portfolio_files):
    """The mix chart's line and band, its two markers, and the frontier's lines, read off a rendered page."""
    from strategy.charts import HUMAN_COLOUR, SYNTHETIC_COLOUR
    from strategy.plots import BEST_MIX_COLOUR, FLOOR_COLOUR

    bundle, files = portfolio_files
    document = pdfium.PdfDocument(files["pdf"])
    texts = [document[i].get_textpage().get_text_range() for i in range(len(document))]
    mix_page = next(i for i, text in enumerate(texts) if "Human share of training spend (%)" in text)
    frontier_page = next(i for i, text in enumerate(texts) if "Total budget (USD, log scale)" in text)
    mix = document[mix_page].render(scale=2).to_pil()
    band = "#cbdbe3"  # the line's colour at 25% opacity on white paper
    assert _pixels_near(mix, HUMAN_COLOUR, 25) > 300  # the expected-metric line
    assert _pixels_near(mix, band, 8) > 20_000         # the 80% band, a large pale area
    assert _pixels_near(mix, BEST_MIX_COLOUR, 40) > 100 and _pixels_near(mix, FLOOR_COLOUR, 40) > 100
    frontier = document[frontier_page].render(scale=2).to_pil()
    assert _pixels_near(frontier, SYNTHETIC_COLOUR, 30) > 200


def test_a_chart_without_a_plot_of_its_own_is_drawn_as_a_picture(demo_catalog):
    """The fallback for a figure that only has a Vega-Lite chart: drawn by Vega, embedded as an image."""
    from strategy.summary import Figure, FigureParts

    bundle = build_summary(demo_catalog, task_ids=["Card fraud detection"])
    figure = Figure("A chart with no plot", lambda: FigureParts(
        lambda: alt.Chart(pd.DataFrame({"x": [0, 1], "y": [1, 2]})).mark_line().encode(x="x:Q", y="y:Q"),
        pd.DataFrame({"x": [0, 1]})))
    original = type(bundle).task_figures
    try:
        type(bundle).task_figures = lambda self, task: [figure]
        document = PdfReader(io.BytesIO(to_pdf(bundle)))
    finally:
        type(bundle).task_figures = original
    assert sum(len(page.images) for page in document.pages) == 1
    assert "A chart with no plot" in " ".join(page.extract_text() for page in document.pages)


def test_the_pdf_fits_the_chosen_paper(demo_catalog):
    bundle = build_summary(demo_catalog, task_ids=["Card fraud detection"])
    for paper, (width, height) in {"A4": (595.28, 841.89), "Letter": (612, 792)}.items():
        first = PdfReader(io.BytesIO(to_pdf(bundle, paper))).pages[0]
        assert (float(first.mediabox.width), float(first.mediabox.height)) == pytest.approx((width, height), abs=1)


def test_the_pdfs_first_page_renders_to_a_picture_with_ink(portfolio_files, tmp_path):
    document = pdfium.PdfDocument(portfolio_files[1]["pdf"])
    picture = document[0].render(scale=1).to_pil().convert("L")
    picture.save(tmp_path / "first_page.png")
    histogram = picture.histogram()
    dark = sum(histogram[:128]) / sum(histogram)
    # Mostly white paper with a title and a table on it: some ink, not a blank or black page.
    assert 0.01 < dark < 0.5
    assert (tmp_path / "first_page.png").stat().st_size > 10_000


def test_the_html_opens_offline(portfolio_files):
    bundle, files = portfolio_files
    page = files["html"].decode("utf-8")
    assert "http://" not in page and "https://" not in page and "//" not in page.replace("<!--", "")
    assert "<script" not in page.lower() and "<link" not in page.lower() and "url(" not in page
    assert page.count("<svg") == 2 * sum(1 for t in bundle.summary.tasks if bundle.fits.get(t.task_id)) + 1
    for task in bundle.summary.tasks:
        assert html.escape(task.name) in page


def test_the_html_has_a_table_of_contents_linking_every_section(portfolio_files):
    import re

    bundle, files = portfolio_files
    page = files["html"].decode("utf-8")
    nav = re.search(r'<nav aria-label="Contents">(.*?)</nav>', page, re.S)
    assert nav is not None and page.index("<nav") < page.index('<h2 id="section-1">')
    links = re.findall(r'<li><a href="#(section-\d+)">(.*?)</a></li>', nav.group(1))
    targets = dict(re.findall(r'<h2 id="(section-\d+)">(.*?)</h2>', page))
    assert [text for _, text in links] == list(targets.values())
    assert all(targets[anchor] == text for anchor, text in links)
    names = [text for _, text in links]
    assert names[0] == "Portfolio" and names[-1] == "Cost assumptions"
    assert [html.unescape(n) for n in names[1:-1]] == [task.name for task in bundle.summary.tasks]


def test_markdown_reads_as_plain_text_with_markdown_tables(portfolio_files):
    bundle, files = portfolio_files
    text = files["md"].decode("utf-8")
    assert text.startswith(f"# {bundle.summary.title}\n")
    lines = text.splitlines()
    header = lines.index("| task | domain | class | human share of spend | human samples | synthetic samples | "
                         "budget | expected | confidence | humanness |")
    assert lines[header + 1] == "|" + "|".join(["---"] * 10) + "|"
    assert len([line for line in lines[header + 2:] if line.startswith("| ")][:len(bundle.summary.tasks)]) == \
        len(bundle.summary.tasks)
    for task in bundle.summary.tasks:
        assert f"## {md_text(task.name)}" in lines
    assert "<svg" not in text


def test_the_json_follows_its_schema_and_mirrors_the_records(portfolio_files):
    bundle, files = portfolio_files
    document = json.loads(files["json"])
    jsonschema.validate(document, summary_schema())
    assert document["schema"] == "strategy.summary/1"
    restored = StrategySummary.model_validate(document)
    assert [t.name for t in restored.tasks] == [t.name for t in bundle.summary.tasks]
    assert restored.tasks[0].recommendation == bundle.summary.tasks[0].recommendation
    broken = dict(document, tasks=[{"name": "no id"}])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, summary_schema())


def test_the_csv_has_one_row_per_task_with_stable_columns(portfolio_files):
    bundle, files = portfolio_files
    frame = pd.read_csv(io.BytesIO(files["csv"]))
    assert list(frame.columns) == SUMMARY_COLUMNS
    assert frame["task"].tolist() == [t.name for t in bundle.summary.tasks]
    first = bundle.summary.tasks[0].recommendation
    assert frame.loc[0, "n_human"] == first.n_human
    assert frame.loc[0, "human_share_spend"] == pytest.approx(first.human_share_spend)
    measured = {t.name: t.humanness[0].humanness for t in bundle.summary.tasks if t.humanness}
    assert frame.set_index("task").loc[list(measured), "humanness"].tolist() == pytest.approx(list(measured.values()))


def test_a_formula_like_task_name_is_neutralised_and_markup_stays_text(hostile_catalog):
    catalog, task = hostile_catalog
    bundle = build_summary(catalog, task_ids=[task.id])
    frame = pd.read_csv(io.BytesIO(render(bundle, "csv")))
    assert frame.loc[0, "task"] == '\'=HYPERLINK("x")'
    page = render(bundle, "html").decode("utf-8")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    text = render(bundle, "md").decode("utf-8")
    # Backslash-escaped: a Markdown viewer shows the characters instead of running or styling them.
    assert "<script>" not in text and "\\<script\\>alert(1)\\</script\\> | \\*\\*x\\*\\*" in text
    pdf_text = " ".join(PdfReader(io.BytesIO(render(bundle, "pdf"))).pages[0].extract_text().split())
    assert '=HYPERLINK("x")' in pdf_text and "**x**" in pdf_text


def test_a_task_without_a_recommendation_is_exported_without_charts(empty_catalog):
    task = Task(name="Fresh task", domain="Ops", modality="text", metric="F1")
    empty_catalog.save_tasks([task], actor="t")
    bundle = build_summary(empty_catalog, task_ids=["Fresh task"])
    assert bundle.summary.tasks[0].recommendation is None and bundle.task_figures(bundle.summary.tasks[0]) == []
    assert "No recommendation has been computed for this task yet" in render(bundle, "md").decode()
    assert PdfReader(io.BytesIO(render(bundle, "pdf"))).pages
    assert pd.read_csv(io.BytesIO(render(bundle, "csv")))["sourcing"].isna().all()


def test_filters_choose_the_tasks_and_an_empty_choice_is_refused(demo_catalog):
    bundle = build_summary(demo_catalog, filters={"domains": ["Healthcare"]})
    assert bundle.summary.scope == "selection"
    expected = demo_catalog.tasks()
    assert sorted(t.name for t in bundle.summary.tasks) == sorted(expected[expected["domain"] == "Healthcare"]["name"])
    assert bundle.summary.totals.budget == pytest.approx(sum(t.recommendation.budget for t in bundle.summary.tasks))
    with pytest.raises(StrategyError, match="Nothing to export"):
        build_summary(demo_catalog, filters={"domains": ["No such domain"]})


def test_without_a_unicode_font_the_pdf_spells_symbols_out_instead_of_failing(demo_catalog, monkeypatch):
    task = demo_catalog.task("Card fraud detection")
    save_task_and_recommend(demo_catalog, task.model_copy(update={"name": "Übersetzung → 日本語 ≥ 2"}))
    bundle = build_summary(demo_catalog, task_ids=[task.id])
    monkeypatch.setattr(pdf_module, "FONT_DIRS", ())
    text = " ".join(PdfReader(io.BytesIO(to_pdf(bundle))).pages[0].extract_text().split())
    assert "Übersetzung -> ??? >= 2" in text


# --------------------------------------------------------------------------- PDF tables
def _text_lines(pdf: bytes, page: int = 0) -> list[tuple[float, str]]:
    """Each piece of text the page shows, with its height on the page (PDF points from the bottom); a cell
    shows one piece per line."""
    lines = []
    PdfReader(io.BytesIO(pdf)).pages[page].extract_text(
        visitor_text=lambda text, cm, tm, font, size: lines.append((tm[5], text)) if text.strip() else None)
    return lines


def _words_between(lines: list[tuple[float, str]], top: str, bottom: str) -> list[str]:
    upper = next(y for y, text in lines if text.strip() == top)
    lower = next(y for y, text in lines if text.strip().startswith(bottom))
    return [word for y, text in lines if lower < y < upper for word in text.split()]


def _tokens(frame: pd.DataFrame) -> set[str]:
    cells = [str(c) for c in frame.columns] + [str(v) for row in frame.itertuples(index=False) for v in row]
    return {token for cell in cells for token in export_module.inert(cell).split()}


@pytest.fixture
def wide_summary(demo_catalog):
    """Six demo tasks with long names (one a long compound word) and money and counts with many digits, and
    no fitted curves, so the PDF has no charts and renders in a second."""
    bundle = build_summary(demo_catalog, task_ids=demo_catalog.tasks()["name"].tolist()[:6])
    budgets = [3_000, 3_000_000_000, 45_678_901, 250.5, 12_345_678, 999_999]
    names = ["Multilingual customer-support conversation summarisation for regulated complaints",
             "Übersetzungsqualitätsbewertung für Versicherungsbedingungen", "Chest X-ray triage",
             "Sarcasm detection in call-centre speech", "Legal clause review (contracts, NDAs)",
             "Intrusion detection on 10-gigabit network flows"]
    tasks = [task.model_copy(update={"name": name, "recommendation": task.recommendation.model_copy(update={
        "budget": budget, "n_human": 12_345, "n_synthetic": 1_234_567})})
        for task, name, budget in zip(bundle.summary.tasks, names, budgets, strict=True)]
    return SummaryBundle(bundle.summary.model_copy(update={"tasks": tasks}))


def test_the_pdf_portfolio_table_never_splits_a_word_or_a_number(wide_summary):
    expected = _tokens(export_module.portfolio_table(wide_summary.summary))
    assert {"human", "$3,000", "$3,000,000,000", "12,345", "Übersetzungsqualitätsbewertung"} <= expected
    words = _words_between(_text_lines(to_pdf(wide_summary), page=1), "Portfolio", "Totals:")  # after the overview
    # Every token of every cell shows whole, and nothing in the table is a piece of one.
    assert expected - set(words) == set()
    assert set(words) - expected == set()


def test_pdf_table_columns_are_as_wide_as_their_widest_token_and_prose_shares_the_rest():
    def layout(tokens, lines=None, heads=None):
        """Widths per point of font size (tokens, body lines, headings); 100 of page, 2 of padding per cell."""
        return pdf_tables.table_layout(tokens, lines or tokens, heads or tokens, width=100, padding=2, start=8,
                                       minimum=6)

    def widths(result):
        return [[round(width, 2) for _, width in band] for band in result.bands]

    # Prose (columns 0 and 2) shares what the widest tokens leave, in proportion to what it lacks for one line;
    # the number column gets exactly what its widest number needs.
    fitted = layout([2, 3, 1], [10, 3, 6])
    assert fitted.size == 8 and widths(fitted) == [[46.31, 26.0, 27.69]]
    # When every cell fits on one line, the spare width goes to every column, in proportion to its width.
    assert widths(layout([1, 1], [2, 3])) == [[40.91, 59.09]]
    # A long heading wraps before the body's cells do: column 0 keeps its cells on one line (34).
    assert widths(layout([1, 1], [4, 1], [1, 9])) == [[34.0, 66.0]]
    # Tokens too wide side by side at 8 pt: the font shrinks (in half points) until they fit.
    assert layout([6.5, 6.5]).size == 7
    # Still too wide at the smallest size: bands of columns, each repeating the first (the row's name).
    banded = layout([3, 5, 5, 5])
    assert banded.size == 6 and [[j for j, _ in band] for band in banded.bands] == [[0, 1, 2], [0, 3]]
    assert all(round(sum(w for _, w in band), 6) == 100 for band in banded.bands)
    # A token wider than the page even alone: the only one that is broken, in a band of its own.
    assert widths(layout([3, 20])) == [[100.0], [100.0]]


def test_a_table_too_wide_for_the_page_in_the_smallest_type_is_split_into_bands_not_words():
    words = ["Donaudampfschifffahrtsgesellschaftskapitän", "Rechtsschutzversicherungsgesellschaften",
             "Kraftfahrzeughaftpflichtversicherung", "Grundstücksverkehrsgenehmigungszuständigkeit",
             "Arbeiterunfallversicherungsgesetz"]
    frame = pd.DataFrame([{"task": f"Task number {i}", **{f"column {j}": f"{word} {i}" for j, word in
                                                         enumerate(words)}} for i in range(3)])
    pdf = pdf_module._Document("A4", "Bands", pdf_module._block_texts([export_module.Table(frame)]))
    pdf.add_page()
    pdf_tables._pdf_table(pdf, frame)
    lines = [(y, text) for y, text in _text_lines(bytes(pdf.output())) if y > 72]  # above the footer
    shown = [word for _, text in lines for word in text.split()]
    assert _tokens(frame) - set(shown) == set() and set(shown) - _tokens(frame) == set()
    # Each band starts with the task names again, so its rows can be read on their own.
    assert 1 < shown.count("task") < len(words) and shown.count("Task") == 3 * shown.count("task")


# --------------------------------------------------------------------------- PDF charts
def _chart(values) -> dict:
    frame = pd.DataFrame({"share": [0, 0.5, 1], "expected": values})
    return export_module.chart_spec(alt.Chart(frame, title="t").mark_line().encode(x="share:Q", y="expected:Q"))


def test_each_distinct_chart_is_drawn_once(demo_catalog, monkeypatch):
    drawn = []
    real = pdf_charts._draw
    monkeypatch.setattr(pdf_charts, "_draw", lambda spec: drawn.append(spec) or real(spec))
    pdf_charts._drawn.clear()
    with pdf_charts._ChartPictures() as pictures:
        first, again, other = pictures.order(_chart([1, 2, 3])), pictures.order(_chart([1, 2, 3])), \
            pictures.order(_chart([3, 2, 1]))
        assert first == again != other
        assert pictures.png(first) == pictures.png(again) and pictures.png(other) != pictures.png(first)
    assert len(drawn) == 2
    # The next document showing the same chart draws nothing again.
    with pdf_charts._ChartPictures() as pictures:
        assert pictures.png(pictures.order(_chart([1, 2, 3]))) and len(drawn) == 2


def test_the_portfolio_summary_opens_with_a_one_page_overview(portfolio_files):
    bundle, files = portfolio_files
    summary = bundle.summary
    assert summary.attention, "the demo has low-confidence tasks and one task with most of the budget"
    # PDF: the overview is the whole first page; the portfolio table starts on the second.
    document = pdfium.PdfDocument(files["pdf"])
    first, second = (" ".join(document[i].get_textpage().get_text_range().split()) for i in (0, 1))
    assert "Overview" in first and "Tasks that need attention" in first and "Portfolio" not in first
    assert second.startswith("Portfolio") or "Portfolio task domain" in second
    for item in summary.attention:
        assert " ".join(item.task.split()) in first and item.reasons[0] in first
    for name, count in summary.totals.classes.items():
        assert f"{name} {count}" in first
    # HTML and Markdown: the same overview before the contents and the portfolio table.
    page = files["html"].decode("utf-8")
    assert page.index("<h2>Overview</h2>") < page.index("<nav") < page.index('<h2 id="section-1">Portfolio')
    text = files["md"].decode("utf-8")
    assert text.index("## Overview") < text.index("### Tasks that need attention") < text.index("## Portfolio")
    for item in summary.attention:
        assert f"| {md_text(item.task)} | {md_text('; '.join(item.reasons))} |" in text
    # JSON: the same list, for tools.
    document = json.loads(files["json"])
    assert [item["task"] for item in document["attention"]] == [item.task for item in summary.attention]


def test_the_overview_budget_per_class_adds_up_to_the_total(portfolio_files):
    bundle, files = portfolio_files
    text = files["md"].decode("utf-8")
    lines = text.splitlines()
    start = lines.index("| class | tasks | budget | share of the budget |") + 2
    rows = [line.strip("| ").split(" | ") for line in lines[start:] if line.startswith("| ")]
    rows = rows[:len(bundle.summary.totals.classes)]
    assert {row[0]: int(row[1]) for row in rows} == bundle.summary.totals.classes
    assert sum(float(row[2].strip("$").replace(",", "")) for row in rows) == pytest.approx(
        bundle.summary.totals.budget, abs=len(rows))


def test_a_one_task_summary_has_no_overview(demo_catalog):
    text = render(build_summary(demo_catalog, task_ids=["Card fraud detection"]), "md").decode("utf-8")
    assert "## Overview" not in text and "Tasks that need attention" not in text
