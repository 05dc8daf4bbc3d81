"""The posterior over curve surfaces: recovery of a known curve, honest uncertainty, determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest

import strategy.surface as surface
from strategy.learning import Prior, curve, synthetic_penalty
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


def test_the_penalty_scale_zero_is_the_synthetic_share_and_a_larger_one_lets_harm_build_with_the_count():
    n_h, n_s = np.array([0.0, 20.0, 20.0, 20.0, 20.0]), np.array([0.0, 0.0, 20.0, 200.0, 2000.0])
    np.testing.assert_allclose(synthetic_penalty(n_h, n_s), [0.0, 0.0, 0.5, 200 / 220, 2000 / 2020])
    slow = synthetic_penalty(n_h, n_s, 1000.0)
    assert slow[0] == 0.0 and np.all(np.diff(slow[1:]) > 0) and slow[3] < 0.2 < 0.9 < synthetic_penalty(20, 200)
    # A parameter vector without a scale is the share; with K = 0 it is the same curve.
    np.testing.assert_array_equal(curve(np.append(TRUTH, 0.0), n_h, n_s, "penalised"), curve(TRUTH, n_h, n_s, "penalised"))


def test_harm_that_builds_with_the_synthetic_count_is_read_as_such_and_the_right_count_chosen(monkeypatch):
    # The truth: at 10-40 human rows a few hundred synthetic rows help and each one past that hurts a little
    # (K = 2,000). The share alone (K = 0) puts the whole harm on the first synthetic rows past the human
    # count, so it reads a plateau where the metric falls, and buys the most synthetic rows it can.
    n_h = np.array([10, 20, 40, 80, 10, 10, 10, 10, 20, 20, 20, 40, 40, 0], dtype=float)
    n_s = np.array([0, 0, 0, 0, 100, 400, 1600, 3200, 100, 400, 1600, 400, 3200, 400], dtype=float)
    truth = np.array([0.9, np.log(0.5), 0.6, 0.5, np.log(400), 0.25, np.log(50), 2000.0])
    y = curve(truth, n_h, n_s, "penalised")[0] + np.random.default_rng(5).normal(0, 0.004, len(n_h))
    plan_h, plan_s = np.full(6, 15.0), np.array([0.0, 200.0, 400.0, 800.0, 2400.0, 6000.0])
    true = curve(truth, plan_h, plan_s, "penalised")[0]

    def chosen(posterior):
        return int(np.argmax(curve(posterior.draws()[0], plan_h, plan_s, "penalised").mean(axis=0)))

    scaled = SurfacePosterior().fit(n_h, n_s, y)
    assert scaled.shapes_.shape[1] == 5
    assert np.sum(scaled.weights_ * (scaled.shapes_[:, 4] >= 1000)) > 0.9
    assert true[chosen(scaled)] > true.max() - 0.005
    monkeypatch.setattr(surface, "PENALTY_SCALES", (0.0,))
    share_only = SurfacePosterior().fit(n_h, n_s, y)
    assert plan_s[chosen(share_only)] >= 2400 and true[chosen(share_only)] < true.max() - 0.05


def test_a_fit_stored_before_the_penalty_had_a_scale_reads_as_the_share():
    stored = SurfacePosterior(random_state=2).fit(N_H, N_S, observed()).to_dict()
    stored["shapes"] = [row[:4] for row in stored["shapes"]]  # the layout stored by engine surface-bma/2
    params, _ = SurfacePosterior.from_dict(stored).draws()
    assert params.shape[1] == 8 and np.all(params[:, 7] == 0.0)


def test_the_cofactor_inverse_agrees_with_a_general_solve():
    rng = np.random.default_rng(4)
    roots = rng.normal(size=(200, 3, 3))
    matrices = roots @ roots.transpose(0, 2, 1) + 0.1 * np.eye(3)
    inverse, log_det = surface._inverse_and_log_det(matrices)
    np.testing.assert_allclose(inverse, np.linalg.inv(matrices), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(log_det, np.linalg.slogdet(matrices)[1], rtol=1e-10)


@pytest.mark.parametrize("seed", range(6))
def test_the_kept_shapes_are_those_every_shape_s_odds_would_give(seed):
    # Brute force: every shape's odds computed, a stable sort, the top ones within 10^6 of the best. Some
    # inputs tie (the scales K are indistinguishable without synthetic runs) and some odds are far below 0.
    rng = np.random.default_rng(seed)
    unconstrained = np.repeat(rng.normal(0, 8, 3_000), 7) if seed % 2 else rng.normal(0, 8, 21_000)
    odds = np.minimum(rng.normal(0, 30 if seed > 3 else 1, len(unconstrained)), 2 * np.log(2))
    asked = []
    keep, log_weight = surface._kept(unconstrained, lambda which: (asked.append(len(which)), odds[which])[1])
    full = unconstrained + odds
    expected = np.argsort(-full, kind="stable")[:surface.MAX_SHAPES_KEPT]
    expected = expected[full[expected] > full[expected[0]] + np.log(1e-6)]
    np.testing.assert_array_equal(keep, expected)
    np.testing.assert_array_equal(log_weight, full[expected])
    if seed <= 3:  # odds near 0: the ceiling rules the rest out early
        assert asked[-1] < len(unconstrained)
