"""Privacy of a synthetic table: does it copy, or sit suspiciously close to, the human rows it was made from?

Without a holdout, the synthetic rows are compared with the human rows as human rows compare with each other
(one random half against the other). With a holdout (human rows the generator never saw) four more measures
tell memorisation apart from resemblance, each against what unseen rows show:

- **DCR share**: the share of synthetic rows closer to the training rows than to the holdout (about 50% when
  nothing is memorised), with its 95% interval;
- **identical matches**: exact copies of training rows, beside the share of holdout rows that match a training
  row exactly (what the data's own repeats give);
- **nearest-neighbour distance ratio**: distance to the closest training row ÷ distance to the second closest,
  median over synthetic rows, against the same for holdout rows (near 0: a synthetic row hugs one human row);
- **membership inference**: an attacker who calls a human row a member when some synthetic row lies close to it;
  the AUC of telling training rows from holdout rows that way, with its 95% interval (0.5: no better than chance).

Each measure has a threshold (``THRESHOLDS``, each overridable with ``STRATEGY_PRIVACY_<NAME>``); the result
stores the thresholds used and which were crossed, and the warnings say so in words. Privacy stays outside the
humanness score. Searches run on bounded samples and never build a full distance matrix; they go through
``neighbours.nearest_distances``, which skips the blocks of rows that cannot hold a nearer one.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from strategy.ingest import BadSetting, inert
from strategy.quality.columns import ColumnPlan, Encoder, as_labels, as_numbers, distinct_labels, sample_rows
from strategy.quality.neighbours import nearest_distances

PRIVACY_QUERY_ROWS = 5_000
PRIVACY_REFERENCE_ROWS = 100_000
Z95 = 1.959964


@dataclass(frozen=True)
class Threshold:
    """A line a privacy measure must not cross, with the reason it sits where it does (the README repeats it)."""

    name: str
    default: float
    rationale: str


THRESHOLDS = {t.name: t for t in (
    Threshold("copy_margin", 0.01, "exact copies above the rate at which human rows repeat each other, plus one "
                                   "point, are more than the data's own duplicates"),
    Threshold("dcr_ratio", 0.5, "a median distance to the closest human row under half of the human rows' own "
                                "means near-copies rather than new rows"),
    Threshold("dcr_share", 0.6, "with no memorisation half of the synthetic rows are closer to the training rows; "
                                "60% is well outside what sampling gives at a few thousand rows"),
    Threshold("nndr_ratio", 0.5, "a median distance ratio under half of the holdout rows' own means synthetic rows "
                                 "hug single human rows"),
    Threshold("membership_auc", 0.6, "an attack that tells members from unseen rows with an AUC of 0.6 or more "
                                     "learns something about who was in the training data"),
)}


def thresholds() -> dict[str, float]:
    """Each threshold's value: its default, or $STRATEGY_PRIVACY_<NAME> (a number between 0 and 1)."""
    found = {}
    for name, threshold in THRESHOLDS.items():
        variable = f"STRATEGY_PRIVACY_{name.upper()}"
        raw = os.environ.get(variable, "").strip()
        if not raw:
            found[name] = threshold.default
            continue
        value = float(raw) if re.fullmatch(r"[0-9]*\.?[0-9]+", raw) else math.nan
        if not 0 < value <= 1:
            raise BadSetting(f"{variable} must be a number above 0 and at most 1 (got {inert(repr(raw))}); unset "
                                f"it to use the default of {threshold.default:g}")
        found[name] = value
    return found


def row_fingerprints(frame: pd.DataFrame, plan: ColumnPlan, columns: list[str]) -> np.ndarray:
    """One hash per row over the compared columns, typed alike in both samples (ints and floats agree)."""
    combined = np.zeros(len(frame), dtype=np.uint64)
    for name in columns:
        numbers = plan.kinds[name] in ("numeric", "datetime")
        column = pd.util.hash_array(as_numbers(frame[name])) if numbers else _label_hashes(frame[name])
        # Mixed in column by column (wrapping multiplication), so that equal rows, and only they in all
        # likelihood, share a fingerprint; no frame of every row is built.
        combined = combined * np.uint64(1_000_003) ^ column
    return combined


def _label_hashes(column: pd.Series) -> np.ndarray:
    """A hash of each row's label (its text, as ``as_labels`` gives it): the same text hashes alike whatever
    the column's type. A typed column hashes each distinct value's text once instead of every row's."""
    if column.dtype == object:
        return pd.util.hash_array(as_labels(column).to_numpy(dtype=object))
    which, texts = distinct_labels(column)
    return pd.util.hash_array(texts)[which]


def found_in(hashes: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """Which of ``hashes`` occur in ``pool``: the same answer as ``np.isin``, by a hash table instead of sorting
    both (a million rows a side: 0.08 s instead of 1 s, in a profile of the 1M-row bench)."""
    return pd.Series(hashes).isin(pool).to_numpy(dtype=bool)


def wilson_interval(share: float, count: int) -> tuple[float, float]:
    """95% interval of a proportion (Wilson's score interval: sound near 0 and 1, unlike share ± 2 se)."""
    if count <= 0:
        return (0.0, 1.0)
    centre = (share + Z95 ** 2 / (2 * count)) / (1 + Z95 ** 2 / count)
    half = Z95 * math.sqrt(share * (1 - share) / count + Z95 ** 2 / (4 * count ** 2)) / (1 + Z95 ** 2 / count)
    return (max(0.0, centre - half), min(1.0, centre + half))


def auc_interval(auc: float, positives: int, negatives: int) -> tuple[float, float]:
    """95% interval of an AUC from Hanley and McNeil's (1982) standard error."""
    q1, q2 = auc / (2 - auc), 2 * auc ** 2 / (1 + auc)
    variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc ** 2) + (negatives - 1) * (q2 - auc ** 2)) / \
        (positives * negatives)
    half = Z95 * math.sqrt(max(variance, 0.0))
    return (max(0.0, auc - half), min(1.0, auc + half))


def _distance_ratio(distances: np.ndarray) -> float:
    """Median of closest ÷ second-closest distance (``distances``: each query's two nearest); a query with both
    at 0 (a row repeated in the reference) counts as 1, since it singles out no one."""
    first, second = distances[:, 0], distances[:, 1]
    ratio = np.divide(first, second, out=np.ones_like(first), where=second > 0)
    return float(np.median(ratio))


def privacy(human: pd.DataFrame, synthetic: pd.DataFrame, plan: ColumnPlan, encoder: Encoder, *, seed: int,
            holdout: pd.DataFrame | None = None, columns: list[str] | None = None) -> dict:
    """Exact copies (over every compared column, text included), distance to the closest human record, and
    (with a holdout) the measures of memorisation in the module's docstring."""
    columns = columns or plan.tabular
    human_hashes = row_fingerprints(human, plan, columns)
    synthetic_hashes = row_fingerprints(synthetic, plan, columns)
    copies = found_in(synthetic_hashes, human_hashes)
    result = {"exact_copies": int(copies.sum()), "exact_copy_share": float(copies.mean()),
              "exact_copy_interval": list(wilson_interval(float(copies.mean()), len(copies))),
              "thresholds": thresholds()}

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(human))
    half = len(human) // 2
    if holdout is None:
        reference, baseline = human.iloc[order[:half]], human.iloc[order[half:]]
        result["baseline"] = "a random half of the human rows, against the other half"
    else:
        reference, baseline = human, holdout
        result["baseline"] = "the holdout rows, against the human rows"
    if len(reference) < 1 or len(baseline) < 1:
        result["note"] = "too few human rows for a baseline"
        return result
    if holdout is None:
        # How often a human row repeats another human row, each against all the others: the same number of rows
        # a synthetic row is checked against. Half against half checked each row against half as many, so on
        # data with natural duplicates a fresh sample of the same population read as copying (measured: 300
        # rows of a rounded amount and a country, flagged in 40 of 40 draws).
        values, counts = np.unique(human_hashes, return_counts=True)
        result["baseline_copy_share"] = float(np.mean(counts[np.searchsorted(values, human_hashes)] > 1))
    else:
        result["baseline_copy_share"] = float(found_in(row_fingerprints(baseline, plan, columns),
                                                         human_hashes).mean())
    if not plan.tabular:
        result["note"] = "distances to the closest record need table columns; only exact copies were checked"
        return result
    reference_rows = sample_rows(reference, PRIVACY_REFERENCE_ROWS, seed)
    reference_points = encoder.transform(reference_rows)
    # Two nearest: the closest gives the distance to the closest record, and with a holdout the same search
    # of the same training rows gives the distance ratio, so each query is searched once.
    queries = encoder.transform(sample_rows(synthetic, PRIVACY_QUERY_ROWS, seed))
    baseline_points = encoder.transform(sample_rows(baseline, PRIVACY_QUERY_ROWS, seed))
    both_two = nearest_distances(reference_points, np.vstack([queries, baseline_points]), 2)
    synthetic_two, baseline_two = both_two[: len(queries)], both_two[len(queries):]
    synthetic_dcr, baseline_dcr = synthetic_two[:, 0], baseline_two[:, 0]
    result |= {
        "dcr_median": float(np.median(synthetic_dcr)),
        "dcr_baseline_median": float(np.median(baseline_dcr)),
        "dcr_fifth_percentile": float(np.percentile(synthetic_dcr, 5)),
        "dcr_baseline_fifth_percentile": float(np.percentile(baseline_dcr, 5)),
        "reference_rows": int(len(reference_points)),
    }
    if holdout is not None:
        shared = _Searched(len(reference_rows), queries, synthetic_two, baseline_two)
        result |= _memorisation(human, holdout, encoder, shared, seed=seed)
    return result


@dataclass(frozen=True)
class _Searched:
    """The closest-record search's work that the holdout's measures reuse: how many training rows it searched
    (drawn with the report's seed), the synthetic queries, and the two nearest training distances of each
    query and of as many holdout rows."""

    rows: int
    queries: np.ndarray
    queries_two: np.ndarray
    holdout_two: np.ndarray


def _memorisation(human: pd.DataFrame, holdout: pd.DataFrame, encoder: Encoder, shared: _Searched, *,
                  seed: int) -> dict:
    """The holdout's measures. The DCR share and the attack use equal samples of training and holdout rows (so
    50% and 0.5 mean chance); the distance ratio uses the closest-record search of every drawn training row."""
    size = min(len(human), len(holdout), PRIVACY_REFERENCE_ROWS)
    queries = shared.queries
    if size == shared.rows:  # the same draw of the same rows: the search already made answers
        to_train = shared.queries_two[:, 0]
    else:
        train = encoder.transform(sample_rows(human, size, seed))
        to_train = nearest_distances(train, queries, 1)[:, 0]
    unseen = encoder.transform(sample_rows(holdout, size, seed + 1))
    to_unseen = nearest_distances(unseen, queries, 1)[:, 0]
    # Ties (equal distances) count half each way, so identical copies of both read as 50%.
    closer = float(np.mean((to_train < to_unseen) + 0.5 * (to_train == to_unseen)))
    found = {"closer_to_training_share": closer,
             "closer_to_training_interval": list(wilson_interval(closer, len(queries))),
             "privacy_query_rows": int(len(queries)), "membership_rows_per_side": int(size)}
    if shared.rows >= 2:
        # The ratio needs no equal sides: synthetic and holdout rows (as many of each) are both searched among
        # every drawn training row, so a small holdout does not hide a row that hugs one training row.
        found["nndr_median"] = _distance_ratio(shared.queries_two)
        found["nndr_baseline_median"] = _distance_ratio(shared.holdout_two)
    # The attack: a human row is called a member when a synthetic row lies close to it.
    members = sample_rows(human, min(size, PRIVACY_QUERY_ROWS), seed + 3)
    outsiders = sample_rows(holdout, min(size, PRIVACY_QUERY_ROWS), seed + 4)
    closeness = -nearest_distances(queries, np.vstack([encoder.transform(members),
                                                       encoder.transform(outsiders)]), 1)[:, 0]
    is_member = np.r_[np.ones(len(members)), np.zeros(len(outsiders))]
    auc = float(roc_auc_score(is_member, closeness))
    found |= {"membership_auc": auc,
              "membership_auc_interval": list(auc_interval(auc, len(members), len(outsiders)))}
    return found


def limits_of(result: dict) -> dict[str, float]:
    """The thresholds a result is judged by: those stored with it (a report keeps the ones it was made with),
    else the defaults."""
    return {**{name: t.default for name, t in THRESHOLDS.items()}, **(result.get("thresholds") or {})}


def copy_excess(result: dict) -> float:
    """How far the exact-copy share exceeds the human rows' own repeats, taking the lower end of its 95%
    interval: a few chance matches in a small sample are not copying (a report made before the interval was
    stored uses the share itself)."""
    share = result.get("exact_copy_share", 0.0)
    low = (result.get("exact_copy_interval") or [share])[0]
    return low - result.get("baseline_copy_share", 0.0)


def crossed(result: dict) -> list[str]:
    """The thresholds this result crosses, by name."""
    limits = limits_of(result)
    names = []
    if copy_excess(result) > limits["copy_margin"]:
        names.append("copy_margin")
    if "dcr_median" in result and result["dcr_median"] < limits["dcr_ratio"] * result["dcr_baseline_median"]:
        names.append("dcr_ratio")
    if result.get("closer_to_training_share", 0.5) > limits["dcr_share"]:
        names.append("dcr_share")
    if "nndr_median" in result and result["nndr_median"] < limits["nndr_ratio"] * result["nndr_baseline_median"]:
        names.append("nndr_ratio")
    if result.get("membership_auc", 0.5) >= limits["membership_auc"]:
        names.append("membership_auc")
    return names


def privacy_flags(result: dict) -> list[str]:
    """Plain-language warnings a reader should not miss: one per threshold crossed."""
    words = {
        "copy_margin": lambda r: f"{r['exact_copy_share']:.1%} of synthetic rows are exact copies of human rows "
                                 f"(human rows repeat each other at {r.get('baseline_copy_share', 0):.1%})",
        "dcr_ratio": lambda r: "synthetic rows sit much closer to human rows than human rows sit to each other "
                               f"(median distance {r['dcr_median']:.3g} against {r['dcr_baseline_median']:.3g})",
        "dcr_share": lambda r: f"{r['closer_to_training_share']:.0%} of synthetic rows are closer to the training "
                               "rows than to the holdout (about 50% is expected): the generator may memorise",
        "nndr_ratio": lambda r: "synthetic rows each sit next to one human row far more than unseen rows do "
                                f"(distance ratio {r['nndr_median']:.2f} against {r['nndr_baseline_median']:.2f})",
        "membership_auc": lambda r: f"an attacker tells training rows from unseen ones with an AUC of "
                                    f"{r['membership_auc']:.2f} (0.5 is chance) by their distance to synthetic rows",
    }
    return [words[name](result) for name in crossed(result)]
