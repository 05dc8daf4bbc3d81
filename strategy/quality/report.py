"""The humanness assessment: every metric, its noise floor, one score with a grade, per-segment scores,
and storing the result in the catalog where the decisions use it.

The noise floor is the same metrics computed between two random halves of the
human sample: what human data scores against itself at this sample size. A
score is read against it, and the grade is the gap between the two.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

import strategy.quality.metrics as registry
from strategy.errors import StrategyError
from strategy.models import QualityReport
from strategy.quality.columns import (
    ColumnPlan,
    Encoder,
    Sample,
    as_labels,
    as_numbers,
    plan_columns,
    sample_rows,
    split_halves,
)
from strategy.quality.metrics import ComparedSamples
from strategy.quality.privacy import crossed, privacy, privacy_flags
from strategy.quality.subsample import (
    draw_count,
    leaves_rows_out,
    redrawn_scores,
    sample_size,
    subsampled_metrics,
)
from strategy.quality.tabular import column_pairs, column_shapes, detection
from strategy.quality.text import clean_texts, equal_samples
from strategy.threads import bounded

SCHEMA = "strategy.humanness/1"
# Privacy is reported beside the score, never inside it: a copy of the human data is perfectly human-like and
# still unusable. The metrics and their weights are registered in strategy.quality.metrics.
# Grades on the gap to the noise floor, in points: within sampling noise of human data is an A.
GAP_GRADES = ((2.5, "A"), (7.5, "B"), (15.0, "C"), (25.0, "D"))
# Without a floor (too few human rows to halve), grades on the score itself.
SCORE_GRADES = ((90.0, "A"), (80.0, "B"), (70.0, "C"), (60.0, "D"))
FLOOR_MIN_ROWS = 20
SEGMENTS_SHOWN = 8
SEGMENT_MIN_ROWS = 20
SEGMENT_DETECTION_ROWS = 2_000

Progress = Callable[[float, str], None]


def _mean(values) -> float | None:
    kept = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(kept)) if kept else None


def weighted_score(scores: dict[str, float | None], weights: dict[str, float]) -> float | None:
    """0–100 from metric scores in 0–1; a metric that could not be computed hands its weight to the others."""
    kept = {name: value for name, value in scores.items() if value is not None and name in weights}
    if not kept:
        return None
    total = sum(weights[name] for name in kept)
    return 100.0 * sum(weights[name] * value for name, value in kept.items()) / total


def grade(humanness: float | None, floor: float | None) -> str:
    if humanness is None:
        return "–"
    if floor is not None:
        gap = floor - humanness
        return next((letter for limit, letter in GAP_GRADES if gap <= limit), "F")
    return next((letter for limit, letter in SCORE_GRADES if humanness >= limit), "F")


# ----------------------------------------------------------------------------- the metrics
def _computed(modality: str, samples: ComparedSamples, *, progress: Progress | None, span: tuple[float, float],
              label: str, given: dict | None = None) -> dict:
    """Every registered metric of the modality on one pair of samples: name → its result. A result ``given``
    (computed over every row of large files, strategy.quality.streamed) is kept instead of computed."""
    chosen = registry.metrics(modality)
    out = {}
    for position, metric in enumerate(chosen):
        if given and metric.name in given:
            out[metric.name] = given[metric.name]
            continue
        if progress:
            progress(span[0] + (span[1] - span[0]) * position / len(chosen), f"{label}: {metric.label}")
        out[metric.name] = metric.compute(samples)
    return out


def _subsample(modality: str, samples: ComparedSamples, scores: dict, draws: int) -> dict:
    """The subsample the costly metrics read (its size, which metrics) and, when it left rows out and more than
    one draw was asked for, the modality's score on each draw and its drift (largest − smallest, points)."""
    weights = registry.weights(modality)
    found = {"rows": samples.sample_rows, "metrics": subsampled_metrics(modality),
             "all_rows": not leaves_rows_out(samples),
             "draws": 1, "drift": None}
    redrawn = redrawn_scores(modality, samples, scores, draws)
    values = [v for v in [weighted_score(scores, weights)] + [weighted_score(r, weights) for r in redrawn]
              if v is not None]
    if len(values) > 1:
        found |= {"draws": len(values), "humanness": values, "drift": max(values) - min(values)}
    return found


def _scores(modality: str, results: dict) -> dict[str, float | None]:
    return {metric.name: metric.score(results[metric.name]) for metric in registry.metrics(modality)
            if metric.name in results}


def _text_samples(human: pd.Series, synthetic: pd.Series, seed: int) -> tuple[ComparedSamples, list[int]]:
    h, s = equal_samples(human, synthetic, seed=seed)
    return ComparedSamples(h, s, seed), [len(h), len(s)]


def segments(human: pd.DataFrame, synthetic: pd.DataFrame, plan: ColumnPlan, column: str, *, seed: int) -> dict:
    """Scores within each value of one column (the most frequent values with enough rows on both sides):
    shapes, pair trends and a logistic detector, weighted as in the overall score."""
    inner = ColumnPlan(kinds={k: v for k, v in plan.kinds.items() if k != column and v != "text"})
    weights = {k: w for k, w in registry.weights("tabular").items() if k in ("shapes", "pairs", "detection")}
    key_h, key_s = as_labels(human[column]), as_labels(synthetic[column])
    counts_h, counts_s = key_h.value_counts(), key_s.value_counts()
    rows, left_out = [], []
    for value in counts_h.index:
        n_h, n_s = int(counts_h.get(value, 0)), int(counts_s.get(value, 0))
        if len(rows) >= SEGMENTS_SHOWN or min(n_h, n_s) < SEGMENT_MIN_ROWS:
            left_out.append({"value": value, "human_rows": n_h, "synthetic_rows": n_s})
            continue
        h, s = human[key_h == value], synthetic[key_s == value]
        row = {"value": value, "human_rows": n_h, "synthetic_rows": n_s}
        if inner.tabular:
            encoder = Encoder(inner).fit(h)
            found = {"shapes": _mean(r["score"] for r in column_shapes(h, s, inner)),
                     "pairs": _mean(r["score"] for r in column_pairs(h, s, inner)),
                     "detection": detection(encoder.transform(sample_rows(h, SEGMENT_DETECTION_ROWS, seed)),
                                            encoder.transform(sample_rows(s, SEGMENT_DETECTION_ROWS, seed + 1)),
                                            seed=seed, models=("logistic",))["score"]}
            row |= found | {"humanness": weighted_score(found, weights)}
        rows.append(row)
    new_values = sorted(set(counts_s.index) - set(counts_h.index))[:10]
    return {"column": column, "rows": rows, "left_out": left_out, "min_rows": SEGMENT_MIN_ROWS,
            "values_only_in_synthetic": new_values}


def subsample_sentence(found: dict) -> str:
    """What the subsampled metrics read, and how much the score moved between draws, in words."""
    names = ", ".join(registry.label("tabular", name) for name in found.get("metrics", [])) or "no metric"
    if found.get("all_rows"):
        return f"{names}: all rows (each side within the subsample size, {found['rows']:,} rows)"
    words = f"{names}: a seeded subsample of {found['rows']:,} rows per side"
    if found.get("drift") is None:
        return words + "; drift not measured (one draw)"
    return words + f"; over {found['draws']} subsamples the score moved by {found['drift']:.2f} points (drift)"


# ----------------------------------------------------------------------------- the assessment
@dataclass
class Assessment:
    """A humanness report: plain JSON-able data (stored as is) with readers for the pages and the CLI."""

    data: dict

    @property
    def humanness(self) -> float | None:
        return self.data["humanness"]

    @property
    def floor(self) -> float | None:
        return self.data["floor"]

    @property
    def grade(self) -> str:
        return self.data["grade"]

    @property
    def modality(self) -> str:
        parts = [m for m in ("tabular", "text") if m in self.data["modalities"]]
        return parts[0] if len(parts) == 1 else "multimodal"

    def metrics_table(self) -> pd.DataFrame:
        """One row per scored metric: score and floor on 0–100, weight, and what it measures."""
        rows = []
        stored = self.data.get("weights") or {}
        for modality, section in self.data["modalities"].items():
            # A report keeps the weights it was scored with; the registry's are for one that predates them.
            weights = stored.get(modality) or registry.weights(modality)
            for name, weight in weights.items():
                score = section["scores"].get(name)
                floor = (section.get("floor_scores") or {}).get(name)
                rows.append({"modality": modality, "metric": registry.label(modality, name), "key": name,
                             "weight": weight, "score": None if score is None else 100 * score,
                             "floor": None if floor is None else 100 * floor})
        return pd.DataFrame(rows, columns=["modality", "metric", "key", "weight", "score", "floor"])

    def detectors(self, modality: str) -> list[str]:
        """One line per detection classifier: its AUC and the range over cross-validation folds."""
        found = self.data["modalities"].get(modality, {}).get("metrics", {}).get("detection", {})
        names = {"logistic": "logistic regression", "boosted_tree": "gradient-boosted tree",
                 "tfidf_logistic": "TF-IDF logistic regression"}
        return [f"{names[key]}: AUC {found[key]['auc']:.2f} (folds {found[key]['auc_low']:.2f}–"
                f"{found[key]['auc_high']:.2f}; 0.5 = cannot tell human from synthetic)"
                for key in names if key in found]

    def table(self, part: str) -> pd.DataFrame:
        """Per-column shapes, per-pair trends or per-column coverage of the tabular section."""
        section = self.data["modalities"].get("tabular")
        return pd.DataFrame(section["metrics"][part]) if section else pd.DataFrame()

    def segments_table(self) -> pd.DataFrame:
        found = self.data.get("segments")
        return pd.DataFrame(found["rows"]) if found else pd.DataFrame()

    def summary(self) -> str:
        """The report as plain text: the score against its floor, each metric, privacy, skips and segments."""
        d = self.data

        def points(value):
            return "–" if value is None else f"{value:.1f}"

        lines = [f"Humanness {points(d['humanness'])} / 100, grade {d['grade']} "
                 f"(human data against itself: {points(d['floor'])})",
                 f"  human: {d['human']['label']} ({d['human']['rows']:,} rows); synthetic: "
                 f"{d['synthetic']['label']} ({d['synthetic']['rows']:,} rows)"]
        if d.get("floor_note"):
            lines.append(f"  {d['floor_note']}")
        table = self.metrics_table()
        for modality, section in d["modalities"].items():
            lines.append(f"  {modality}: {points(section['humanness'])} (floor {points(section['floor'])}, "
                         f"grade {section['grade']})")
            if section.get("subsample"):
                lines.append(f"    {subsample_sentence(section['subsample'])}")
            for row in table[table["modality"] == modality].itertuples():
                score = f"{'–':>5}" if pd.isna(row.score) else f"{row.score:5.1f}"
                floor = f"{'–':>5}" if pd.isna(row.floor) else f"{row.floor:5.1f}"
                lines.append(f"    {row.metric:<32} {score}  floor {floor}  weight {row.weight:.2f}")
            lines += [f"      {line}" for line in self.detectors(modality)]
        found = d.get("privacy") or {}
        lines.append(f"  privacy: {found.get('exact_copies', 0):,} exact copies of human rows "
                     f"({found.get('exact_copy_share', 0):.1%}; human rows repeat each other at "
                     f"{found.get('baseline_copy_share', 0):.1%})")
        if "dcr_median" in found:
            lines.append(f"    median distance to the closest human row {found['dcr_median']:.3g} "
                         f"(human rows among themselves: {found['dcr_baseline_median']:.3g})")
        if "closer_to_training_share" in found:
            low, high = found.get("closer_to_training_interval") or (math.nan, math.nan)
            lines.append(f"    closer to the training rows than to the holdout: "
                         f"{found['closer_to_training_share']:.1%} (95%: {low:.1%}–{high:.1%}; about 50% is expected)")
        if "nndr_median" in found:
            lines.append(f"    nearest-neighbour distance ratio {found['nndr_median']:.2f} "
                         f"(holdout rows: {found['nndr_baseline_median']:.2f})")
        if "membership_auc" in found:
            low, high = found["membership_auc_interval"]
            lines.append(f"    membership inference AUC {found['membership_auc']:.2f} (95%: {low:.2f}–{high:.2f}; "
                         "0.5 is chance)")
        lines += [f"    WARNING: {flag}" for flag in found.get("flags", [])]
        for column, reason in d["skipped"].items():
            lines.append(f"  skipped {column}: {reason}")
        if d.get("segments"):
            lines.append(f"  by {d['segments']['column']}:")
            for row in d["segments"]["rows"]:
                lines.append(f"    {row['value']:<24} {points(row.get('humanness'))}  "
                             f"({row['human_rows']:,} human, {row['synthetic_rows']:,} synthetic rows)")
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(self.data, default=_jsonable, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> Assessment:
        return cls(json.loads(text))


def _jsonable(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _clean(value):
    """NaN and infinity have no JSON form; they become null (the report says why where it matters)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


@bounded  # a busy server is never idle: scikit-learn's OpenMP and BLAS threads spin while waiting for a core
def assess(human: Sample, synthetic: Sample, holdout: Sample | None = None, *, columns: list[str] | None = None,
           text_column: str | None = None, segment_column: str | None = None, ignore: list[str] | None = None,
           seed: int = 0, progress: Progress | None = None, sample_rows: int | None = None,
           drift_draws: int | None = None, exact: dict | None = None) -> Assessment:
    """Compare a synthetic sample with a human one; deterministic for a given seed.

    Raises AssessmentRejected when the samples cannot be compared at all;
    columns that cannot be compared are listed in the report with the reason.
    ``exact`` is for samples drawn from larger files (strategy.quality.streamed): the table metrics computed
    over every row (``metrics``, ``floor_metrics``), the files' row counts (``rows``) and what it says
    (``streamed``).
    """
    exact = exact or {}
    rows = sample_size(sample_rows)
    draws = draw_count(drift_draws, max(len(human.frame), len(synthetic.frame)))
    plan = plan_columns(human, synthetic, holdout, columns=columns, text_column=text_column,
                        segment_column=segment_column, ignore=ignore)
    h_frame, s_frame = human.frame.reset_index(drop=True), synthetic.frame.reset_index(drop=True)
    can_halve = len(h_frame) >= FLOOR_MIN_ROWS
    modalities: dict[str, dict] = {}
    if plan.tabular:
        compared = ComparedSamples(h_frame, s_frame, seed, plan, rows)
        section = {"columns": {n: plan.kinds[n] for n in plan.tabular},
                   "metrics": _computed("tabular", compared, progress=progress, span=(0.0, 0.40), label="tables",
                                        given=exact.get("metrics"))}
        section["scores"] = _scores("tabular", section["metrics"])
        if progress and draws > 1:
            progress(0.40, "tables: other subsamples (drift)")
        section["subsample"] = _subsample("tabular", compared, section["scores"], draws)
        if can_halve:
            half_a, half_b = split_halves(h_frame, seed)
            section["floor_metrics"] = _computed("tabular", ComparedSamples(half_a, half_b, seed, plan, rows),
                                                 progress=progress, span=(0.45, 0.75), label="noise floor",
                                                 given=exact.get("floor_metrics"))
            section["floor_scores"] = _scores("tabular", section["floor_metrics"])
        modalities["tabular"] = section
    if plan.text_column:
        h_text, s_text = clean_texts(h_frame[plan.text_column]), clean_texts(s_frame[plan.text_column])
        compared, per_side = _text_samples(h_text, s_text, seed)
        section = {"column": plan.text_column, "texts": [len(h_text), len(s_text)],
                   "metrics": {"texts_per_side": per_side} | _computed("text", compared, progress=progress,
                                                                       span=(0.75, 0.87), label="text")}
        section["scores"] = _scores("text", section["metrics"])
        if len(h_text) >= FLOOR_MIN_ROWS:
            order = np.random.default_rng(seed).permutation(len(h_text))
            half = len(h_text) // 2
            compared, per_side = _text_samples(h_text.iloc[order[:half]].reset_index(drop=True),
                                               h_text.iloc[order[half:]].reset_index(drop=True), seed)
            section["floor_metrics"] = {"texts_per_side": per_side} | _computed(
                "text", compared, progress=progress, span=(0.87, 0.94), label="noise floor")
            section["floor_scores"] = _scores("text", section["floor_metrics"])
        modalities["text"] = section
    if progress:
        progress(0.95, "privacy")
    compared = plan.tabular + ([plan.text_column] if plan.text_column else [])
    found_privacy = privacy(h_frame, s_frame, plan, Encoder(plan).fit(h_frame), seed=seed, columns=compared,
                            holdout=None if holdout is None else holdout.frame.reset_index(drop=True))
    found_privacy["crossed"] = crossed(found_privacy)
    found_privacy["flags"] = privacy_flags(found_privacy)
    for name, section in modalities.items():
        weights = registry.weights(name)
        section["humanness"] = weighted_score(section["scores"], weights)
        section["floor"] = weighted_score(section["floor_scores"], weights) if "floor_scores" in section else None
        section["grade"] = grade(section["humanness"], section["floor"])
    humanness = _mean(s["humanness"] for s in modalities.values())
    floors = [s["floor"] for s in modalities.values()]
    floor = _mean(floors) if all(f is not None for f in floors) else None
    data = {
        "schema": SCHEMA, "humanness": humanness, "floor": floor, "grade": grade(humanness, floor),
        "human": {"label": human.label, "rows": exact.get("rows", {}).get("human", len(h_frame))},
        "synthetic": {"label": synthetic.label, "rows": exact.get("rows", {}).get("synthetic", len(s_frame))},
        "holdout": None if holdout is None else
        {"label": holdout.label, "rows": exact.get("rows", {}).get("holdout", len(holdout.frame))},
        "skipped": plan.skipped, "seed": seed, "modalities": modalities, "privacy": found_privacy,
        "weights": {modality: registry.weights(modality) for modality in registry.MODALITIES},
        "floor_note": None if floor is not None else
        f"no noise floor: the human sample needs at least {FLOOR_MIN_ROWS} rows to be halved",
    }
    if "streamed" in exact:
        data["streamed"] = exact["streamed"]
    if segment_column and plan.tabular and segment_column in plan.kinds:
        if progress:
            progress(0.97, "segments")
        data["segments"] = segments(h_frame, s_frame, plan, segment_column, seed=seed)
    if progress:
        progress(1.0, "done")
    return Assessment(_clean(data))


# ----------------------------------------------------------------------------- the catalog's record
def report_record(assessment: Assessment, *, dataset_id: str, task_id: str | None,
                  reference_dataset_id: str | None = None) -> QualityReport:
    """The catalog row for an assessment of a synthetic dataset."""
    if assessment.humanness is None:
        raise StrategyError("This assessment has no score (no metric could be computed), so it is not stored.")
    return QualityReport(dataset_id=dataset_id, reference_dataset_id=reference_dataset_id, task_id=task_id,
                         modality=assessment.modality, humanness=round(assessment.humanness, 4),
                         grade=assessment.grade, metrics_json=assessment.to_json())


def distribution(human: Sample, synthetic: Sample, column: str, *, bins: int = 30, top: int = 20) -> pd.DataFrame:
    """Shares of each sample per bin (numbers, dates) or per category (the most frequent ``top``), for the
    overlay chart: columns sample, value, share, and bin_start / bin_end for numbers."""
    h, s = human.frame[column], synthetic.frame[column]
    if is_numeric_column(human, column):
        h_values, s_values = as_numbers(h), as_numbers(s)
        finite = np.concatenate([h_values[np.isfinite(h_values)], s_values[np.isfinite(s_values)]])
        edges = np.histogram_bin_edges(finite, bins=bins) if finite.size else np.array([0.0, 1.0])
        rows = []
        for name, values in (("human", h_values), ("synthetic", s_values)):
            counts, _ = np.histogram(values[np.isfinite(values)], bins=edges)
            shares = counts / max(counts.sum(), 1)
            rows += [{"sample": name, "bin_start": float(a), "bin_end": float(b), "value": f"{a:.4g}–{b:.4g}",
                      "share": float(c)} for a, b, c in zip(edges[:-1], edges[1:], shares, strict=True)]
        return pd.DataFrame(rows)
    h_labels, s_labels = as_labels(h), as_labels(s)
    keep = h_labels.value_counts().index[:top].union(s_labels.value_counts().index[:top])
    rows = []
    for name, labels in (("human", h_labels), ("synthetic", s_labels)):
        shares = labels.value_counts(normalize=True)
        rows += [{"sample": name, "value": value, "share": float(shares.get(value, 0.0))} for value in keep]
    return pd.DataFrame(rows)


def is_numeric_column(sample: Sample, column: str) -> bool:
    column_values = sample.frame[column]
    return (pd.api.types.is_numeric_dtype(column_values) and not pd.api.types.is_bool_dtype(column_values)) or \
        pd.api.types.is_datetime64_any_dtype(column_values)


def assessable(datasets: pd.DataFrame, synthetic_id: str | None = None) -> tuple[list[str], list[str]]:
    """Catalog datasets with a location: synthetic candidates, and human references with the synthetic
    dataset's own task first."""
    located = datasets[datasets["location"].fillna("").str.strip() != ""]
    synthetic = located[located["source_kind"] != "human"]["id"].tolist()
    human = located[located["source_kind"] != "synthetic"]
    if synthetic_id is not None:
        task = datasets.loc[datasets["id"] == synthetic_id, "task_id"]
        own = human["task_id"].isin(task)
        human = pd.concat([human[own], human[~own]])
    return synthetic, human["id"].tolist()
