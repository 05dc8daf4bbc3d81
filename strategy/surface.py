"""A posterior over learning-curve surfaces: Bayesian averaging over a grid of curve shapes.

The surface keeps the curve family of :mod:`strategy.learning` (synthetic samples worth ``w`` human ones
each and saturating at ``S``; a penalty ``λ`` on r = n_s / (n_s + n_h + K))::

    n_eff  = n_h + w·S·(1 − exp(−n_s/S))
    metric = c − A·(1 + n_eff/n0)^(−α) − λ·r

but no longer trusts one least-squares fit of its parameters. The non-linear shape (α, n0, w, S, K)
takes every value of a fixed grid; for each shape the curve is linear in (c, A, λ), so the posterior of
those and of the noise is exact (normal–inverse-gamma), and so is the evidence for the shape (its marginal
likelihood). Shapes are then weighted by evidence times prior (the pooled or default prior over shapes).
Why this and not the point fit: with six to fourteen pilot runs the seven-parameter fit lands in whichever
corner its starting point favours, and its bootstrap refits share that corner, so the decision inherited
one shape's extrapolation and grew more wrong as points were added. Averaging over every shape the evidence
allows lets the spread of plausible extrapolations show, and the decision is taken on the expected metric
over that spread (see :mod:`strategy.decision`).

Everything is deterministic: the grid is fixed and posterior draws come from a seeded generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.special import gammaln, stdtr

from strategy.learning import PENALTY_SCALE, Param, Prior, Shape, synthetic_penalty

FORM = "surface"
# The shape grid. α: how fast returns diminish; n0: the pre-learned data size of a rectified power law
# (evidence.md §1); w: worth of one synthetic sample in human samples (0 = worthless); S: where synthetic
# data saturates (evidence.md §1, the data-constrained scaling form).
ALPHAS = tuple(float(v) for v in np.round(np.geomspace(0.15, 2.0, 8), 4))
N0S = tuple(float(v) for v in np.round(np.geomspace(0.5, 4000.0, 8), 3))
WORTHS = (0.0, *(float(v) for v in np.round(np.geomspace(0.004, 1.5, 7), 4)))
SATURATIONS = tuple(float(v) for v in np.round(np.geomspace(10.0, 1e6, 8), 1))
# K, the penalty's scale. K = 0 penalises the synthetic share of samples: the whole harm arrives once synthetic
# samples outnumber human ones, which at prices 100x apart is any plan that buys synthetic data at all. Real
# harm (wrong labels, lost tails) often builds with the synthetic count itself; a larger K says so, and the
# evidence weighs each over the same range of counts as S. On the decision benchmark the share alone chose
# human-only in 1,576 of the 3,876 scenarios where a mix measured best.
PENALTY_SCALES = (0.0, *(float(v) for v in np.geomspace(10.0, 1e6, 6)))
N_DRAWS = 240
MAX_SHAPES_KEPT = 120


def _shape_grid() -> np.ndarray:
    rows = []
    for alpha in ALPHAS:
        for n0 in N0S:
            rows.append((alpha, math.log(n0), 0.0, math.log(SATURATIONS[-1])))  # synthetic worthless: S moot
            for w in WORTHS[1:]:
                for s in SATURATIONS:
                    rows.append((alpha, math.log(n0), w, math.log(s)))
    return np.array(rows)


SHAPES = _shape_grid()  # columns: alpha, log_n0, w, log_s
_GRID_TRIPLES = np.unique(SHAPES[:, 1:4], axis=0, return_inverse=True)


def basis(shapes: np.ndarray, n_h, n_s) -> tuple[np.ndarray, np.ndarray]:
    """The two non-constant regressors at every point: g = (1 + n_eff/n0)^(−α) of every shape, shape (k, m),
    and the penalty's r = n_s / (n_s + n_h + K) of every scale K of PENALTY_SCALES, shape (scales, m)."""
    n_h = np.asarray(n_h, dtype=float).reshape(1, -1)
    n_s = np.asarray(n_s, dtype=float).reshape(1, -1)
    # Many shapes share (n0, w, S) and differ only in α: take the logarithm once per distinct triple.
    triples, which = _GRID_TRIPLES if shapes is SHAPES else np.unique(shapes[:, 1:4], axis=0, return_inverse=True)
    log_n0, w, log_s = (triples[:, i:i + 1] for i in range(3))
    s = np.exp(log_s)
    n_eff = n_h + w * s * -np.expm1(-n_s / s)
    log_u = np.log1p(n_eff / np.exp(log_n0))
    g = np.exp(-shapes[:, 0:1] * log_u[which.reshape(-1)])
    r = synthetic_penalty(n_h, n_s, np.asarray(PENALTY_SCALES, dtype=float).reshape(-1, 1))
    return g, r


def default_prior(n_h=None, n_s=None) -> Prior:
    """The shape prior without pooled knowledge: centred as :meth:`Prior.default` (α 0.8, w 0.3, S and n0
    at the logged counts' medians) but wider on α and w (sd 1 instead of 0.5), since the grid itself bounds
    them; narrower spreads, fine for regularising one point fit, cost decisions on the real-data benchmark."""
    centre = Prior.default(None if n_h is None else np.asarray(n_h, float),
                           None if n_s is None else np.asarray(n_s, float))
    return Prior(mean=centre.mean, sd=(1.0, 1.0, *centre.sd[2:]), source="default")


def _shape_log_density(prior: Prior) -> np.ndarray:
    """Independent normal log densities of the grid shapes under ``prior`` (α, w, log S, log n0)."""
    mean, sd = np.array(prior.mean), np.array(prior.sd)
    log_density = np.zeros(len(SHAPES))
    for column, index in ((0, Shape.ALPHA), (2, Shape.W), (3, Shape.LOG_S), (1, Shape.LOG_N0)):  # SHAPES column
        deviation = (SHAPES[:, column] - mean[index]) / sd[index]
        if column == 3:  # S means nothing when synthetic data is worth nothing
            deviation = np.where(SHAPES[:, 2] == 0, 0.0, deviation)
        log_density -= 0.5 * deviation ** 2 + math.log(sd[index])
    return log_density


def _inverse_and_log_det(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse and log determinant of a stack of symmetric positive-definite 3×3 matrices, by cofactors: a
    fit inverts one per shape and scale (25,536), where a general LU solve took a third of the fit."""
    a, b, c = matrix[:, 0, 0], matrix[:, 0, 1], matrix[:, 0, 2]
    d, e, f = matrix[:, 1, 1], matrix[:, 1, 2], matrix[:, 2, 2]
    cof = np.empty_like(matrix)
    cof[:, 0, 0] = d * f - e * e
    cof[:, 0, 1] = cof[:, 1, 0] = c * e - b * f
    cof[:, 0, 2] = cof[:, 2, 0] = b * e - c * d
    cof[:, 1, 1] = a * f - c * c
    cof[:, 1, 2] = cof[:, 2, 1] = b * c - a * e
    cof[:, 2, 2] = a * d - b * b
    det = a * cof[:, 0, 0] + b * cof[:, 0, 1] + c * cof[:, 0, 2]
    return cof / det[:, None, None], np.log(det)


# Each constraint's log odds, log P(≥ 0) − log ½, is at most log 2.
_MOST_CONSTRAINT_GAIN = 2 * math.log(2.0)


def _kept(unconstrained: np.ndarray, constraint_log_odds) -> tuple[np.ndarray, np.ndarray]:
    """The shapes a posterior keeps (at most MAX_SHAPES_KEPT, best first, within a factor 10^6 of the best)
    and their log weights, where a shape's log weight is ``unconstrained`` plus its constraint log odds.

    The odds (a Student t CDF per shape and constraint) are computed only for the shapes that could be kept:
    best-first by unconstrained weight, until the odds' ceiling proves that none of the rest can reach the
    kept set. The result is the one computing every shape's odds gives."""
    order = np.argsort(-unconstrained, kind="stable")
    total, count = len(order), min(len(order), 4 * MAX_SHAPES_KEPT)
    while True:
        which = order[:count]
        log_weight = unconstrained[which] + constraint_log_odds(which)
        ranked = np.lexsort((which, -log_weight))[:MAX_SHAPES_KEPT]  # ties: the grid's order, as a stable sort
        ranked = ranked[log_weight[ranked] > log_weight[ranked[0]] + math.log(1e-6)]
        lowest = log_weight[ranked[-1]] if len(ranked) == MAX_SHAPES_KEPT else log_weight[ranked[0]] + math.log(1e-6)
        if count == total or unconstrained[order[count]] + _MOST_CONSTRAINT_GAIN < lowest:
            return which[ranked], log_weight[ranked]
        count = min(total, 4 * count)


@dataclass
class SurfacePosterior:
    """Posterior over curve surfaces for one task's outcomes.

    Settings: ``prior`` over the shape (mean and sd of α, w, log S, λ, log n0 as :class:`Prior` holds
    them; λ's entry is unused here, λ being linear), the number of posterior draws, and the seed.
    Fitted attributes end in ``_``.
    """

    prior: Prior | None = None
    n_draws: int = N_DRAWS
    random_state: int = 0
    # Lower-is-better metrics are fitted with their sign flipped and predicted in their own units.
    higher_is_better: bool = True
    # Normal–inverse-gamma prior in standardised metric units: a noise sd of about a sixth of the
    # outcomes' spread is expected (b0 / a0), and coefficients may be several spreads large.
    # The noise prior is empirical: centred on the residual variance of a plain three-term fit in log
    # counts, worth ``noise_a0`` pseudo-outcomes (the flexible surfaces, chosen among thousands of shapes,
    # would otherwise mistake their own overfit for a small noise; measured on the decision benchmark,
    # their residuals put the noise at half the spread between repeated runs).
    noise_a0: float = 2.0
    # A run's metric varies less the more data it trained on: noise variance ∝ (1 + n_h + n_s)^(−power).
    # 0 gives equal noise everywhere.
    noise_power: float = 0.0
    coef_scale: tuple[float, float, float] = (20.0, 20.0, 3.0)
    shapes_: np.ndarray | None = field(default=None, init=False)
    weights_: np.ndarray | None = field(default=None, init=False)
    means_: np.ndarray | None = field(default=None, init=False)
    covs_: np.ndarray | None = field(default=None, init=False)
    a_: np.ndarray | None = field(default=None, init=False)
    b_: np.ndarray | None = field(default=None, init=False)
    centre_: float = field(default=0.0, init=False)
    scale_: float = field(default=1.0, init=False)
    sign_: float = field(default=1.0, init=False)
    size_ref_: float = field(default=1.0, init=False)
    n_: int = field(default=0, init=False)
    _draws: np.ndarray | None = field(default=None, init=False, repr=False)

    def fit(self, n_human, n_synthetic, values) -> SurfacePosterior:
        n_h = np.asarray(n_human, dtype=float)
        n_s = np.asarray(n_synthetic, dtype=float)
        self.sign_ = 1.0 if self.higher_is_better else -1.0
        y = self.sign_ * np.asarray(values, dtype=float)
        if len(y) < 2:
            raise ValueError("a surface needs at least two outcomes")
        self.centre_ = float(np.mean(y))
        self.scale_ = max(float(np.std(y)), 1e-3 * max(abs(self.centre_), 1.0), 1e-9)
        z = (y - self.centre_) / self.scale_
        m = len(z)
        self.size_ref_ = float(np.exp(np.mean(np.log1p(n_h + n_s))))
        root_weight = 1.0 / self.noise_scale(n_h, n_s)
        g, r = basis(SHAPES, n_h, n_s)
        # Weighted least squares (each row divided by its noise scale) for the design [1, −g, −r] of every
        # shape and penalty scale at once (row i·J + j is shape i with scale j); the cross products are
        # written out because they are a few matrix products, where a general (shapes × outcomes × 3 × 3)
        # contraction was most of a fit's time.
        g = g * root_weight[None, :]
        one, r, z = root_weight, r * root_weight[None, :], z * root_weight
        k, j = len(SHAPES), len(r)
        gram = np.empty((k, j, 3, 3))
        gram[..., 0, 0] = one @ one
        gram[..., 0, 1] = gram[..., 1, 0] = -(g @ one)[:, None]
        gram[..., 0, 2] = gram[..., 2, 0] = -(r @ one)[None, :]
        gram[..., 1, 1] = np.einsum("km,km->k", g, g)[:, None]
        gram[..., 1, 2] = gram[..., 2, 1] = g @ r.T
        gram[..., 2, 2] = np.einsum("jm,jm->j", r, r)[None, :]
        gram = gram.reshape(k * j, 3, 3)
        xty = np.column_stack([np.full(k * j, one @ z), np.repeat(-(g @ z), j), np.tile(-(r @ z), k)])
        precision0 = np.diag(1.0 / np.square(self.coef_scale))
        precision = precision0[None] + gram
        covs, logdet_precision = _inverse_and_log_det(precision)
        means = np.einsum("kij,kj->ki", covs, xty)
        residual = z @ z - np.einsum("ki,kij,kj->k", means, precision, means)
        # The noise prior's centre: the plain log-linear fit's residual variance, or, when the outcomes are
        # many enough to say so, the best surface's (charged 6 parameters), whichever is smaller: the first
        # guards a small pilot against a surface that explains its noise, the second keeps a smooth curve
        # with little noise from being read as noisy.
        reference = self._reference_noise(n_h, n_s, z, root_weight)  # z is weighted already
        reference = min(reference, max(float(residual.min()), 0.0) / max(m - 6, 1))
        b0 = self.noise_a0 * float(np.clip(reference, 0.005, 1.0))
        a_n = self.noise_a0 + m / 2.0
        b_n = b0 + 0.5 * residual
        b_n = np.maximum(b_n, 1e-12)
        evidence = (0.5 * (np.log(np.diag(precision0)).sum() - logdet_precision)
                    + self.noise_a0 * math.log(b0) - a_n * np.log(b_n)
                    + gammaln(a_n) - gammaln(self.noise_a0))
        # The gap A and the penalty λ are constrained ≥ 0 (more human data never hurts; the penalty never
        # helps by itself): with priors symmetric about 0 truncated to ≥ 0, each shape's evidence is
        # its unconstrained evidence times the posterior's odds of satisfying the constraints.
        unconstrained = evidence + np.repeat(self._log_prior(n_h, n_s), j)  # every scale K alike a priori
        keep, log_weight = _kept(unconstrained, lambda which: self._constraint_log_odds(
            means[which], covs[which], a_n, b_n[which]))
        weights = np.exp(log_weight - log_weight.max())
        shapes = np.column_stack([SHAPES[keep // j], np.asarray(PENALTY_SCALES)[keep % j]])  # α, log n0, w, log S, K
        self.shapes_, self.means_, self.covs_ = shapes, means[keep], covs[keep]
        self.weights_ = weights / weights.sum()
        self.a_ = np.full(len(keep), a_n)
        self.b_ = b_n[keep]
        self.n_ = m
        self._draws = None
        return self

    @staticmethod
    def _reference_noise(n_h, n_s, z, root_weight) -> float:
        """Residual variance (standardised, weighted units) of z ~ 1 + log(1 + n_h) + log(1 + n_s)."""
        design = np.column_stack([np.ones_like(z), np.log1p(n_h), np.log1p(n_s)]) * root_weight[:, None]
        coef, *_ = np.linalg.lstsq(design, z, rcond=None)
        residual = z - design @ coef
        dof = max(len(z) - np.linalg.matrix_rank(design), 1)
        return float(np.clip(residual @ residual / dof, 0.005, 1.0))

    def noise_scale(self, n_h, n_s) -> np.ndarray:
        """A run's noise sd relative to the fitted σ at these counts (1 at the outcomes' typical size)."""
        size = 1.0 + np.asarray(n_h, dtype=float) + np.asarray(n_s, dtype=float)
        return (size / self.size_ref_) ** (-self.noise_power / 2.0)

    @staticmethod
    def _constraint_log_odds(means, covs, a_n, b_n) -> np.ndarray:
        log_odds = np.zeros(len(means))
        for index in (1, 2):  # A, λ: the Student-t marginals of the posterior
            scale = np.sqrt(np.maximum(b_n / a_n * covs[:, index, index], 1e-300))
            # scipy.special's Student t CDF: scipy.stats would add half a second to every app start.
            log_odds += np.log(np.maximum(stdtr(2 * a_n, means[:, index] / scale), 1e-300)) - math.log(0.5)
        return log_odds

    def _log_prior(self, n_h: np.ndarray, n_s: np.ndarray) -> np.ndarray:
        """Log prior weight of every grid shape. A pooled prior (learned from other tasks) enters as one
        half of a mixture with the default prior: when the pooled model predicts this task badly, the
        evidence can still reach shapes it rules out (on the demo a pooled prior alone doubled the
        backtest error)."""
        default = default_prior(n_h, n_s)
        if self.prior is None or self.prior.source == "default":
            return _shape_log_density(default)
        both = np.vstack([_shape_log_density(default), _shape_log_density(self.prior)])
        top = both.max(axis=0)
        return top + np.log(0.5 * np.exp(both[0] - top) + 0.5 * np.exp(both[1] - top))

    # ------------------------------------------------------------------------------------ draws
    def draws(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior draws as curve parameter vectors (k, 8) in :func:`strategy.learning.curve`'s layout, the
        penalty's scale K last (sign-adjusted units), and each draw's noise sd (k,) at the outcomes' typical
        size (multiply by :meth:`noise_scale` for a run of other counts)."""
        if self._draws is None:
            self._draws = self._sample()
        return self._draws[:, :PENALTY_SCALE + 1], self._draws[:, PENALTY_SCALE + 1]

    def _sample(self) -> np.ndarray:
        rng = np.random.default_rng(self.random_state)
        # Systematic resampling of the shapes: each shape gets its share of draws, up to rounding.
        positions = (np.arange(self.n_draws) + 0.5) / self.n_draws
        which = np.minimum(np.searchsorted(np.cumsum(self.weights_), positions), len(self.weights_) - 1)
        chol = np.linalg.cholesky(self.covs_ + 1e-12 * np.eye(3))[which]
        coef = np.empty((self.n_draws, 3))
        variance = np.empty(self.n_draws)
        pending = np.arange(self.n_draws)
        # Rejection sampling of the constraints A ≥ 0, λ ≥ 0 (their odds are in the weights already);
        # a draw that keeps failing is clipped onto the boundary.
        for attempt in range(40):
            var = self.b_[which[pending]] / rng.gamma(self.a_[which[pending]], 1.0)
            draw = self.means_[which[pending]] + np.sqrt(var)[:, None] * np.einsum(
                "kij,kj->ki", chol[pending], rng.standard_normal((len(pending), 3)))
            ok = (draw[:, 1] >= 0) & (draw[:, 2] >= 0) if attempt < 39 else np.ones(len(pending), bool)
            coef[pending[ok]], variance[pending[ok]] = draw[ok], var[ok]
            pending = pending[~ok]
            if not len(pending):
                break
        c = self.centre_ + self.scale_ * coef[:, 0]
        gap = np.maximum(self.scale_ * coef[:, 1], 1e-12)
        lam = np.maximum(self.scale_ * coef[:, 2], 0.0)
        alpha, log_n0, w, log_s, scale = (self.shapes_[which, i] for i in range(5))
        params = np.column_stack([c, np.log(gap), alpha, w, log_s, lam, log_n0, scale])
        noise = self.scale_ * np.sqrt(variance)
        return np.column_stack([params, noise])

    def shape_summary(self) -> np.ndarray:
        """Posterior mean shape in the pooled prior's coordinates (α, w, log S, λ/spread, log n0)."""
        params, _ = self.draws()
        lam = float(np.mean(params[:, Param.LAM])) / self.scale_
        return np.array([params[:, Param.ALPHA].mean(), params[:, Param.W].mean(), params[:, Param.LOG_S].mean(), lam,
                         params[:, Param.LOG_N0].mean()])

    # ---------------------------------------------------------------------------- persistence
    def to_dict(self) -> dict:
        return {"form": FORM, "shapes": self.shapes_.tolist(), "weights": self.weights_.tolist(),
                "means": self.means_.tolist(), "covs": self.covs_.tolist(), "a": self.a_.tolist(),
                "b": self.b_.tolist(), "centre": self.centre_, "scale": self.scale_, "sign": self.sign_,
                "n": self.n_, "n_draws": self.n_draws, "random_state": self.random_state,
                "noise_power": self.noise_power, "size_ref": self.size_ref_}

    @classmethod
    def from_dict(cls, data: dict) -> SurfacePosterior:
        posterior = cls(n_draws=int(data["n_draws"]), random_state=int(data["random_state"]),
                        noise_power=float(data["noise_power"]), higher_is_better=float(data["sign"]) > 0)
        posterior.size_ref_ = float(data["size_ref"])
        shapes = np.array(data["shapes"], dtype=float)
        if shapes.shape[1] == 4:  # stored before the penalty had a scale: the share (K = 0)
            shapes = np.column_stack([shapes, np.zeros(len(shapes))])
        posterior.shapes_ = shapes
        posterior.weights_ = np.array(data["weights"], dtype=float)
        posterior.means_ = np.array(data["means"], dtype=float)
        posterior.covs_ = np.array(data["covs"], dtype=float)
        posterior.a_ = np.array(data["a"], dtype=float)
        posterior.b_ = np.array(data["b"], dtype=float)
        posterior.centre_, posterior.scale_ = float(data["centre"]), float(data["scale"])
        posterior.sign_, posterior.n_ = float(data["sign"]), int(data["n"])
        return posterior
