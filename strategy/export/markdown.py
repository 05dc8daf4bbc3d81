"""Markdown: reads as plain text, tables as Markdown tables, each chart as a table of its numbers."""

from __future__ import annotations

import re

import pandas as pd

from strategy.export.blocks import Bullets, Chart, Heading, Paragraph, Table, inert, summary_blocks
from strategy.export.registry import Renderer, register
from strategy.summary import SummaryBundle

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


register(Renderer("md", "Markdown", "text/markdown", "md", lambda bundle: to_markdown(bundle).encode("utf-8"),
                  description="Markdown", position=10))
