"""The subsample the costly metrics read and the drift of the score over subsamples (strategy.quality.subsample),
through the assessment, the CLI and the Data quality page's report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategy.errors import AssessmentRejected
from strategy.quality import assess, frame_sample
from strategy.quality.report import subsample_sentence
from strategy.quality.subsample import DRIFT_ABOVE_ROWS, draw_count, sample_size


def accounts(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(41 + 4 * shift, 13, rows).round()
    return pd.DataFrame({"age": age, "income": np.exp(rng.normal(10.2 + 0.1 * shift, 0.6, rows) + 0.01 * (age - 41)),
                         "visits": rng.poisson(3 + shift, rows),
                         "region": rng.choice(["north", "south", "east"], rows, p=[0.5, 0.3 - 0.1 * shift, 0.2 + 0.1 * shift])})


@pytest.fixture(scope="module")
def mid_size():
    return frame_sample(accounts(8_000, 1), "human.csv"), frame_sample(accounts(8_000, 2, 0.3), "synthetic.csv")


def test_the_reported_drift_covers_the_difference_from_reading_every_row(mid_size):
    human, synthetic = mid_size
    sub = assess(human, synthetic, sample_rows=1_000, drift_draws=5).data["modalities"]["tabular"]
    full = assess(human, synthetic, sample_rows=8_000, drift_draws=1).data["modalities"]["tabular"]
    found = sub["subsample"]
    assert found["rows"] == 1_000 and found["metrics"] == ["detection", "fidelity"] and not found["all_rows"]
    assert found["draws"] == 5 and found["humanness"][0] == pytest.approx(sub["humanness"])
    assert found["drift"] == pytest.approx(max(found["humanness"]) - min(found["humanness"]))
    assert 0 < found["drift"] < 5
    assert abs(sub["humanness"] - full["humanness"]) <= found["drift"]
    # The metrics that read every row anyway are the same whatever the subsample.
    for name in ("shapes", "pairs", "coverage"):
        assert sub["scores"][name] == full["scores"][name]
    assert full["subsample"]["all_rows"] and full["subsample"]["drift"] is None


def test_a_larger_subsample_is_read_when_asked(mid_size):
    human, synthetic = mid_size
    found = assess(human, synthetic, sample_rows=3_000, drift_draws=1).data["modalities"]["tabular"]["metrics"]
    assert found["detection"]["rows_per_side"] == 3_000
    assert found["fidelity"]["rows_per_side"] == [3_000, 3_000]
    default = assess(human, synthetic).data["modalities"]["tabular"]
    assert default["metrics"]["detection"]["rows_per_side"] == 5_000
    assert default["subsample"]["draws"] == 1 and default["subsample"]["drift"] is None  # below the threshold


def test_the_drift_is_measured_by_default_only_above_the_size_threshold():
    assert draw_count(None, DRIFT_ABOVE_ROWS) == 1
    assert draw_count(None, DRIFT_ABOVE_ROWS + 1) == 3
    assert draw_count(2, 10) == 2


@pytest.mark.parametrize("value", [0, 99, 200_001, 2.5, True, "5000"])
def test_a_bad_subsample_size_is_refused_by_name(value):
    with pytest.raises(AssessmentRejected, match="field 'sample_rows': the subsample size is a whole number"):
        sample_size(value)


def test_the_sentence_says_what_was_read_and_how_far_it_moved():
    assert subsample_sentence({"rows": 5_000, "metrics": ["detection", "fidelity"], "all_rows": False, "draws": 3,
                               "drift": 0.4321}) == (
        "Detection, Fidelity and diversity (k-NN): a seeded subsample of 5,000 rows per side; over 3 subsamples the "
        "score moved by 0.43 points (drift)")
    assert subsample_sentence({"rows": 5_000, "metrics": ["detection"], "all_rows": True, "drift": None}) == (
        "Detection: all rows (each side within the subsample size, 5,000 rows)")


def test_the_cli_takes_the_subsample_and_says_it(tmp_path):
    from click.testing import CliRunner

    from strategy.cli import main

    accounts(1_500, 1).to_csv(tmp_path / "h.csv", index=False)
    accounts(1_500, 2, 0.3).to_csv(tmp_path / "s.csv", index=False)
    base = ["--catalog", str(tmp_path / "c.duckdb"), "assess", "--human", str(tmp_path / "h.csv"),
            "--synthetic", str(tmp_path / "s.csv")]
    result = CliRunner().invoke(main, [*base, "--sample-rows", "500", "--drift-draws", "3"])
    assert result.exit_code == 0, result.output
    assert "a seeded subsample of 500 rows per side; over 3 subsamples the score moved by" in result.output
    refused = CliRunner().invoke(main, [*base, "--sample-rows", "50"])
    assert refused.exit_code == 2 and "50 is not in the range 100<=x<=200000" in refused.output
