"""The humanness score along a degradation ladder: the same human table with 10%, 30%, 50%, 70% and 90% of its
values flipped (replaced by another value the column could hold) or shuffled (moved to other rows of the same
column, which keeps every column's own distribution and breaks what ties the columns together). The score must
fall at every step: a metric that plateaus or turns back would rank a worse generator above a better one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategy.quality import assess, frame_sample
from tests.test_quality import people

SHARES = (0.1, 0.3, 0.5, 0.7, 0.9)
ROWS = 1500


def flipped(frame: pd.DataFrame, share: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = frame.copy()
    for column in out.columns:
        rows = rng.random(len(out)) < share
        values = out[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            drawn = rng.uniform(values.min(), values.max(), rows.sum())
            out.loc[rows, column] = drawn.round() if pd.api.types.is_integer_dtype(values) else drawn
        else:
            out.loc[rows, column] = rng.choice(values.unique(), rows.sum())
    return out


def shuffled(frame: pd.DataFrame, share: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = frame.copy()
    for column in out.columns:
        rows = np.flatnonzero(rng.random(len(out)) < share)
        out.iloc[rows, out.columns.get_loc(column)] = out[column].to_numpy()[rng.permutation(rows)]
    return out


@pytest.mark.parametrize("degrade", [flipped, shuffled])
def test_the_score_falls_at_every_step_of_the_ladder(degrade):
    human, generated = people(ROWS, seed=1), people(ROWS, seed=2)
    scores = [assess(frame_sample(human, "human"), frame_sample(degrade(generated, share, seed=7), "synthetic"),
                     seed=0).humanness for share in SHARES]
    assert all(later < earlier for earlier, later in zip(scores[:-1], scores[1:], strict=True)), scores
    assert scores[0] - scores[-1] > 5, scores  # a real fall, in points of 0–100, not rounding noise
