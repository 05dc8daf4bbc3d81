"""Sentences that explain a recommendation's class: what each source adds at the task's budget.

One wording for the command line, the exports and the task page.
"""

from __future__ import annotations

from strategy.models import Recommendation


def _effect(gain: float, metric: str, higher_is_better: bool) -> str:
    """A gain (positive = better) in the metric's own direction: "+0.050 AUROC" or "lowers RMSE by 0.050"."""
    if higher_is_better:
        return f"{gain:+.3f} {metric}"
    verb = "lowers" if gain >= 0 else "raises"
    return f"{verb} {metric} by {abs(gain):.3f}"


def source_gains(recommendation: Recommendation) -> str:
    """"synthetic data adds +0.050 AUROC over human-only; human data adds +0.090 over synthetic-led"."""
    adds = recommendation.adds
    metric = recommendation.expected_metric
    parts = []
    if adds.synthetic_over_human_only is not None:
        effect = _effect(adds.synthetic_over_human_only, metric.name, metric.higher_is_better)
        parts.append(f"synthetic data {'adds ' if metric.higher_is_better else ''}{effect} over human-only")
    if adds.human_over_synthetic_led is not None:
        effect = _effect(adds.human_over_synthetic_led, metric.name, metric.higher_is_better)
        parts.append(f"human data {'adds ' if metric.higher_is_better else ''}{effect} over synthetic-led")
    return "; ".join(parts)


def class_reason(recommendation: Recommendation) -> str:
    """Why the class is what it is, in one sentence."""
    if recommendation.basis == "rules":
        return ("No fitted evidence yet: the class follows the rules' prior share of spend, "
                f"{recommendation.prior_human_share:.0%} human.")
    margin = recommendation.class_margin or 0.0
    name = recommendation.expected_metric.name
    gains = source_gains(recommendation)
    if recommendation.sourcing == "mixed":
        why = f"the best mix beats both corners by more than the materiality margin ({margin:.3g} {name})"
    elif recommendation.sourcing == "human":
        why = f"no mix beats human-only by more than the materiality margin ({margin:.3g} {name})"
    else:
        why = f"no mix beats the synthetic-led plan by more than the materiality margin ({margin:.3g} {name})"
    counted = " (each plan counted at its expected metric less one posterior sd)"
    return f"{recommendation.sourcing.capitalize()}: {why}{counted}" + (f"; {gains}." if gains else ".")
