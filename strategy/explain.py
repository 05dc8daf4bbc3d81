"""Sentences that explain a recommendation's class (what each source adds at the task's budget) and how far
its intervals can be trusted (the backtest's calibration).

One wording for the command line, the exports and the pages.
"""

from __future__ import annotations

from typing import NamedTuple

from strategy.calibration import MIN_HELD_OUT, MIN_TASKS
from strategy.models import Recommendation

# Letters whose spoken name starts with a vowel sound: "an RMSE", "an F1", "an MAE" but "a BLEU".
_VOWEL_SOUNDING_LETTERS = set("AEFHILMNORSX")


def with_article(word: str) -> str:
    """The word after "a" or "an" as it is spoken: "an expert", "a crowd", "an RMSE", "a BLEU score"."""
    text = str(word)
    first = (text.split()[0] if text.split() else text).lstrip("*_`")  # Markdown emphasis is not spoken
    if len(first) > 1 and (first.isupper() or any(ch.isdigit() for ch in first)):
        vowel = first[0].upper() in _VOWEL_SOUNDING_LETTERS  # read letter by letter
    else:
        vowel = first[:1].lower() in set("aeiou")
    return f"{'an' if vowel else 'a'} {text}"


def _effect(gain: float, metric: str, higher_is_better: bool) -> str:
    """A gain (positive = better) in the metric's own direction: "+0.050 AUROC" or "lowers RMSE by 0.050";
    a gain that rounds to nothing says so instead of "-0.000"."""
    if round(abs(gain), 3) == 0:
        return f"nothing measurable in {metric}" if higher_is_better else f"leaves {metric} unchanged"
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


def why_lines(recommendation: Recommendation) -> list[str]:
    """How the answer moved from the rules' prior to the recommendation, one line per step with its figure:
    the prior share, what the fitted evidence changed, and the floors and purchases that bind the plan."""
    r = recommendation
    lines = [f"Rules' prior: {r.prior_human_share:.0%} of the training spend on human data, from the "
             f"{len(r.rules)} rule{'' if len(r.rules) == 1 else 's'} that fired."]
    if r.basis == "rules":
        lines.append("Fitted evidence: none yet (fewer than the outcomes a fit needs), so the prior stands.")
    else:
        moved = 100 * (r.human_share_spend - r.prior_human_share)
        lines.append(f"Fitted evidence: {r.evidence_count:,} outcome{'' if r.evidence_count == 1 else 's'} moved "
                     f"the human share of spend to {r.human_share_spend:.0%} ({moved:+.0f} points) and of samples "
                     f"to {r.human_share_samples:.0%}: {class_reason(r)}")
    spend = r.spend_human + r.spend_synthetic
    binds = spend > 0 and r.human_floor > 0 and r.human_share_spend <= r.human_floor + 0.005
    lines.append(f"Floor: at least {r.human_floor:.0%} of the spend on human data (collapse guard {r.collapse_guard})"
                 + (f"; it binds: the plan sits at {r.human_share_spend:.0%}." if binds
                    else f"; not binding: the plan is at {r.human_share_spend:.0%}."))
    lines.append(f"Evaluation set: {r.eval_set.size:,} {r.eval_set.tier} human labels (${r.eval_set.cost:,.0f}) come "
                 f"out of the ${r.budget:,.0f} budget first, leaving ${r.budget - r.eval_set.cost:,.0f} to train on.")
    return lines


class CoverageWords(NamedTuple):
    headline: str   # the coverage of the intervals as they are now drawn
    sentence: str   # how calibration got there ("" when the intervals are as fitted)


def calibration_sentence(summary: dict) -> CoverageWords:
    """The backtest's interval coverage in words: as fitted, and after the catalog's calibration."""
    raw, calibrated = summary.get("coverage_80"), summary.get("coverage_80_calibrated")
    calibration = summary.get("interval_calibration") or {}
    if raw is None:
        return CoverageWords("—", "")
    if not calibration.get("trusted"):
        held = calibration.get("held_out", 0)
        return CoverageWords(f"{raw:.0%}", f"Intervals are drawn as fitted: {held} held-out outcomes are too few "
                                           f"to calibrate them ({MIN_HELD_OUT} from {MIN_TASKS} tasks or more "
                                           "are needed).")
    scale = calibration["scale"]
    change = "narrower" if scale < 1 else "wider"
    return CoverageWords(
        f"{calibrated:.0%}",
        f"As fitted, the 80% intervals covered {raw:.0%} of held-out outcomes, so they are now drawn {scale:.2f}× "
        f"as wide ({change}: the miss that 80% of the {calibration['held_out']} held-out outcomes stay within). "
        f"Judged task by task against the width the other tasks ask for, they cover {calibrated:.0%}.")
