"""The posterior over curve surfaces: recovery of a known curve, honest uncertainty, determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest

from strategy.learning import Prior, curve
from strategy.surface import SHAPES, SurfacePosterior

TRUTH = np.array([0.9, np.log(0.5), 0.6, 0.3, np.log(2000), 0.02, np.log(50)])
N_H = np.array([10, 20, 40, 80, 10, 20, 40, 10, 20, 40, 80, 160, 5, 5], dtype=float)
N_S = np.array([0, 0, 0, 0, 100, 100, 100, 400, 400, 400, 0, 0, 200, 800], dtype=float)


def observed(noise: float = 0.01, seed: int = 0) -> np.ndarray:
    return curve(TRUTH, N_H, N_S, "penalised")[0] + np.random.default_rng(seed).normal(0, noise, len(N_H))


def test_the_posterior_mean_tracks_a_known_curve_inside_the_evidence():
    posterior = SurfacePosterior().fit(N_H, N_S, observed())
    params, _ = posterior.draws()
    at_h, at_s = np.array([30.0, 60.0, 15.0]), np.array([50.0, 200.0, 600.0])
    expected = curve(params, at_h, at_s, "penalised").mean(axis=0)
    assert np.max(np.abs(expected - curve(TRUTH, at_h, at_s, "penalised")[0])) < 0.02


def test_uncertainty_grows_away_from_the_evidence():
    posterior = SurfacePosterior().fit(N_H, N_S, observed())
    params, _ = posterior.draws()
    spread = curve(params, np.array([40.0, 4000.0]), np.array([100.0, 100.0]), "penalised").std(axis=0)
    assert spread[1] > 2 * spread[0]


def test_a_lower_is_better_metric_is_fitted_with_its_sign_flipped():
    up = SurfacePosterior().fit(N_H, N_S, observed())
    down = SurfacePosterior(higher_is_better=False).fit(N_H, N_S, -observed())
    assert down.sign_ == -1.0
    np.testing.assert_allclose(down.draws()[0], up.draws()[0])


def test_draws_keep_more_human_data_from_hurting():
    posterior = SurfacePosterior().fit(N_H, N_S, observed(noise=0.05))
    params, _ = posterior.draws()
    assert np.all(params[:, 5] >= 0)  # λ ≥ 0
    low, high = curve(params, [20.0], [100.0], "penalised"), curve(params, [200.0], [100.0], "penalised")
    assert np.all(high >= low - 1e-12)


def test_fitting_is_deterministic_and_survives_a_json_round_trip():
    first = SurfacePosterior(random_state=7).fit(N_H, N_S, observed())
    second = SurfacePosterior(random_state=7).fit(N_H, N_S, observed())
    np.testing.assert_array_equal(first.draws()[0], second.draws()[0])
    restored = SurfacePosterior.from_dict(json.loads(json.dumps(first.to_dict())))
    np.testing.assert_allclose(restored.draws()[0], first.draws()[0])
    np.testing.assert_allclose(restored.draws()[1], first.draws()[1])


def test_evidence_prefers_worthless_synthetic_data_when_it_adds_nothing():
    y = curve(np.array([0.9, np.log(0.5), 0.6, 0.0, np.log(2000), 0.0, np.log(50)]), N_H, N_S, "penalised")[0]
    posterior = SurfacePosterior().fit(N_H, N_S, y + np.random.default_rng(3).normal(0, 0.005, len(y)))
    params, _ = posterior.draws()
    with_synthetic = curve(params, [20.0], [5000.0], "penalised")[:, 0]
    without = curve(params, [20.0], [0.0], "penalised")[:, 0]
    assert np.mean(with_synthetic - without) < 0.01


def test_a_prior_pulls_the_shape_it_names():
    towards_worthless = Prior(mean=(0.6, 0.0, 7.0, 0.0, 4.0), sd=(0.1, 0.01, 1.0, 0.5, 0.5), source="pooled over 9 tasks")
    few_h, few_s = N_H[:4], N_S[:4]  # human-only runs say nothing about synthetic data's worth
    y = observed()[:4]
    pulled = SurfacePosterior(prior=towards_worthless).fit(few_h, few_s, y)
    free = SurfacePosterior().fit(few_h, few_s, y)
    # Half the prior is the pooled one (a mixture with the default), so the pull is strong but not total.
    assert pulled.draws()[0][:, 3].mean() < 0.5 * free.draws()[0][:, 3].mean()


def test_too_few_outcomes_are_refused():
    with pytest.raises(ValueError):
        SurfacePosterior().fit([10.0], [0.0], [0.5])
    assert len(SHAPES) > 500  # the grid the posterior averages over
