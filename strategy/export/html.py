"""HTML: one file that opens offline, with inline style and the charts as inline SVG."""

from __future__ import annotations

import html
import re

import pandas as pd
import vl_convert

from strategy.export.blocks import Bullets, Chart, Heading, Paragraph, Table, chart_spec, inert, summary_blocks
from strategy.export.registry import Renderer, register
from strategy.summary import SummaryBundle

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


register(Renderer("html", "HTML", "text/html", "html", lambda bundle: to_html(bundle).encode("utf-8"),
                  description="one self-contained file", position=20))
