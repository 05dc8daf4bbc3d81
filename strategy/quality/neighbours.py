"""Exact nearest-neighbour distances that skip work a table's category columns make needless.

An encoded table row is mostly one-hot category columns (and flags), whose few values are shared by many rows.
Rows that agree on every such column form a block; between blocks the squared distance is at least the squared
distance of the block keys alone, the same for every pair of rows in the two blocks. So each query searches its
own block first, and another block only while that lower bound is below its k-th best distance so far. On
mixed tables a category change costs as much as a standard deviation of a number, so a nearest neighbour
almost always shares the query's categories and most blocks are never searched: for 5,000 queries among
100,000 rows of five regions, three plans and a flag, 0.55 s instead of 1.35 s (bench/bench_privacy.py). The answer is
the one a search of every row gives (up to rounding in the last bits; tested against scikit-learn's search).
A table with no few-valued columns is searched whole, as before.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

# A column is a blocking candidate when it takes at most this many values among the reference rows.
BLOCK_VALUES = 16
# At most this many blocks: past it each search is too small to be worth its call, so columns stop being added.
MAX_BLOCKS = 64
# Below this many reference rows one search is cheap and blocking only adds calls (bench/bench_privacy.py:
# 5,000 rows among themselves, six nearest, 0.28 s blocked against 0.07 s).
BLOCK_ABOVE_ROWS = 20_000
# How many rows to glance at before counting a column's values over every row.
GLANCE_ROWS = 2_000


def nearest_distances(reference: np.ndarray, queries: np.ndarray, k: int, *,
                      block_above: int | None = None) -> np.ndarray:
    """The Euclidean distances from each query to its ``k`` nearest reference rows, nearest first.

    A query with fewer than ``k`` reference rows gets them all (``k`` is capped at the reference's size). The
    reference is blocked by category only above ``block_above`` rows (``BLOCK_ABOVE_ROWS`` unless given)."""
    reference, queries = np.asarray(reference, dtype=float), np.asarray(queries, dtype=float)
    k = min(k, len(reference))
    if k == 0 or len(queries) == 0:
        return np.zeros((len(queries), k))
    above = BLOCK_ABOVE_ROWS if block_above is None else block_above
    blocked = _blocking_columns(reference) if len(reference) > above else []
    if not blocked:
        return NearestNeighbors(n_neighbors=k).fit(reference).kneighbors(queries)[0]
    rest = np.setdiff1d(np.arange(reference.shape[1]), blocked)
    codes = _row_codes(np.vstack([reference[:, blocked], queries[:, blocked]]))
    _, block_first, block_of = np.unique(codes[: len(reference)], return_index=True, return_inverse=True)
    _, first, group_of = np.unique(codes[len(reference):], return_index=True, return_inverse=True)
    block_keys = reference[:, blocked][block_first]
    members = [np.flatnonzero(block_of == b) for b in range(len(block_keys))]
    searches: dict[int, tuple] = {}  # each block's search, built when first needed
    # Squared distance between every query's key and every block's key: a lower bound for all their row pairs.
    query_keys = queries[:, blocked][first]
    bounds = ((query_keys[:, None, :] - block_keys[None, :, :]) ** 2).sum(axis=2)[group_of]
    best = np.full((len(queries), k), np.inf)  # squared distances, nearest first
    # Blocks are searched in rounds of rising bound, one call per block per round for every query still
    # wanting it: each query still meets the blocks in order of their bound and skips those that cannot hold a
    # nearer row, and the calls stay few (a call per query and block cost more than the search itself).
    for bound in np.unique(bounds):
        for block in range(len(block_keys)):
            active = np.flatnonzero((bounds[:, block] == bound) & (best[:, -1] > bound))
            if active.size == 0:
                continue
            if block not in searches:
                searches[block] = _block_search(reference[members[block]][:, rest], k)
            found = _nearest_in(searches[block], queries[active][:, rest], k)
            best[active] = np.sort(np.concatenate([best[active], found + bound], axis=1), axis=1)[:, :k]
    return np.sqrt(best)


def _block_search(points: np.ndarray, k: int) -> tuple[NearestNeighbors | None, int]:
    """One block's search and how many of its rows a query takes (None: every column is a key, so all of the
    block's rows sit on the query)."""
    take = min(k, len(points))
    return (NearestNeighbors(n_neighbors=take).fit(points) if points.shape[1] else None), take


def _nearest_in(block: tuple[NearestNeighbors | None, int], queries: np.ndarray, k: int) -> np.ndarray:
    """Squared distances from each query to its nearest rows of one block, padded with infinity to ``k``."""
    search, take = block
    found = np.zeros((len(queries), take)) if search is None else search.kneighbors(queries, n_neighbors=take)[0] ** 2
    return np.hstack([found, np.full((len(queries), k - take), np.inf)]) if take < k else found


def _row_codes(values: np.ndarray) -> np.ndarray:
    """One whole number per row, equal for rows equal in every column (kept below the row count as columns are
    added, so it cannot overflow)."""
    code = np.zeros(len(values), dtype=np.int64)
    for column in range(values.shape[1]):
        inverse, distinct = pd.factorize(values[:, column])
        code = pd.factorize(code * len(distinct) + inverse)[0].astype(np.int64)
    return code


def _blocking_columns(reference: np.ndarray) -> list[int]:
    """The few-valued columns to block on, fewest values first, while the blocks stay at most ``MAX_BLOCKS``."""
    values = {}
    for column in range(reference.shape[1]):
        # A glance at the first rows rules out most continuous columns without counting every row.
        if len(np.unique(reference[:GLANCE_ROWS, column])) <= BLOCK_VALUES:
            values[column] = len(pd.unique(reference[:, column]))
    chosen: list[int] = []
    for column in sorted(values, key=values.get):
        if not 2 <= values[column] <= BLOCK_VALUES:
            continue  # a constant column separates nothing
        joined = int(_row_codes(reference[:, chosen + [column]]).max()) + 1
        # A column that splits no block still counts: its differences raise the bound between blocks (the last
        # level of a one-hot category is implied by the others, but keying it doubles their distance).
        if joined <= MAX_BLOCKS:
            chosen.append(column)
    return chosen
