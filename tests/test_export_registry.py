"""The export format registry: a format registered in one place is offered by render(), FORMATS and
MEDIA_TYPES, the CLI's export command and the Export page; an unknown format is refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

import dashboard
from strategy import export
from strategy.catalog import Catalog
from strategy.cli import main
from strategy.export.registry import Renderer, registered, renderer, renderers
from strategy.summary import SummaryBundle, build_summary

APP = Path(__file__).resolve().parent.parent / "app.py"
BUILT_IN = ("md", "html", "pdf", "csv", "json")
REFUSED = "format must be one of md, html, pdf, csv, json"


def plain_text(bundle: SummaryBundle) -> bytes:
    """A throwaway format: the summary's title and one line per task."""
    lines = [bundle.summary.title] + [
        f"{task.name}: {task.recommendation.sourcing if task.recommendation else 'not computed'}"
        for task in bundle.summary.tasks]
    return ("\n".join(lines) + "\n").encode("utf-8")


# Named unlike its extension, so the tests see which of the two each place uses.
PLAIN = Renderer("plain", "Plain text", "text/plain", "txt", plain_text, description="a line per task")


@pytest.fixture
def plain():
    with registered(PLAIN):
        yield PLAIN
    assert "plain" not in export.FORMATS


@pytest.fixture
def fresh_streamlit_caches():
    """The app's caches (and its catalog connection) dropped after the test, as tests/pages do."""
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def test_the_built_in_formats_are_registered_in_their_order():
    assert export.FORMATS == BUILT_IN
    assert export.MEDIA_TYPES == {"md": "text/markdown", "html": "text/html", "pdf": "application/pdf",
                                  "csv": "text/csv", "json": "application/json"}
    assert [(r.label, r.extension, r.takes_paper, r.binary) for r in renderers()] == [
        ("Markdown", "md", False, False), ("HTML", "html", False, False), ("PDF", "pdf", True, True),
        ("CSV", "csv", False, False), ("JSON", "json", False, False)]


def test_a_formats_position_orders_it_among_the_others():
    with registered(Renderer("first", "First", "text/plain", "txt", plain_text, position=5)):
        shown = export.FORMATS
        assert shown == ("first", *BUILT_IN)
        with registered(Renderer("between", "Between", "text/plain", "txt", plain_text, position=25)):
            assert export.FORMATS == ("first", "md", "html", "between", "pdf", "csv", "json")
    assert export.FORMATS == BUILT_IN


def test_every_format_module_of_the_package_is_registered_without_a_list_to_edit():
    """Each module of strategy/export that is not a shared one registers one format when the package loads."""
    import pkgutil

    formats = {module.name for module in pkgutil.iter_modules(export.__path__)} - {
        "blocks", "registry", "pdf_tables", "pdf_charts", "pdf_plots", "pdf_text"}
    registering = {r.render.__module__.rsplit(".", 1)[-1] for r in renderers()}
    assert formats == registering == {"markdown", "html", "pdf", "csv_format", "json_format"}


def test_a_registered_format_is_rendered_and_listed_until_it_is_unregistered(demo_catalog, plain):
    bundle = build_summary(demo_catalog, task_ids=["Card fraud detection"])
    assert export.render(bundle, "plain") == plain_text(bundle)
    formats, media_types = export.FORMATS, export.MEDIA_TYPES  # read now: they follow the registry
    assert formats == (*BUILT_IN, "plain") and media_types["plain"] == "text/plain"
    assert renderer("plain") is plain and renderers()[-1] is plain
    assert export.file_name_for("portfolio", "", "plain", when="2024-05-01") == "strategy-portfolio-20240501.txt"
    # Refused again once unregistered.
    export.unregister("plain")
    with pytest.raises(ValueError, match=f"^{REFUSED}$"):
        export.render(bundle, "plain")


def test_a_format_that_takes_the_paper_size_is_given_it(demo_catalog):
    sized = Renderer("sized", "Sized", "text/plain", "txt", lambda bundle, paper: paper.encode(), takes_paper=True)
    bundle = build_summary(demo_catalog, task_ids=["Card fraud detection"])
    with registered(sized):
        assert export.render(bundle, "sized") == b"A4" and export.render(bundle, "sized", paper="Letter") == b"Letter"


def test_an_unknown_format_is_refused_with_the_formats_there_are(demo_catalog, demo_path):
    bundle = build_summary(demo_catalog, task_ids=["Card fraud detection"])
    for unknown in ("docx", "", "PDF", None):
        with pytest.raises(ValueError, match=f"^{REFUSED}$"):
            export.render(bundle, unknown)
    result = CliRunner().invoke(main, ["--catalog", str(demo_path), "export", "--portfolio", "--format", "docx"])
    assert result.exit_code == 2
    assert "Invalid value for '--format': 'docx' is not one of 'md', 'html', 'pdf', 'csv', 'json'." in result.output


def test_a_format_name_is_lower_case_letters_and_digits():
    for name in ("", "Plain", "plain text", "../txt"):
        with pytest.raises(ValueError, match="lower-case letters and digits"):
            Renderer(name, "Plain text", "text/plain", "txt", plain_text)
    with pytest.raises(ValueError, match="extension is lower-case letters and digits"):
        Renderer("plain", "Plain text", "text/plain", ".txt", plain_text)


def test_the_cli_exports_a_registered_format(demo_path, plain, tmp_path):
    runner = CliRunner()
    args = ["--catalog", str(demo_path), "export", "--task", "Card fraud detection", "--format", "plain"]
    printed = runner.invoke(main, args, catch_exceptions=False)
    assert printed.exit_code == 0, printed.output
    out = tmp_path / "summary.txt"
    written = runner.invoke(main, [*args, "-o", str(out)], catch_exceptions=False)
    assert written.exit_code == 0, written.output
    with Catalog.open(demo_path) as catalog:
        expected = plain_text(build_summary(catalog, task_ids=["Card fraud detection"]))
    assert printed.output == expected.decode("utf-8") and out.read_bytes() == expected
    assert "Card fraud detection: " in printed.output
    assert "[md|html|pdf|csv|json|plain]" in runner.invoke(main, ["export", "--help"]).output


def test_the_export_page_offers_a_registered_format(monkeypatch, demo_path, plain, fresh_streamlit_caches):
    monkeypatch.setenv("STRATEGY_CATALOG", str(demo_path))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("app_pages/export.py").run()
    assert not at.exception, [e.value for e in at.exception]
    buttons = at.get("download_button")
    assert [button.proto.label for button in buttons[:6]] == ["Markdown", "HTML", "PDF (A4)", "CSV", "JSON",
                                                              "Plain text"]
    assert buttons[5].proto.id.endswith("-summary_plain") and buttons[5].proto.HasField("deferred_file_id")
    # What the button downloads when clicked, and under which name.
    args = {"task_ids": [at.selectbox(key="export_task").value], "filters": None}
    made = dashboard.summary_file(str(demo_path), "plain", "A4", args)()
    assert made.decode("utf-8").splitlines()[1].endswith((": human", ": mixed", ": synthetic"))
    assert dashboard.summary_file_name(str(demo_path), "plain", args).endswith(".txt")


def _readme_format_blocks() -> list[str]:
    import re

    text = (APP.parent / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Adding an export format"):text.index("## Measuring humanness")]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_readme_format_and_its_test_run_as_written(demo_catalog):
    """The README's worked example (strategy/export/text.py and its test) runs as it is printed there: the
    format registers itself on import, and its own test's assertions hold."""
    module_code, test_code = _readme_format_blocks()
    namespace: dict = {"__name__": "strategy.export.text"}
    try:
        exec(compile(module_code, "README.md (strategy/export/text.py)", "exec"), namespace)
        assert "txt" in export.FORMATS and renderer("txt").label == "Plain text"
        checks: dict = {}
        exec(compile(test_code, "README.md (tests/test_export_text.py)", "exec"), checks)
        (test,) = [value for key, value in checks.items() if key.startswith("test_")]
        test(demo_catalog)
        result = CliRunner().invoke(main, ["--catalog", demo_catalog.location, "export", "--help"])
        # The choices follow the registry; the help's sentence about each format is written when the CLI is
        # built, which a module in the package precedes (here the format registers after it).
        assert "[md|html|pdf|csv|json|txt]" in result.output
    finally:
        export.unregister("txt")
    assert "txt" not in export.FORMATS
