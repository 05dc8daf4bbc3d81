"""The summary as a document, laid out once for every format: blocks (headings, paragraphs, tables, lists,
charts, page breaks) and the text helpers the formats share."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from strategy.explain import class_reason
from strategy.ingest import inert as inert_line
from strategy.summary import Figure, StrategySummary, SummaryBundle, TaskSummary

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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
    return list(iter_blocks(bundle))


def iter_blocks(bundle: SummaryBundle):
    """The blocks of summary_blocks, made one at a time: the PDF has a task's charts drawn while the next task's
    are being computed."""
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


# ----------------------------------------------------------------------------- charts (HTML: SVG; PDF: PNG)
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

