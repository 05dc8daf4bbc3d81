"""Several synthetic samples of one human sample, ranked: which generator (vendor, version, prompt) to use.

Every candidate is assessed against the same human sample (and holdout) on the same columns, so the scores
are comparable; a candidate that would be compared on other columns is refused, naming the file and the
columns, rather than ranked on a different footing.

**Order.** Candidates that cross no privacy threshold come first; within each group, higher humanness first,
then lower privacy risk, then the order given. Fidelity that leaks the training rows is not "best".

**Privacy risk** puts the report's privacy measures on one axis: for each measure, how far it has moved from
what no memorisation gives (0) towards its threshold (1), so a risk of 1 or more means a threshold was reached
(exactly the thresholds :func:`strategy.quality.privacy.crossed` reports). The risk is the largest of them,
capped at :data:`RISK_CAP`: past a threshold, how far past does not change the order (crossing does).
Without a holdout it rests on exact copies and distances to the closest human row; with one, also on the
closer-to-training share, the distance ratio and the membership attack.

Nothing here stores anything; :mod:`strategy.assessments` stores the ranked reports.
"""

from __future__ import annotations

from dataclasses import dataclass

from strategy.errors import AssessmentRejected, Problem
from strategy.quality.columns import Sample, plan_columns
from strategy.quality.privacy import copy_excess, crossed, limits_of
from strategy.quality.report import Assessment, Progress, assess

MAX_CANDIDATES = 12
RISK_CAP = 2.0


@dataclass(frozen=True)
class RankedSample:
    """One candidate's place in a ranking, with its report."""

    rank: int
    label: str
    assessment: Assessment
    privacy_risk: float | None
    crossed: tuple[str, ...]

    @property
    def humanness(self) -> float | None:
        return self.assessment.humanness

    @property
    def floor(self) -> float | None:
        return self.assessment.floor

    @property
    def grade(self) -> str:
        return self.assessment.grade


def privacy_risk(result: dict) -> float | None:
    """The largest of the privacy measures' distances towards their thresholds (1 = a threshold reached), or
    None when no measure could be computed."""
    limits = limits_of(result)
    risks = []
    if "exact_copy_share" in result and "baseline_copy_share" in result:
        risks.append(copy_excess(result) / limits["copy_margin"])
    for measure, baseline, limit in (("dcr_median", "dcr_baseline_median", "dcr_ratio"),
                                     ("nndr_median", "nndr_baseline_median", "nndr_ratio")):
        if result.get(measure) is not None and result.get(baseline):
            ratio = result[measure] / result[baseline]
            risks.append((1.0 - ratio) / (1.0 - limits[limit]))
    if result.get("closer_to_training_share") is not None:
        risks.append((result["closer_to_training_share"] - 0.5) / (limits["dcr_share"] - 0.5))
    if result.get("membership_auc") is not None:
        risks.append((result["membership_auc"] - 0.5) / (limits["membership_auc"] - 0.5))
    return min(max(0.0, *risks), RISK_CAP) if risks else None


def _compared(plan) -> tuple[str, ...]:
    return (*plan.tabular, *([plan.text_column] if plan.text_column else []))


def check_candidates(human: Sample, candidates: list[Sample], holdout: Sample | None = None, *,
                     columns: list[str] | None = None, text_column: str | None = None,
                     ignore: list[str] | None = None) -> tuple[str, ...]:
    """The columns every candidate is compared on; refuses candidates that would be compared on others."""
    problems = []
    if len(candidates) < 2:
        problems.append(Problem("synthetic samples", None, "synthetic", "a ranking needs at least two synthetic "
                                                                       f"samples (got {len(candidates)})"))
    if len(candidates) > MAX_CANDIDATES:
        problems.append(Problem("synthetic samples", None, "synthetic",
                                f"at most {MAX_CANDIDATES} synthetic samples are ranked in one run "
                                f"(got {len(candidates)})"))
    labels = [c.label for c in candidates]
    for label in sorted({x for x in labels if labels.count(x) > 1}):
        problems.append(Problem(label, None, "synthetic", "given more than once; each candidate needs its own name"))
    if problems:
        raise AssessmentRejected(problems)
    first = None
    for candidate in candidates:
        plan = plan_columns(human, candidate, holdout, columns=columns, text_column=text_column, ignore=ignore)
        compared = _compared(plan)
        if first is None:
            first = (candidates[0].label, compared)
            continue
        missing = [c for c in first[1] if c not in compared]
        extra = [c for c in compared if c not in first[1]]
        for column in missing:
            problems.append(Problem(candidate.label, None, column, f"compared for {first[0]} but not here "
                                                                   f"({plan.skipped.get(column, 'no such column')})"))
        for column in extra:
            problems.append(Problem(candidate.label, None, column,
                                    f"compared here but not for {first[0]}; choose the columns to compare so every "
                                    "sample is scored on the same ones"))
    if problems:
        raise AssessmentRejected(problems)
    return first[1]


def rank(assessments: dict[str, Assessment]) -> list[RankedSample]:
    """Candidates' reports in ranking order (see the module's docstring)."""
    rows = []
    for order, (label, report) in enumerate(assessments.items()):
        found = report.data.get("privacy") or {}
        names = tuple(found.get("crossed") if found.get("crossed") is not None else crossed(found))
        rows.append((label, report, privacy_risk(found), names, order))

    def key(row):
        _, report, risk, names, order = row
        score = report.humanness if report.humanness is not None else float("-inf")
        return (bool(names), -score, risk if risk is not None else float("inf"), order)

    return [RankedSample(rank=i + 1, label=label, assessment=report, privacy_risk=risk, crossed=names)
            for i, (label, report, risk, names, _) in enumerate(sorted(rows, key=key))]


def assess_candidates(human: Sample, candidates: list[Sample], holdout: Sample | None = None, *,
                      columns: list[str] | None = None, text_column: str | None = None,
                      segment_column: str | None = None, ignore: list[str] | None = None, seed: int = 0,
                      progress: Progress | None = None, sample_rows: int | None = None,
                      drift_draws: int | None = None) -> list[RankedSample]:
    """Assess every candidate against the same human sample, on the same columns and seed, and rank them."""
    check_candidates(human, candidates, holdout, columns=columns, text_column=text_column, ignore=ignore)
    reports = {}
    for index, candidate in enumerate(candidates):
        def step(fraction, message, index=index, label=candidate.label):
            if progress:
                progress((index + fraction) / len(candidates), f"{label}: {message}")
        reports[candidate.label] = assess(human, candidate, holdout, columns=columns, text_column=text_column,
                                          segment_column=segment_column, ignore=ignore, seed=seed,
                                          progress=step, sample_rows=sample_rows, drift_draws=drift_draws)
    return rank(reports)
