"""A humanness report as a reader sees it: display tables and sentences, on one scale.

The stored report keeps its own units (metric scores in 0–1, shares in 0–1); everything here converts for
display only. Scores are shown on 0–100 with one decimal, shares as whole percents, counts as integers (the
page adds thousands separators, see ``number_formats``), so no table carries a long float. Pure functions of
an ``Assessment`` (no Streamlit), so the page only lays them out.
"""

from __future__ import annotations

import math

import pandas as pd

import strategy.quality.metrics as registry
from strategy.quality.privacy import limits_of, privacy_flags
from strategy.quality.report import GAP_GRADES, Assessment

SCORE = "Score (0–100)"
FLOOR = "Human vs human (0–100)"
BAND = "Sampling alone reaches (0–100)"
HUMAN_ROWS, SYNTHETIC_ROWS = "Human rows", "Synthetic rows"
RANK, SAMPLE, RISK, CROSSED = "Rank", "Synthetic sample", "Privacy risk", "Thresholds crossed"
WEAKEST_SHOWN = 3
VERDICTS = ("ok", "check", "flagged")
# A score this close to what human data scores against itself is within sampling noise: the report's own A.
NOISE_POINTS = GAP_GRADES[0][0]
NOISE_NOTE = (f"Within sampling noise: at or above what sampling alone reaches (numbers and dates), otherwise "
              f"within {NOISE_POINTS:g} points of human vs human.")
# Softer than the warnings (strategy.quality.tabular.privacy_flags, which decide "flagged"): worth a look.
CLOSER_TO_TRAINING_CHECK = 0.55

HELP = {
    SCORE: "Synthetic against human, 0–100: 100 is as the human data is.",
    FLOOR: "The same score between two random halves of the human sample: what human data reaches against "
           "itself at this size.",
    BAND: "100 × (1 − the KS statistic that two samples of the same data exceed 5% of the time): a score above "
          "this is within sampling noise.",
    RISK: "The privacy measures on one axis: 0 is what no memorisation gives, 1 is a threshold reached (the largest "
          "measure's share of the way to its threshold).",
}


# ----------------------------------------------------------------------------- rounding
def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def points(value: float | None) -> float | None:
    """A 0–1 score on 0–100, one decimal."""
    return None if _missing(value) else round(100.0 * float(value), 1)


def whole_percent(share: float | None) -> int | None:
    """A 0–1 share as a whole percent, for a numeric column headed "(%)"."""
    return None if _missing(share) else math.floor(100.0 * float(share) + 0.5)  # halves up, as a reader rounds


def percent(share: float | None) -> str:
    """A 0–1 share as a whole percent in words; a share that rounds to 0 or 100 without being it says so."""
    if _missing(share):
        return "–"
    share = float(share)
    if 0 < share < 0.005:
        return "<1%"
    if 0.995 <= share < 1:
        return ">99%"
    return f"{whole_percent(share)}%"


def score_text(value: float | None) -> str:
    """A 0–100 score in words: one decimal."""
    return "–" if _missing(value) else f"{value:.1f}"


def _integers(values) -> pd.Series:
    return pd.Series(values, dtype="Int64")


def _scores(values) -> pd.Series:
    return pd.Series([points(v) for v in values], dtype="float64")


def number_formats(frame: pd.DataFrame) -> dict[str, str]:
    """printf formats for a display frame's numeric columns, by heading: scores one decimal, percents whole,
    counts with thousands separators, correlations two decimals."""
    formats = {}
    for column in frame.columns:
        if column.endswith("(0–100)"):
            formats[column] = "%.1f"
        elif column.endswith("(%)"):
            formats[column] = "%d"
        elif column in (HUMAN_ROWS, SYNTHETIC_ROWS):
            formats[column] = "%,d"
        elif column.startswith("Correlation") or column == RISK:
            formats[column] = "%.2f"
    return formats


# ----------------------------------------------------------------------------- tables
def metrics_frame(report: Assessment) -> pd.DataFrame:
    """One row per scored metric: score and floor on 0–100 (one decimal), weight as a whole percent."""
    table = report.metrics_table()
    return pd.DataFrame({
        "Modality": table["modality"], "Metric": table["metric"],
        SCORE: table["score"].astype("float64").round(1), FLOOR: table["floor"].astype("float64").round(1),
        "Weight (%)": _integers([whole_percent(w) for w in table["weight"]]),
    })


def _tabular(report: Assessment) -> dict:
    return report.data["modalities"].get("tabular") or {}


def _floor_rows(report: Assessment, part: str, key: str) -> dict:
    """The human-vs-human rows of one tabular part, by column or pair; empty without a floor."""
    rows = (_tabular(report).get("floor_metrics") or {}).get(part) or []
    return {row[key]: row for row in rows}


def _notes(rows: list[dict]) -> dict:
    return {"Note": [row.get("note") or "" for row in rows]} if any(row.get("note") for row in rows) else {}


def shapes_frame(report: Assessment) -> pd.DataFrame:
    """Per column: its shape score, what human data scores against itself, and (numbers, dates) the score
    sampling alone reaches, all on 0–100."""
    rows = (_tabular(report).get("metrics") or {}).get("shapes") or []
    floors = _floor_rows(report, "shapes", "column")
    frame = {"Column": [row["column"] for row in rows], "Kind": [row.get("kind") for row in rows],
             "Metric": [row.get("metric") for row in rows], SCORE: _scores(row.get("score") for row in rows)}
    if floors:
        frame[FLOOR] = _scores(floors.get(row["column"], {}).get("score") for row in rows)
    if any(not _missing(row.get("noise_band")) for row in rows):
        frame[BAND] = _scores(row.get("noise_band") for row in rows)
    return pd.DataFrame(frame | _notes(rows))


def pair_name(row: dict) -> str:
    return f"{row['left']} × {row['right']}" if "left" in row and "right" in row else str(row.get("pair"))


def pairs_frame(report: Assessment) -> pd.DataFrame:
    """Per pair of columns: its trend score and floor on 0–100, and the two correlations for numeric pairs."""
    rows = (_tabular(report).get("metrics") or {}).get("pairs") or []
    floors = _floor_rows(report, "pairs", "pair")
    frame = {"Pair": [pair_name(row) for row in rows], "Metric": [row.get("metric") for row in rows],
             SCORE: _scores(row.get("score") for row in rows)}
    if floors:
        frame[FLOOR] = _scores(floors.get(row["pair"], {}).get("score") for row in rows)
    if any("human" in row for row in rows):
        for side in ("human", "synthetic"):
            frame[f"Correlation, {side}"] = pd.Series(
                [None if _missing(row.get(side)) else round(float(row[side]), 2) for row in rows], dtype="float64")
    return pd.DataFrame(frame | _notes(rows))


def _listed(values) -> str:
    return ", ".join(str(v) for v in values) if isinstance(values, list) else ""


def coverage_frame(report: Assessment) -> pd.DataFrame:
    """Per column: the share of the human range or categories covered and of synthetic values outside them
    (whole percents), the score and floor on 0–100, and the categories missing or new."""
    rows = (_tabular(report).get("metrics") or {}).get("coverage") or []
    floors = _floor_rows(report, "coverage", "column")
    frame = {"Column": [row["column"] for row in rows], "Measure": [row.get("measure") for row in rows],
             "Covered (%)": _integers([whole_percent(row.get("covered")) for row in rows]),
             "Outside (%)": _integers([whole_percent(row.get("outside")) for row in rows]),
             SCORE: _scores(row.get("score") for row in rows)}
    if floors:
        frame[FLOOR] = _scores(floors.get(row["column"], {}).get("score") for row in rows)
    if any(isinstance(row.get("missing_categories"), list) for row in rows):
        frame["Human categories missing"] = [_listed(row.get("missing_categories")) for row in rows]
        frame["New categories"] = [_listed(row.get("new_categories")) for row in rows]
    return pd.DataFrame(frame)


def segment_header(report: Assessment) -> str:
    """The heading of the segments table's first column: the segment column's own name."""
    column = str((report.data.get("segments") or {}).get("column") or "Value")
    return column if column not in (HUMAN_ROWS, SYNTHETIC_ROWS) and not column.endswith("(0–100)") else "Value"


def segments_frame(report: Assessment) -> pd.DataFrame:
    """Per segment value: its rows on each side (counts) and its scores on 0–100."""
    found = report.data.get("segments") or {}
    rows = found.get("rows") or []
    if not rows:
        return pd.DataFrame()
    frame = {segment_header(report): [row["value"] for row in rows],
             HUMAN_ROWS: _integers([row.get("human_rows") for row in rows]),
             SYNTHETIC_ROWS: _integers([row.get("synthetic_rows") for row in rows])}
    for name in ("shapes", "pairs", "detection"):
        if any(name in row for row in rows):
            frame[f"{registry.label('tabular', name)} (0–100)"] = _scores(row.get(name) for row in rows)
    if any("humanness" in row for row in rows):  # already on 0–100
        frame["Humanness (0–100)"] = pd.Series([None if _missing(row.get("humanness")) else
                                                round(float(row["humanness"]), 1) for row in rows], dtype="float64")
    return pd.DataFrame(frame)


def segments_notes(report: Assessment) -> list[str]:
    """What the segments table leaves out, in words."""
    found = report.data.get("segments") or {}
    notes = []
    if found.get("left_out"):
        shown = ", ".join(f"{row['value']} ({row['human_rows']:,} human, {row['synthetic_rows']:,} synthetic rows)"
                          for row in found["left_out"][:10])
        more = len(found["left_out"]) - 10
        notes.append(f"Not scored (fewer than {found.get('min_rows', 0):,} rows on a side, or beyond the most "
                     f"frequent values): {shown}" + (f" and {more:,} more." if more > 0 else "."))
    if found.get("values_only_in_synthetic"):
        notes.append("Values found only in the synthetic data: "
                     + ", ".join(str(v) for v in found["values_only_in_synthetic"]) + ".")
    return notes


def history_frame(history: pd.DataFrame) -> pd.DataFrame:
    """Stored reports for the history table: humanness and floor (already 0–100) with one decimal."""
    columns = {"created_at": "Created", "dataset_name": "Synthetic dataset", "reference_name": "Human reference",
               "task_name": "Task", "modality": "Modality", "humanness": "Humanness (0–100)", "floor": FLOOR,
               "grade": "Grade", "created_by": "By"}
    frame = history[[c for c in columns if c in history.columns]].rename(columns=columns)
    if "Created" in frame:  # to the minute: the seconds tell a reader nothing
        frame["Created"] = pd.to_datetime(frame["Created"], errors="coerce").dt.strftime("%Y-%m-%d %H:%M")
    for column in ("Humanness (0–100)", FLOOR):
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64").round(1)
    return frame


# ----------------------------------------------------------------------------- the weakest, in words
def _within_noise(score: float, floor: float | None, band: float | None) -> bool | None:
    """Whether a score is as high as sampling alone would leave it: at or above the noise band where there is
    one, else within NOISE_POINTS of what human data scores against itself; None when the report has neither."""
    if band is not None:
        return score >= band
    if floor is not None:
        return score >= floor - NOISE_POINTS
    return None


def _weakest(items: list[dict], noun: str, plural: str) -> str | None:
    """items: name, score, floor, band (0–100 or None). The lowest scores, each beside its floor and band."""
    items = [item for item in items if item["score"] is not None]
    if not items:
        return None
    ranked = sorted(items, key=lambda item: item["score"])
    for item in ranked:
        item["within"] = _within_noise(item["score"], item["floor"], item["band"])

    def described(item):
        parts = [score_text(item["score"])]
        if item["floor"] is not None:
            parts.append(f"human vs human {score_text(item['floor'])}")
        if item["band"] is not None:
            parts.append(f"sampling alone reaches {score_text(item['band'])}")
        if item["within"] and len(ranked) > 1:
            parts.append("within sampling noise")
        return f"{item['name']} ({', '.join(parts)})"

    if all(item["within"] for item in ranked):
        lowest = described(ranked[0] | {"within": False})
        if len(ranked) == 1:
            return f"The only {noun} is within sampling noise of human data: {lowest}."
        return f"All {len(ranked):,} {plural} are within sampling noise of human data; the lowest is {lowest}."
    shown = ranked[:WEAKEST_SHOWN]
    label = f"Weakest {noun}" if len(shown) == 1 else f"Weakest {plural}"
    return f"{label}: " + ", ".join(described(item) for item in shown) + "."


def weakest_columns(report: Assessment) -> str | None:
    """The lowest column-shape scores in words, e.g. "Weakest columns: amount (61.2, human vs human 93.0), …";
    a sentence of its own when every column is within sampling noise; None without table columns."""
    rows = (_tabular(report).get("metrics") or {}).get("shapes") or []
    floors = _floor_rows(report, "shapes", "column")
    return _weakest([{"name": row["column"], "score": points(row.get("score")),
                      "floor": points(floors.get(row["column"], {}).get("score")),
                      "band": points(row.get("noise_band"))} for row in rows], "column", "columns")


def weakest_pairs(report: Assessment) -> str | None:
    """The lowest column-pair trend scores in words, beside what human data scores against itself."""
    rows = (_tabular(report).get("metrics") or {}).get("pairs") or []
    floors = _floor_rows(report, "pairs", "pair")
    return _weakest([{"name": pair_name(row), "score": points(row.get("score")),
                      "floor": points(floors.get(row["pair"], {}).get("score")), "band": None} for row in rows],
                    "pair", "pairs")


# ----------------------------------------------------------------------------- privacy
def _distance(value: float) -> str:
    return f"{value:.3g}"


def _distance_safe(baseline: float, *, check: bool) -> str:
    if baseline <= 0:
        return "any: human rows lie at distance 0 from each other too"
    safe = f"at least {_distance(0.5 * baseline)} (half of {_distance(baseline)}, the human rows' own)"
    return safe + (f"; below {_distance(baseline)} is worth a check" if check else "")


def _flagged(found: dict, keys: tuple[str, ...]) -> bool:
    """Whether the warnings' own rule flags this measure (only its keys passed, so no other measure counts)."""
    return bool(privacy_flags({key: found[key] for key in (*keys, "thresholds") if key in found}))


def privacy_frame(report: Assessment) -> pd.DataFrame:
    """One row per privacy measure the report holds: its value, what is safe, a verdict ("ok", "check",
    "flagged") and what it means. "flagged" is exactly what the report's warnings flag."""
    found = report.data.get("privacy") or {}
    rows = []
    if "exact_copies" in found:
        share, baseline = found.get("exact_copy_share") or 0.0, found.get("baseline_copy_share")
        synthetic_rows = (report.data.get("synthetic") or {}).get("rows")
        of = f" of {synthetic_rows:,}" if isinstance(synthetic_rows, int) else ""
        margin = limits_of(found)["copy_margin"]
        if baseline is None:
            safe = "none (no human baseline to compare with)"
        else:
            safe = (f"at most {percent(baseline + margin)}: human rows repeat each other at {percent(baseline)}, "
                    f"plus {100 * margin:g} point{'' if margin == 0.01 else 's'}, judged by the lower end of the "
                    "95% interval")
        keys = ("exact_copy_share", "exact_copy_interval", "baseline_copy_share")
        verdict = "flagged" if _flagged(found, keys) else "check" if found["exact_copies"] > 0 else "ok"
        interval = found.get("exact_copy_interval")
        within = f"; 95%: {percent(interval[0])}–{percent(interval[1])}" if interval and found["exact_copies"] else ""
        rows.append({"Measure": "Exact copies of human rows",
                     "Value": f"{found['exact_copies']:,}{of} rows ({percent(share)}{within})", "What is safe": safe,
                     "Verdict": verdict,
                     "Meaning": "Synthetic rows identical to a human row on every compared column: copies, not "
                                "new data."})
    if "dcr_median" in found and "dcr_baseline_median" in found:
        value, baseline = found["dcr_median"], found["dcr_baseline_median"]
        verdict = "flagged" if _flagged(found, ("dcr_median", "dcr_baseline_median")) else \
            "check" if value < baseline else "ok"
        rows.append({"Measure": "Distance to the closest human row (median)", "Value": _distance(value),
                     "What is safe": _distance_safe(baseline, check=True),
                     "Verdict": verdict,
                     "Meaning": "How far a typical synthetic row lies from its closest human row, against how far "
                                "human rows lie from each other: much closer suggests near-copies."})
    if "dcr_fifth_percentile" in found and "dcr_baseline_fifth_percentile" in found:
        value, baseline = found["dcr_fifth_percentile"], found["dcr_baseline_fifth_percentile"]
        rows.append({"Measure": "Distance to the closest human row (closest 5%)", "Value": _distance(value),
                     "What is safe": _distance_safe(baseline, check=False),
                     "Verdict": "check" if value < 0.5 * baseline else "ok",
                     "Meaning": "The same for the closest 5% of synthetic rows: a few near-copies show here "
                                "before they move the median."})
    limits = limits_of(found)
    if "closer_to_training_share" in found:
        value = found["closer_to_training_share"]
        verdict = "flagged" if _flagged(found, ("closer_to_training_share",)) else \
            "check" if value > CLOSER_TO_TRAINING_CHECK else "ok"
        interval = found.get("closer_to_training_interval")
        shown = percent(value) + (f" (95%: {percent(interval[0])}–{percent(interval[1])})" if interval else "")
        rows.append({"Measure": "Closer to the training rows than to the holdout", "Value": shown,
                     "What is safe": f"about 50%; above {percent(CLOSER_TO_TRAINING_CHECK)} is worth a check, "
                                     f"above {percent(limits['dcr_share'])} is flagged",
                     "Verdict": verdict,
                     "Meaning": "Synthetic rows nearer the human rows the generator saw than unseen ones suggest "
                                "it memorises them."})
    if "nndr_median" in found and "nndr_baseline_median" in found:
        value, baseline = found["nndr_median"], found["nndr_baseline_median"]
        verdict = "flagged" if _flagged(found, ("nndr_median", "nndr_baseline_median")) else \
            "check" if value < baseline else "ok"
        rows.append({"Measure": "Nearest-neighbour distance ratio (median)", "Value": f"{value:.2f}",
                     "What is safe": f"at least {limits['nndr_ratio'] * baseline:.2f} ({limits['nndr_ratio']:g} × "
                                     f"{baseline:.2f}, the holdout rows' own)",
                     "Verdict": verdict,
                     "Meaning": "Distance to the closest training row over the distance to the second closest: "
                                "near 0, a synthetic row stands next to one person's row."})
    if "membership_auc" in found:
        value, interval = found["membership_auc"], found.get("membership_auc_interval") or [value, value]
        verdict = "flagged" if _flagged(found, ("membership_auc",)) else "check" if interval[0] > 0.5 else "ok"
        rows.append({"Measure": "Membership inference (distance attack)",
                     "Value": f"AUC {value:.2f} (95%: {interval[0]:.2f}–{interval[1]:.2f})",
                     "What is safe": f"about 0.5; from {limits['membership_auc']:.2f} it is flagged",
                     "Verdict": verdict,
                     "Meaning": "How well an attacker tells the rows the generator was trained on from unseen "
                                "ones by how close synthetic rows come to them: 0.5 is chance."})
    return pd.DataFrame(rows, columns=["Measure", "Value", "What is safe", "Verdict", "Meaning"])


def privacy_notes(report: Assessment) -> list[str]:
    """How the privacy measures were taken, and what was not measured, in words."""
    found = report.data.get("privacy") or {}
    notes = []
    if found.get("baseline"):
        notes.append(f"Baseline: {found['baseline']}.")
    if isinstance(found.get("reference_rows"), int):
        notes.append(f"Distances are measured against {found['reference_rows']:,} human rows.")
    if found.get("note"):
        notes.append(f"{found['note'][0].upper()}{found['note'][1:]}.")
    if "closer_to_training_share" not in found and not report.data.get("holdout"):
        notes.append("Memorisation is checked only with a human holdout (human rows the generator never saw).")
    return notes


# ----------------------------------------------------------------------------- text
def _pair(found: dict, key: str, show) -> str | None:
    sides = found.get(key)
    if not isinstance(sides, dict) or "human" not in sides or "synthetic" not in sides:
        return None
    return f"{show(sides['human'])} human vs {show(sides['synthetic'])} synthetic"


def _median(value) -> str:
    return "–" if _missing(value) else f"{value:,.0f}"


def _auc(found: dict) -> str | None:
    if not isinstance(found, dict) or "auc" not in found:
        return None
    return (f"AUC {found['auc']:.2f} (folds {found['auc_low']:.2f}–{found['auc_high']:.2f}; 0.5 = cannot tell "
            "human from synthetic)")


def _text_details(name: str, found: dict) -> str:
    """One line of what a text metric found, rounded to what it can tell."""
    if not isinstance(found, dict):
        return ""
    parts: list[str | None] = []
    if name == "structure":
        for measure, sides in (found.get("measures") or {}).items():
            parts.append(f"median {measure} {_median(sides.get('human_median'))} human vs "
                         f"{_median(sides.get('synthetic_median'))} synthetic")
    elif name == "lexical":
        parts += [None if (text := _pair(found, "distinct_1", percent)) is None else f"distinct-1 {text}",
                  None if (text := _pair(found, "distinct_2", percent)) is None else f"distinct-2 {text}"]
        if "vocabulary_overlap" in found:
            parts.append(f"vocabulary overlap {percent(found['vocabulary_overlap'])}")
        if "unigram_jsd" in found:
            parts.append(f"word-frequency divergence {found['unigram_jsd']:.2f} (0 = the same)")
    elif name == "repetition":
        parts += [None if (text := _pair(found, "duplicates", percent)) is None else f"exact duplicates {text}",
                  None if (text := _pair(found, "near_duplicates", percent)) is None
                  else f"near duplicates {text}"]
    elif name == "detection":
        parts.append(_auc(found.get("tfidf_logistic")))
    elif name == "fidelity":
        parts += [f"{key} {percent(found[key])}" for key in ("precision", "recall", "coverage") if key in found]
        if "density" in found:
            parts.append(f"density {found['density']:.2f}")
    if found.get("note"):
        parts.append(str(found["note"]))
    return "; ".join(part for part in parts if part)


def _found(modality: str, name: str, result) -> str:
    """What a metric found, in one line: its own description when it registered one."""
    metric = registry.metric(modality, name)
    if metric is not None and metric.describe is not None and result is not None:
        return metric.describe(result)
    return _text_details(name, result)


def text_frame(report: Assessment) -> pd.DataFrame:
    """One row per text metric: score and floor on 0–100 and one line of what it found."""
    section = report.data["modalities"].get("text")
    if not section:
        return pd.DataFrame()
    metrics, floors = section.get("metrics") or {}, section.get("floor_scores") or {}
    names = list((report.data.get("weights") or {}).get("text") or registry.weights("text"))
    frame = {"Metric": [registry.label("text", name) for name in names],
             SCORE: _scores((section.get("scores") or {}).get(name) for name in names)}
    if floors:
        frame[FLOOR] = _scores(floors.get(name) for name in names)
    frame["What it found"] = [_found("text", name, metrics.get(name)) for name in names]
    return pd.DataFrame(frame)


def text_caption(report: Assessment) -> str | None:
    section = report.data["modalities"].get("text")
    if not section:
        return None
    counted = (section.get("metrics") or {}).get("texts_per_side") or section.get("texts") or [0, 0]
    return (f"Text column {section.get('column')}: {counted[0]:,} human and {counted[1]:,} synthetic texts "
            "compared.")


# ----------------------------------------------------------------------------- several generators ranked
def ranking_frame(ranked) -> pd.DataFrame:
    """One row per ranked synthetic sample (strategy.quality.ranking), best first: humanness beside its noise
    floor, the grade, the privacy risk and which thresholds it crosses."""
    rows = [{RANK: item.rank, SAMPLE: item.label, SCORE: _one_decimal(item.humanness),
             FLOOR: _one_decimal(item.floor), "Grade": item.grade,
             RISK: None if item.privacy_risk is None else round(item.privacy_risk, 2),
             CROSSED: ", ".join(item.crossed) if item.crossed else "none"} for item in ranked]
    return pd.DataFrame(rows, columns=[RANK, SAMPLE, SCORE, FLOOR, "Grade", RISK, CROSSED])


def _one_decimal(value: float | None) -> float | None:
    """A report's 0–100 score (already in points), one decimal."""
    return None if _missing(value) else round(float(value), 1)


def ranking_sentence(ranked) -> str:
    """The ranking in one sentence: the best sample, its lead over the next, and any that leak."""
    if not ranked:
        return ""
    best = ranked[0]
    words = f"{best.label} ranks first with humanness {score_text(best.humanness)}"
    if len(ranked) > 1 and best.humanness is not None and ranked[1].humanness is not None:
        words += f", {best.humanness - ranked[1].humanness:.1f} points ahead of {ranked[1].label}"
    leaking = [r.label for r in ranked if r.crossed]
    if leaking:
        one = len(leaking) == 1
        words += (f"; {', '.join(leaking)} cross{'es' if one else ''} a privacy threshold and "
                  f"rank{'s' if one else ''} last")
    return words + "."
