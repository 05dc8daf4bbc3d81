"""Learning curves recover simulated ground truth, and the plans and intervals built on them hold up."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from strategy.budget import Costs, best_plan
from strategy.learning import FORMS, LearningCurve, PooledPrior, Prior, curve, curve_jacobian
from strategy.models import Task
from strategy.recommend import Scenario, TaskEvidence, decide

NOISE = 0.005
HUMAN_GRID = (0, 250, 1000, 4000, 16000)
SYNTHETIC_GRID = (0, 1000, 4000, 16000, 64000)
MIXES = [(h, s) for h in HUMAN_GRID for s in SYNTHETIC_GRID if h + s > 0]
N_H = np.array([h for h, _ in MIXES], dtype=float)
N_S = np.array([s for _, s in MIXES], dtype=float)
COSTS = Costs(human=1.0, synthetic=0.01)


def truth(*, w=0.4, s=3000.0, alpha=0.8, n0=500.0, c=0.9, a=0.5, lam=0.05) -> np.ndarray:
    """A parameter vector in curve() order: [c, log_a, alpha, w, log_s, lam, log_n0]."""
    return np.array([c, math.log(a), alpha, w, math.log(s), lam, math.log(n0)])


def simulate(x: np.ndarray, seed: int, noise: float = NOISE) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return curve(x, N_H, N_S, "penalised")[0] + rng.normal(0.0, noise, len(N_H))


def fit(x: np.ndarray, seed: int) -> LearningCurve:
    return LearningCurve(form="penalised").fit(N_H, N_S, simulate(x, seed))


def true_value(x: np.ndarray, plan) -> float:
    return float(curve(x, plan.n_human, plan.n_synthetic, "penalised")[0, 0])


# --------------------------------------------------------------------------- recovery
@pytest.mark.parametrize("seed", range(5))
def test_fit_recovers_worth_of_synthetic_sample(seed):
    x = truth()
    fitted = fit(x, seed)
    params = fitted.params_
    assert params.w == pytest.approx(0.4, abs=0.15)
    assert params.c == pytest.approx(0.9, abs=0.03)
    assert params.lam == pytest.approx(0.05, abs=0.03)
    assert fitted.sigma_ == pytest.approx(NOISE, rel=0.6)
    assert fitted.n_ == len(MIXES)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("budget", [1_000.0, 2_000.0, 20_000.0])
def test_plan_on_fitted_curve_is_nearly_as_good_as_the_true_best(seed, budget):
    x = truth()
    fitted = fit(x, seed)
    chosen, _, _ = best_plan(lambda h, s: curve(fitted.params_.vector(), h, s, "penalised"), budget, COSTS)
    best, _, _ = best_plan(lambda h, s: curve(x, h, s, "penalised"), budget, COSTS)
    assert chosen.spend <= budget + 1e-9
    assert true_value(x, chosen) >= true_value(x, best) - 0.01


@pytest.mark.parametrize("seed", range(5))
def test_interior_optimum_is_found_when_the_truth_has_one(seed):
    x, budget = truth(), 1_000.0
    best, _, _ = best_plan(lambda h, s: curve(x, h, s, "penalised"), budget, COSTS)
    human_only = float(curve(x, budget / COSTS.human, 0, "penalised")[0, 0])
    synthetic_only = float(curve(x, 0, budget / COSTS.synthetic, "penalised")[0, 0])
    # Precondition: at this budget a mix beats both corners on the true curve.
    assert best.n_human > 0 and best.n_synthetic > 0
    assert true_value(x, best) > max(human_only, synthetic_only) + 0.01

    fitted = fit(x, seed)
    chosen, _, _ = best_plan(lambda h, s: curve(fitted.params_.vector(), h, s, "penalised"), budget, COSTS)
    assert chosen.n_human > 0 and chosen.n_synthetic > 0
    assert true_value(x, chosen) >= true_value(x, best) - 0.01


@pytest.mark.parametrize("seed", range(5))
def test_form_can_say_synthetic_data_is_worthless(seed):
    fitted = fit(truth(w=0.0), seed)
    assert fitted.params_.w < 0.05
    # With worthless synthetic data, any budget goes to people.
    chosen, _, _ = best_plan(fitted.predict, 5_000.0, COSTS)
    assert chosen.n_synthetic == 0


@pytest.mark.parametrize("seed", range(5))
def test_form_can_say_synthetic_data_hurts_when_human_data_is_plentiful(seed):
    # λ = 0.1: with the share penalty, a much larger λ would make synthetic data hurt even where human
    # data is scarce, so the truth would not have the property under test.
    fitted = fit(truth(lam=0.1), seed)
    assert fitted.params_.lam > 0.03
    plentiful_mixed = fitted.predict(16000, 64000)[0]
    plentiful_human = fitted.predict(16000, 0)[0]
    assert plentiful_mixed < plentiful_human - 0.05
    # ...while it still helps where human data is scarce.
    assert fitted.predict(250, 4000)[0] > fitted.predict(250, 0)[0]


def test_lower_is_better_metric_is_fitted_with_its_sign_flipped():
    x = truth()
    error = -simulate(x, seed=3)  # e.g. an error rate: lower is better
    fitted = LearningCurve(higher_is_better=False).fit(N_H, N_S, error)
    assert fitted.params_.sign == -1.0
    assert fitted.params_.w == pytest.approx(0.4, abs=0.15)
    np.testing.assert_allclose(fitted.predict(N_H, N_S), -curve(x, N_H, N_S, "penalised")[0], atol=0.02)


def test_fit_is_deterministic():
    y = simulate(truth(), seed=4)
    first = LearningCurve().fit(N_H, N_S, y).params_.vector()
    second = LearningCurve().fit(N_H, N_S, y).params_.vector()
    np.testing.assert_array_equal(first, second)


def test_fit_needs_two_outcomes_and_predict_needs_a_fit():
    with pytest.raises(ValueError, match="two outcomes"):
        LearningCurve().fit([100], [0], [0.5])
    with pytest.raises(RuntimeError, match="fit"):
        LearningCurve().predict(100, 0)


# --------------------------------------------------------------------------- intervals via decide()
def test_decide_prediction_intervals_cover_about_80_percent():
    noise, held_per_task = 0.01, 20
    inside = total = 0
    for seed in range(12):
        rng = np.random.default_rng(1000 + seed)
        x = truth(w=rng.uniform(0.1, 1.0), lam=rng.uniform(0.0, 0.2), alpha=rng.uniform(0.5, 1.0),
                  s=rng.uniform(1000, 8000))
        values = curve(x, N_H, N_S, "penalised")[0] + rng.normal(0.0, noise, len(N_H))
        task = Task(id=f"simulated-{seed}", name=f"simulated {seed}", domain="Simulation", modality="text",
                    metric="accuracy")
        evidence = TaskEvidence(task=task, n_human=N_H, n_synthetic=N_S, values=values)
        recommendation, fitted = decide(evidence, Scenario(budget=2_016.0, costs=COSTS))
        assert recommendation.basis == "rules+model" and fitted is not None
        expected = recommendation.expected_metric
        assert expected.low <= expected.value <= expected.high
        at_plan = float(curve(x, recommendation.n_human, recommendation.n_synthetic, "penalised")[0, 0])
        held_out = at_plan + rng.normal(0.0, noise, held_per_task)
        inside += int(np.sum((held_out >= expected.low) & (held_out <= expected.high)))
        total += held_per_task
    coverage = inside / total
    assert 0.60 <= coverage <= 0.97, f"80% intervals covered {coverage:.0%} of held-out outcomes"


# --------------------------------------------------------------------------- pooled prior
def test_pooled_prior_round_trips_through_json():
    rng = np.random.default_rng(7)
    features = rng.integers(0, 5, size=(10, 13)).astype(float)
    shapes = np.column_stack([rng.uniform(0.3, 1.2, 10), rng.uniform(0, 1, 10), rng.normal(7, 1, 10),
                              rng.uniform(0, 0.2, 10), rng.normal(6, 1, 10)])
    pooled = PooledPrior().fit(features, shapes)
    restored = PooledPrior.from_dict(json.loads(json.dumps(pooled.to_dict())))
    assert restored.n_tasks_ == pooled.n_tasks_ == 10
    assert restored.ridge_alpha == pooled.ridge_alpha
    for row in [*features[:3], np.full(13, 4.0), np.zeros(13)]:
        original, again = pooled.predict(row), restored.predict(row)
        assert isinstance(original, Prior)
        # Equal to the last bit or two: the fitted ridge keeps coef_ Fortran-ordered, the restored one
        # C-ordered, so BLAS sums in a different order.
        np.testing.assert_allclose(again.mean, original.mean, rtol=1e-12, atol=1e-15)
        assert again.sd == original.sd and again.source == original.source
        assert len(original.mean) == len(original.sd) == 5
        assert all(sd > 0 for sd in original.sd)
        assert 0.05 <= original.mean[0] <= 2.5 and original.mean[1] >= 0 and original.mean[3] >= 0


# --------------------------------------------------------------------------- jacobian
@pytest.mark.parametrize("form", FORMS)
def test_curve_jacobian_agrees_with_finite_differences(form):
    rng = np.random.default_rng(11)
    n_h = np.array([0, 0, 50, 250, 1000, 4000, 16000, 300], dtype=float)
    n_s = np.array([10, 5000, 0, 1000, 64000, 0, 16000, 300], dtype=float)
    for _ in range(5):
        x = np.array([rng.uniform(0.5, 1.0), rng.uniform(-2, 0), rng.uniform(0.2, 1.5), rng.uniform(0, 1.2),
                      rng.uniform(5, 10), rng.uniform(0, 0.5), rng.uniform(4, 8)])
        analytic = curve_jacobian(x, n_h, n_s, form)
        numeric = np.empty_like(analytic)
        for j in range(7):
            step = 1e-6 * max(1.0, abs(x[j]))
            up, down = x.copy(), x.copy()
            up[j] += step
            down[j] -= step
            numeric[:, j] = (curve(up, n_h, n_s, form)[0] - curve(down, n_h, n_s, form)[0]) / (2 * step)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_pinned_shape_is_fitted_to_the_least_squares_optimum(seed):
    """With the shape pinned (the backtest's rules-only baseline), the ceiling and gap come in closed form: no
    ceiling and gap fit the outcomes better, and a converged iterative fit finds the same ones."""
    from scipy.optimize import least_squares

    shape = (0.7, 0.3, math.log(5000.0), math.log(400.0))
    y = simulate(truth(), seed, noise=0.01)
    fitted = LearningCurve(form="saturating", fixed_shape=shape).fit(N_H, N_S, y)
    x = fitted.params_.vector()
    assert (x[2], x[3], x[4], x[6]) == pytest.approx(shape)

    def residuals(ceiling_and_gap):
        vector = x.copy()
        vector[0], vector[1] = ceiling_and_gap
        return curve(vector, N_H, N_S, "saturating")[0] - y

    converged = least_squares(residuals, [float(y.max()), 0.0], xtol=1e-14, ftol=1e-14, gtol=1e-14, max_nfev=10_000)
    assert (x[0], x[1]) == pytest.approx(tuple(converged.x), rel=1e-6, abs=1e-9)
    assert np.sum(residuals(x[:2]) ** 2) <= 2 * converged.cost + 1e-15
    for nudge in ([1e-4, 0], [-1e-4, 0], [0, 1e-3], [0, -1e-3]):  # no nearby ceiling and gap do better
        assert np.sum(residuals(x[:2] + nudge) ** 2) > np.sum(residuals(x[:2]) ** 2)


def test_a_pinned_shape_whose_outcomes_fall_as_the_samples_grow_keeps_the_gap_inside_its_bounds():
    """Outcomes that fall as samples grow (a higher-is-better metric) ask for a negative gap; the gap stays at
    its lower bound, as the bounded fit keeps it, and the ceiling is the best level for that gap."""
    shape = (0.7, 0.3, math.log(5000.0), math.log(400.0))
    y = 0.5 + 1e-5 * (N_H + N_S) / 1000.0  # rises slowly, never saturating
    falling = -y
    fitted = LearningCurve(form="saturating", fixed_shape=shape).fit(N_H, N_S, falling)
    assert fitted.params_.log_a == pytest.approx(-20.0)
    assert fitted.params_.c == pytest.approx(float(np.mean(falling)), abs=1e-6)


def test_the_named_positions_are_the_parameters_own_fields():
    """Param names each place of a curve's parameter vector and Shape each place of a prior's: a reordering of
    the fields, or of SHAPE, must move the names with it."""
    from dataclasses import fields

    from strategy.learning import SHAPE, SHAPE_PARAMS, CurveParams, Param, Shape

    params = CurveParams(c=0.9, log_a=-0.5, alpha=0.7, w=0.3, log_s=8.0, lam=0.02, log_n0=5.5)
    vector = params.vector()
    assert [f.name for f in fields(CurveParams)][:len(Param)] == [p.name.lower() for p in Param]
    for p in Param:
        assert vector[p] == getattr(params, p.name.lower())
    assert [s.name.lower() for s in Shape] == list(SHAPE)
    assert [p.name for p in SHAPE_PARAMS] == [s.name for s in Shape]


def test_the_metric_direction_is_a_setting_and_fit_takes_the_outcomes_only():
    import inspect

    assert list(inspect.signature(LearningCurve.fit).parameters) == ["self", "n_human", "n_synthetic", "values"]
    y = simulate(truth(), 0)
    up = LearningCurve().fit(N_H, N_S, y)
    down = LearningCurve(higher_is_better=False).fit(N_H, N_S, -y)
    assert down.predict(N_H, N_S) == pytest.approx(-up.predict(N_H, N_S), abs=1e-9)


def test_each_curve_form_pins_what_it_has_no_use_for():
    from strategy.learning import CURVE_FORMS, SHAPE_PARAMS, Param

    assert tuple(CURVE_FORMS) == FORMS
    n_h, n_s = np.array([10.0, 100.0, 50.0]), np.array([0.0, 500.0, 5_000.0])
    x = np.array([0.9, np.log(0.5), 0.7, 0.4, np.log(800.0), 0.05, np.log(30.0)])
    for name, form in CURVE_FORMS.items():
        lower, upper = form.bounds()
        pinned_lam = upper[Param.LAM] - lower[Param.LAM] < 1e-9
        assert pinned_lam == (name != "penalised")
        jacobian = form.jacobian(x, n_h, n_s)
        for shape in form.unused:  # a parameter the form ignores moves nothing
            assert np.all(jacobian[:, SHAPE_PARAMS[shape]] == 0), (name, shape)
    # Each form's curve, written out by hand from the module's docstring.
    c, a, alpha, w, s, lam, n0 = x[0], np.exp(x[1]), x[2], x[3], np.exp(x[4]), x[5], np.exp(x[6])
    saturating = n_h + w * s * (1 - np.exp(-n_s / s))
    by_hand = {"linear": c - a * (1 + (n_h + w * n_s) / n0) ** -alpha,
               "saturating": c - a * (1 + saturating / n0) ** -alpha,
               "penalised": c - a * (1 + saturating / n0) ** -alpha - lam * n_s / (n_s + n_h)}
    for name, form in CURVE_FORMS.items():
        assert np.allclose(form.curve(x, n_h, n_s)[0], by_hand[name], rtol=1e-12), name
