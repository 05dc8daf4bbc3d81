"""Turning catalog content and strategy summaries into files people share.

A summary is first laid out once as a list of blocks (headings, paragraphs,
tables, lists, figures); Markdown, HTML and PDF each render those blocks, so
the three formats carry the same content. CSV is one row per task with stable
column names; JSON is the summary record itself (schema ``strategy.summary/1``).
CSV cells that a spreadsheet would run as a formula are neutralised.

Each format is a module of this package that registers a Renderer (see
strategy.export.registry); ``render()``, the Export page and the CLI offer
every registered one. The names below are re-exported for callers; a setting
such as FONT_DIRS or PARALLEL_FIGURE_TASKS is read where it is defined, so
change it on its own module (strategy.export.pdf).
"""

import importlib
import pkgutil

from strategy.export import registry
from strategy.export.blocks import (
    CLASS_ORDER,
    FORMULA_STARTS,
    Bullets,
    Chart,
    Heading,
    PageBreak,
    Paragraph,
    Table,
    chart_spec,
    inert,
    iter_blocks,
    json_inert,
    neutralise,
    portfolio_table,
    summary_blocks,
)
from strategy.export.csv_format import SUMMARY_COLUMNS, summary_frame, to_csv
from strategy.export.html import chart_svg, to_html
from strategy.export.json_format import summary_json, to_json
from strategy.export.markdown import md_text, to_markdown
from strategy.export.pdf import (
    BODY_FONTS,
    CHART_WORKERS_ENV,
    FALLBACK_FONTS,
    FONT_DIRS,
    PAPER_SIZES,
    PARALLEL_FIGURE_TASKS,
    REPLACEMENT,
    to_pdf,
)
from strategy.export.pdf_charts import CHART_SCALE, _drawn
from strategy.export.pdf_tables import TableLayout, table_layout
from strategy.export.registry import (
    Renderer,
    file_name_for,
    register,
    registered,
    render,
    renderer,
    renderers,
    unregister,
)

__all__ = [
    "BODY_FONTS", "CHART_SCALE", "CHART_WORKERS_ENV", "CLASS_ORDER", "FALLBACK_FONTS", "FONT_DIRS", "FORMATS",
    "FORMULA_STARTS", "MEDIA_TYPES", "PAPER_SIZES", "PARALLEL_FIGURE_TASKS", "REPLACEMENT", "SUMMARY_COLUMNS", "Bullets",
    "Chart", "Heading", "PageBreak", "Paragraph", "Renderer", "Table", "TableLayout", "_drawn", "chart_spec",
    "chart_svg", "file_name_for", "inert", "iter_blocks", "json_inert", "md_text", "neutralise", "portfolio_table",
    "register", "registered", "render", "renderer", "renderers", "summary_blocks", "summary_frame", "summary_json",
    "table_layout", "to_csv", "to_html", "to_json", "to_markdown", "to_pdf", "unregister",
]


# Every other module of this package is a format that registers itself when imported, so a new format is one
# new file: no list here to extend. Its Renderer's position orders the buttons and the choices.
_SHARED = {"blocks", "registry", "pdf_tables", "pdf_charts", "pdf_plots", "pdf_text"}
for _module in pkgutil.iter_modules(__path__):
    if _module.name not in _SHARED:
        importlib.import_module(f"{__name__}.{_module.name}")


def __getattr__(name: str):
    # FORMATS and MEDIA_TYPES follow the registry: a format registered after this import is in them too.
    if name in ("FORMATS", "MEDIA_TYPES"):
        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
