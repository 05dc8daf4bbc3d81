"""Exports: catalog tables and strategy summaries in every format, each read back; CSV cells that a
spreadsheet would execute are neutralised."""

from __future__ import annotations

import html
import io
import json
import shutil

import jsonschema
import pandas as pd
import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader

from strategy import export as export_module
from strategy.catalog import Catalog
from strategy.errors import StrategyError
from strategy.export import FORMATS, SUMMARY_COLUMNS, md_text, neutralise, render, to_csv, to_json, to_pdf
from strategy.models import Task
from strategy.recommend import run_backtest, save_task_and_recommend
from strategy.summary import StrategySummary, build_summary, summary_schema


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
    images = sum(len(page.images) for page in reader.pages)
    charted = sum(1 for task in bundle.summary.tasks if bundle.fits.get(task.task_id))
    assert images == 2 * charted + 1  # mix curve and frontier per fitted task, and the split chart


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
    monkeypatch.setattr(export_module, "FONT_DIRS", ())
    text = " ".join(PdfReader(io.BytesIO(to_pdf(bundle))).pages[0].extract_text().split())
    assert "Übersetzung -> ??? >= 2" in text
