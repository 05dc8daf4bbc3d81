"""The blocked nearest-neighbour search gives the distances a search of every row gives."""

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from strategy.quality import neighbours
from strategy.quality.neighbours import _blocking_columns, nearest_distances


def mixed_rows(rng, rows, *, levels=(5, 3, 2), numbers=3, spread=1.0):
    """Standardised numbers beside one-hot categories scaled by 1/sqrt(2), as the encoder writes them."""
    parts = [rng.normal(0, spread, (rows, numbers))]
    for count in levels:
        chosen = rng.integers(0, count, rows)
        one_hot = np.zeros((rows, count + 1))  # the last level is "other", unused here
        one_hot[np.arange(rows), chosen] = 1
        parts.append(one_hot / np.sqrt(2))
    return np.hstack(parts)


def assert_same(found, expected):
    """Equal up to rounding. Squared distances are compared: both searches expand |a - b|^2 as
    |a|^2 - 2ab + |b|^2, whose last-bit rounding the square root turns into up to 1e-7 near zero."""
    assert found.shape == expected.shape
    np.testing.assert_allclose(found ** 2, expected ** 2, atol=1e-10)


def brute(reference, queries, k):
    return NearestNeighbors(n_neighbors=min(k, len(reference))).fit(reference).kneighbors(queries)[0]


@pytest.fixture(autouse=True)
def block_small_references(monkeypatch):
    # Block at test sizes, so the blocked search is the one checked.
    monkeypatch.setattr(neighbours, "BLOCK_ABOVE_ROWS", 50)
    monkeypatch.setattr(neighbours, "GLANCE_ROWS", 50)


@pytest.mark.parametrize("k", [1, 2, 6])
@pytest.mark.parametrize("spread", [0.3, 3.0])  # neighbours inside the block, and far enough to cross blocks
def test_blocked_search_matches_a_search_of_every_row(k, spread):
    rng = np.random.default_rng(k)
    reference, queries = mixed_rows(rng, 3_000, spread=spread), mixed_rows(rng, 400, spread=spread)
    assert _blocking_columns(reference), "the category columns should be blocked on"
    assert_same(nearest_distances(reference, queries, k), brute(reference, queries, k))


def test_queries_whose_categories_the_reference_lacks_and_blocks_smaller_than_k():
    rng = np.random.default_rng(7)
    reference = mixed_rows(rng, 600)
    # A rare level held by only two reference rows (a block smaller than k) ...
    rare = reference[:2].copy()
    rare[:, 3:9] = 0
    rare[:, 8] = 1 / np.sqrt(2)
    reference = np.vstack([reference, rare])
    # ... and queries in a level no reference row has (the "other" column of the second category).
    queries = mixed_rows(rng, 200)
    queries[:50, 9:13] = 0
    queries[:50, 12] = 1 / np.sqrt(2)
    queries[50:60] = rare[0]
    assert_same(nearest_distances(reference, queries, 4), brute(reference, queries, 4))


def test_a_table_of_categories_only_has_exact_ties_and_copies_at_zero():
    rng = np.random.default_rng(3)
    reference = mixed_rows(rng, 500, numbers=0)
    queries = np.vstack([reference[:20], mixed_rows(rng, 30, numbers=0)])
    found = nearest_distances(reference, queries, 3)
    assert_same(found, brute(reference, queries, 3))
    assert (found[:20, 0] == 0).all()


def test_continuous_columns_alone_are_searched_whole():
    rng = np.random.default_rng(5)
    reference, queries = rng.normal(size=(800, 4)), rng.normal(size=(100, 4))
    assert _blocking_columns(reference) == []
    assert_same(nearest_distances(reference, queries, 2), brute(reference, queries, 2))


def test_k_is_capped_at_the_reference_and_empty_queries_give_no_rows():
    rng = np.random.default_rng(9)
    reference = mixed_rows(rng, 60)
    assert nearest_distances(reference, mixed_rows(rng, 5), 100).shape == (5, 60)
    assert nearest_distances(reference, np.zeros((0, reference.shape[1])), 2).shape == (0, 2)


def test_blocks_stay_within_their_cap():
    rng = np.random.default_rng(11)
    reference = mixed_rows(rng, 5_000, levels=(6, 6, 6, 6))
    chosen = _blocking_columns(reference)
    assert chosen
    blocks = len(np.unique(reference[:, chosen], axis=0))
    assert blocks <= neighbours.MAX_BLOCKS
    assert_same(nearest_distances(reference, reference[:300], 2), brute(reference, reference[:300], 2))
