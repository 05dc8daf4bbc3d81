"""Humanness metrics for tables: each compares a human sample with a synthetic one and returns scores in 0–1,
where 1 means "as the human data is".

Column shapes and pair trends follow the definitions SDMetrics calls
KSComplement, TVComplement, CorrelationSimilarity and ContingencySimilarity, so
the scores can be compared with that tool. Neighbour-based metrics (fidelity,
diversity, privacy) use scikit-learn's neighbour search on bounded samples and
never build a full human × synthetic distance matrix.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from strategy.quality.columns import ColumnPlan, as_numbers

CONTINGENCY_BINS = 10
DETECTION_ROWS = 5_000       # per side; the classifiers' AUC settles long before this
DETECTION_MIN_ROWS = 10
NEIGHBOUR_ROWS = 5_000       # per side for precision / recall / density / coverage
NEIGHBOURS_K = 5
# A point on a ball's edge is inside it; distances computed by two searches can differ in the last bit.
BOUNDARY = 1 + 1e-9
# Two-sample KS statistic that sampling alone exceeds 5% of the time: c(0.05) = 1.358.
KS_CRITICAL = 1.358


# ----------------------------------------------------------------------------- column shapes
def ks_statistic(human: np.ndarray, synthetic: np.ndarray) -> float:
    """The two-sample Kolmogorov–Smirnov statistic, from sorted values (exact, O(n log n)).

    The gap between the two empirical distributions is a step function that changes only at data values, so
    its largest size is found at the last of each run of equal values of either sample: there one sample's
    distribution is its run's end and the other's a search of its sorted values (a search of sorted queries,
    where merging the two samples into one sorted array took about 40% longer in a profile of the 1M-row
    bench)."""
    a, b = np.sort(human), np.sort(synthetic)
    gap = 0.0
    for mine, other in ((a, b), (b, a)):
        ends = np.flatnonzero(np.append(mine[1:] != mine[:-1], True))
        own = (ends + 1) / mine.size
        theirs = np.searchsorted(other, mine[ends], side="right") / other.size
        gap = max(gap, float(np.max(np.abs(own - theirs))))
    return gap


def total_variation(human: pd.Series, synthetic: pd.Series) -> float:
    """Half the summed absolute difference between the two samples' category frequencies."""
    p, q = _frequencies(human), _frequencies(synthetic)
    return float(0.5 * p.sub(q, fill_value=0.0).abs().sum())


def _frequencies(values: pd.Series) -> pd.Series:
    """Each value's share, indexed by the values as Python objects, so that the two samples' values are matched
    as objects whatever their types (True in a flag column and in a column of mixed text match). Counted on the
    typed column and only the distinct values converted: converting a million strings first took most of the
    shapes' time."""
    shares = values.value_counts(normalize=True, sort=False)
    shares = shares[shares > 0]  # a categorical column counts its unused categories too
    shares.index = shares.index.astype(object)
    return shares


def column_shapes(human: pd.DataFrame, synthetic: pd.DataFrame, plan: ColumnPlan) -> list[dict]:
    """Per column: 1 − KS for numbers and dates, 1 − TV distance for categories; missing values left out."""
    rows = []
    for name in plan.tabular:
        kind = plan.kinds[name]
        if kind in ("numeric", "datetime"):
            h, s = as_numbers(human[name]), as_numbers(synthetic[name])
            rows.append(ks_row(name, kind, h[np.isfinite(h)], s[np.isfinite(s)]))
        else:
            h, s = human[name].dropna(), synthetic[name].dropna()
            if h.empty or s.empty:
                rows.append(empty_shape(name, kind))
                continue
            rows.append({"column": name, "kind": kind, "metric": "TVComplement",
                         "score": 1.0 - total_variation(h, s)})
    return rows


def empty_shape(name: str, kind: str) -> dict:
    metric = "KSComplement" if kind in ("numeric", "datetime") else "TVComplement"
    return {"column": name, "kind": kind, "metric": metric, "score": None, "note": "no value left in one sample"}


def ks_row(name: str, kind: str, human: np.ndarray, synthetic: np.ndarray) -> dict:
    """A number or date column's shape from its finite values on each side, with the KS noise band."""
    if human.size == 0 or synthetic.size == 0:
        return empty_shape(name, kind)
    band = 1.0 - min(1.0, KS_CRITICAL * np.sqrt((human.size + synthetic.size) / (human.size * synthetic.size)))
    return {"column": name, "kind": kind, "metric": "KSComplement", "score": 1.0 - ks_statistic(human, synthetic),
            "noise_band": band}


# ----------------------------------------------------------------------------- column pairs
def bin_codes(human: np.ndarray, synthetic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ten equal-width bins over the human range (outer bins open-ended); missing values get a bin of their own."""
    finite = human[np.isfinite(human)]
    edges = np.histogram_bin_edges(finite, bins=CONTINGENCY_BINS) if finite.size else np.array([0.0, 1.0])
    inner = edges[1:-1]

    def codes(values):
        out = np.clip(np.digitize(values, inner), 0, CONTINGENCY_BINS - 1)
        return np.where(np.isfinite(values), out, CONTINGENCY_BINS)

    return codes(human), codes(synthetic)


def _label_codes(human: pd.Series, synthetic: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Category codes shared by both samples; a missing value is a category of its own."""
    # Typed columns are joined as they are (values that are equal group alike either way); turning a million
    # strings into Python objects first was most of the pairs' time.
    joined = pd.concat([human, synthetic], ignore_index=True)
    codes, _ = pd.factorize(joined, use_na_sentinel=False)
    codes = codes.astype(np.int64)
    return codes[: len(human)], codes[len(human):]


def _codes(human: pd.DataFrame, synthetic: pd.DataFrame, plan: ColumnPlan) -> dict[str, tuple]:
    table = {}
    for name in plan.tabular:
        if plan.kinds[name] in ("numeric", "datetime"):
            table[name] = bin_codes(as_numbers(human[name]), as_numbers(synthetic[name]))
        else:
            table[name] = _label_codes(human[name], synthetic[name])
    return table


def contingency_distance(h_a: np.ndarray, h_b: np.ndarray, s_a: np.ndarray, s_b: np.ndarray) -> float:
    """Total variation distance between the two samples' joint frequency tables of two coded columns."""
    width = int(max(h_b.max(initial=0), s_b.max(initial=0))) + 1
    size = (int(max(h_a.max(initial=0), s_a.max(initial=0))) + 1) * width
    left = h_a.astype(np.int64, copy=False) * width + h_b
    right = s_a.astype(np.int64, copy=False) * width + s_b
    if size <= 4 * (left.size + right.size) + 1024:
        p = np.bincount(left, minlength=size) / left.size
        q = np.bincount(right, minlength=size) / right.size
        return float(0.5 * np.abs(p - q).sum())
    # Two columns of many categories: count the cells that occur, not every cell of the product.
    cells, where = np.unique(np.concatenate([left, right]), return_inverse=True)
    p = np.bincount(where[: left.size], minlength=cells.size) / left.size
    q = np.bincount(where[left.size:], minlength=cells.size) / right.size
    return float(0.5 * np.abs(p - q).sum())


def _correlation(x: np.ndarray, y: np.ndarray) -> float | None:
    both = np.isfinite(x) & np.isfinite(y)
    x, y = x[both], y[both]
    if x.size < 2 or x.std() == 0 or y.std() == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


def _correlations(columns: list[np.ndarray]) -> np.ndarray | None:
    """Every pair's Pearson correlation at once when no value is missing (else None: pairs then drop their own
    missing rows); a constant column's correlations are NaN."""
    if len(columns) < 2 or columns[0].size < 2 or not all(np.isfinite(column).all() for column in columns):
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.atleast_2d(np.corrcoef(np.vstack(columns)))


def _defined(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


def column_pairs(human: pd.DataFrame, synthetic: pd.DataFrame, plan: ColumnPlan) -> list[dict]:
    """Every pair of compared columns: 1 − |Δ Pearson correlation| / 2 for two numeric (or date) columns,
    1 − TV distance of the joint table otherwise (numbers binned). A numeric pair whose correlation is
    undefined (a constant side) is compared by its joint table instead, and says so."""
    names = plan.tabular
    numbers = {n: (as_numbers(human[n]), as_numbers(synthetic[n]))
               for n in names if plan.kinds[n] in ("numeric", "datetime")}
    correlations = [_correlations([values[side] for values in numbers.values()]) for side in (0, 1)]
    position = {name: i for i, name in enumerate(numbers)}

    def correlation(a: str, b: str) -> tuple[float | None, float | None]:
        return tuple(_correlation(numbers[a][side], numbers[b][side]) if matrix is None
                     else _defined(matrix[position[a], position[b]]) for side, matrix in enumerate(correlations))

    return pair_rows(names, set(numbers), correlation, _codes(human, synthetic, plan))


def pair_rows(names: list[str], numbers: set[str], correlation, codes: dict[str, tuple]) -> list[dict]:
    """The pair rows of :func:`column_pairs` from each numeric pair's correlations (``correlation(a, b)`` gives
    the two sides', None where undefined) and every column's codes on both sides, however they were read."""
    rows = []
    for a, b in combinations(names, 2):
        if a in numbers and b in numbers:
            r_h, r_s = correlation(a, b)
            if r_h is not None and r_s is not None:
                rows.append({"pair": f"{a}|{b}", "left": a, "right": b, "metric": "CorrelationSimilarity",
                             "score": 1.0 - abs(r_h - r_s) / 2, "human": r_h, "synthetic": r_s})
                continue
            note = "correlation undefined (a constant side); compared by the binned joint table"
        else:
            note = None
        distance = contingency_distance(codes[a][0], codes[b][0], codes[a][1], codes[b][1])
        row = {"pair": f"{a}|{b}", "left": a, "right": b, "metric": "ContingencySimilarity", "score": 1.0 - distance}
        if note:
            row["note"] = note
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------- detection
def detection(human: np.ndarray, synthetic: np.ndarray, *, seed: int, folds: int = 3,
              models: tuple[str, ...] = ("logistic", "boosted_tree"), rows: int = DETECTION_ROWS) -> dict:
    """How well classifiers tell human rows from synthetic ones, cross-validated on a balanced sample.

    Each classifier reports its AUC (mean and range over folds) and the score
    1 − 2·max(AUC − 0.5, 0); the metric's score is the lower one, because the
    better detector is the one that matters.
    """
    rng = np.random.default_rng(seed)
    size = min(len(human), len(synthetic), rows)
    if size < DETECTION_MIN_ROWS:
        return {"score": None, "note": f"needs at least {DETECTION_MIN_ROWS} rows on each side"}
    h = human[rng.choice(len(human), size, replace=False)]
    s = synthetic[rng.choice(len(synthetic), size, replace=False)]
    features = np.vstack([h, s])
    labels = np.r_[np.zeros(size), np.ones(size)]
    splitter = StratifiedKFold(n_splits=min(folds, size), shuffle=True, random_state=seed)
    result = {"rows_per_side": int(size)}
    for name in models:
        aucs = []
        for train, test in splitter.split(features, labels):
            model = _detector(name, seed).fit(features[train], labels[train])
            aucs.append(roc_auc_score(labels[test], model.predict_proba(features[test])[:, 1]))
        auc = float(np.mean(aucs))
        result[name] = {"auc": auc, "auc_low": float(min(aucs)), "auc_high": float(max(aucs)),
                        "score": detection_score(auc)}
    result["score"] = min(result[name]["score"] for name in models)
    return result


def detection_score(auc: float) -> float:
    return 1.0 - 2.0 * max(auc - 0.5, 0.0)


def _detector(name: str, seed: int):
    if name == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    return HistGradientBoostingClassifier(max_iter=40, learning_rate=0.25, early_stopping=False, random_state=seed)


# ----------------------------------------------------------------------------- coverage
def coverage(human: pd.DataFrame, synthetic: pd.DataFrame, plan: ColumnPlan) -> list[dict]:
    """Per column: how much of the human categories or range the synthetic data covers, and the share of
    synthetic values that fall outside them."""
    rows = []
    for name in plan.tabular:
        if plan.kinds[name] in ("numeric", "datetime"):
            h, s = as_numbers(human[name]), as_numbers(synthetic[name])
            h, s = h[np.isfinite(h)], s[np.isfinite(s)]
            if h.size == 0 or s.size == 0:
                continue
            low, high = h.min(), h.max()
            if high > low:
                covered = max(1.0 - (max((s.min() - low) / (high - low), 0.0)
                                     + max((high - s.max()) / (high - low), 0.0)), 0.0)
            else:
                covered = float(np.any(s == low))
            outside = float(np.mean((s < low) | (s > high)))
            rows.append({"column": name, "measure": "range", "covered": float(covered), "outside": outside,
                         "score": (covered + 1.0 - outside) / 2})
        else:
            h, s = human[name].dropna(), synthetic[name].dropna()
            if h.empty or s.empty:
                continue
            # The distinct values are matched as Python objects (as the shapes' frequencies are); only they are
            # converted, not every row.
            known = set(_frequencies(h).index)
            counts = _frequencies(s)
            seen = set(counts.index)
            covered = len(known & seen) / len(known)
            outside = float(counts[[value not in known for value in counts.index]].sum())
            rows.append({"column": name, "measure": "categories", "covered": covered, "outside": outside,
                         "score": (covered + 1.0 - outside) / 2,
                         "missing_categories": sorted(known - seen)[:10], "new_categories": sorted(seen - known)[:10]})
    return rows


# ----------------------------------------------------------------------------- fidelity and diversity
def kth_neighbour_radii(points: np.ndarray, k: int) -> np.ndarray:
    """Distance from each point to its k-th nearest other point of the same sample."""
    k = min(k, len(points) - 1)
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points)
    return distances[:, k]


def balls_containing(queries: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """For each query point, how many balls (centre, radius) contain it.

    The centres are grouped by radius so each neighbour search uses a radius
    near its group's own; one outlier with a huge radius then costs one small
    search instead of inflating every search.
    """
    counts = np.zeros(len(queries), dtype=np.int64)
    order = np.argsort(radii)
    cuts = np.unique((np.array([0.0, 0.5, 0.75, 0.875, 0.95, 0.99, 1.0]) * len(order)).astype(int))
    for start, stop in zip(cuts[:-1], cuts[1:], strict=True):
        group = order[start:stop]
        if group.size == 0:
            continue
        reach = float(radii[group].max()) * BOUNDARY
        search = NearestNeighbors(radius=reach).fit(centres[group])
        distances, indices = search.radius_neighbors(queries, return_distance=True)
        lengths = np.fromiter((len(i) for i in indices), dtype=np.int64, count=len(indices))
        if lengths.sum() == 0:
            continue
        flat_distance = np.concatenate(distances)
        flat_index = np.concatenate(indices).astype(np.int64)
        inside = flat_distance <= radii[group][flat_index] * BOUNDARY
        owner = np.repeat(np.arange(len(queries)), lengths)
        counts += np.bincount(owner[inside], minlength=len(queries))
    return counts


def fidelity_diversity(human: np.ndarray, synthetic: np.ndarray, *, k: int = NEIGHBOURS_K) -> dict:
    """k-NN precision and recall (Kynkäänniemi et al. 2019), density and coverage (Naeem et al. 2020).

    Precision: share of synthetic rows inside some human row's k-NN ball
    (fidelity). Recall: share of human rows inside some synthetic row's ball
    (diversity). Density counts the balls around each synthetic row; coverage
    is the share of human rows whose own ball holds a synthetic row.
    """
    if min(len(human), len(synthetic)) <= k:
        return {"score": None, "note": f"needs more than {k} rows on each side"}
    human_radii = kth_neighbour_radii(human, k)
    synthetic_radii = kth_neighbour_radii(synthetic, k)
    inside = balls_containing(synthetic, human, human_radii)
    precision = float(np.mean(inside > 0))
    density = float(inside.sum() / (k * len(synthetic)))
    recall = float(np.mean(balls_containing(human, synthetic, synthetic_radii) > 0))
    nearest, _ = NearestNeighbors(n_neighbors=1).fit(synthetic).kneighbors(human)
    covered = float(np.mean(nearest[:, 0] <= human_radii * BOUNDARY))
    return {"precision": precision, "recall": recall, "density": density, "coverage": covered, "k": k,
            "rows_per_side": [len(human), len(synthetic)],
            "score": float(np.mean([precision, recall, min(density, 1.0), covered]))}
