"""Learning curves over human and synthetic sample counts, fitted to a task's logged outcomes.

The curve (in the metric's own units, written for higher-is-better; a
lower-is-better metric is fitted with its sign flipped):

    n_eff  = n_h + w·S·(1 − exp(−n_s / S))            synthetic worth w human samples each, saturating at S
    metric = c − A·(1 + n_eff/n0)^(−α) − λ·r           r = n_s / (n_s + n_h + K)

A is the gap between the ceiling c and what no data gives; n0 is the
"pre-learned" data size of a rectified power law (Lin et al., ICML 2024), which
fits small pilot runs far better than a plain power law (evidence.md §1).

The last term lets synthetic data help while human data is scarce (its gain
through n_eff is steep there) and hurt once human data is plentiful (the gain
flattens and the penalty remains), as evidence.md §2 reports; more human
data never lowers the curve. With K = 0, r is the synthetic share of samples, at
its full weight as soon as synthetic samples outnumber human ones; a larger K (the
surface of :mod:`strategy.surface` weighs several) lets the harm grow with the
synthetic count itself, half of it K samples past the human count. w → 0 says the task's synthetic data is worthless. The forms "linear" (no saturation, no penalty) and "saturating"
(no penalty) are kept for the backtest that chose "penalised".

Tasks with few outcomes borrow strength from :class:`PooledPrior`, a
scikit-learn ridge regression from the task profile to the curve's shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
from scipy.optimize import least_squares
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

FORMS = ("linear", "saturating", "penalised")
DEFAULT_FORM = "penalised"
# Shape parameters that the prior (pooled or default) speaks about, in fit coordinates.
SHAPE = ("alpha", "w", "log_s", "lam", "log_n0")


class Param(IntEnum):
    """Where each parameter sits in a curve's parameter vector (CurveParams.vector(), the fit's x)."""

    C = 0  # the ceiling
    LOG_A = 1  # log of the gap between the ceiling and what no data gives
    ALPHA = 2
    W = 3  # what one synthetic sample is worth in human samples
    LOG_S = 4  # log of where synthetic data saturates
    LAM = 5  # the penalty on the synthetic share
    LOG_N0 = 6


class Shape(IntEnum):
    """Where each shape parameter sits in a prior's mean and sd (SHAPE's order)."""

    ALPHA = 0
    W = 1
    LOG_S = 2
    LAM = 3  # relative to the task's metric spread
    LOG_N0 = 4


# The curve parameter behind each shape parameter, in SHAPE's order.
SHAPE_PARAMS = (Param.ALPHA, Param.W, Param.LOG_S, Param.LAM, Param.LOG_N0)
# What LearningCurve(fixed_shape=(α, w, log S, log n0)) pins, in that order.
PINNED_SHAPE = (Param.ALPHA, Param.W, Param.LOG_S, Param.LOG_N0)
MIN_OUTCOMES_FOR_MODEL = 3
W_MAX = 1.5


@dataclass(frozen=True)
class Prior:
    """Centre and spread of the shape parameters; each acts like one pseudo-outcome per parameter."""

    mean: tuple[float, ...]
    sd: tuple[float, ...]
    source: str = "default"

    @classmethod
    def default(cls, n_human: np.ndarray | None = None, n_synthetic: np.ndarray | None = None) -> Prior:
        def typical(counts, fallback):
            positive = counts[counts > 0] if counts is not None else np.array([])
            return float(np.median(positive)) if positive.size else fallback
        return cls(mean=(0.8, 0.3, math.log(typical(n_synthetic, 1000.0)), 0.0, math.log(typical(n_human, 300.0))),
                   sd=(0.5, 0.5, 2.5, 0.5, 2.5), source="default")


@dataclass
class CurveParams:
    """Fitted parameters; ``sign`` is +1 for higher-is-better metrics, −1 otherwise."""

    c: float
    log_a: float
    alpha: float
    w: float
    log_s: float
    lam: float
    log_n0: float
    sign: float = 1.0
    form: str = DEFAULT_FORM

    def vector(self) -> np.ndarray:
        return np.array([self.c, self.log_a, self.alpha, self.w, self.log_s, self.lam, self.log_n0])

    @classmethod
    def from_vector(cls, x, sign: float, form: str) -> CurveParams:
        return cls(*(float(v) for v in x), sign=sign, form=form)

    def to_dict(self) -> dict:
        return {"c": self.c, "log_a": self.log_a, "alpha": self.alpha, "w": self.w, "log_s": self.log_s,
                "lam": self.lam, "log_n0": self.log_n0, "sign": self.sign, "form": self.form}


class CurveForm:
    """One family of learning curves: its value, its derivatives and its bounds. The base is the saturating
    curve without a penalty; :data:`CURVE_FORMS` holds one of each by name."""

    name = "saturating"
    # The shape parameters the form has no use for: their bounds pin them and the prior does not pull them.
    unused: tuple[Shape, ...] = (Shape.LAM,)

    def curve(self, x: np.ndarray, n_h, n_s) -> np.ndarray:
        """Sign-adjusted metric (higher is better) at sample counts; ``x`` is one vector or a stack (k, 7+)."""
        x = np.atleast_2d(x)
        c, log_a, alpha, w, log_s, lam, log_n0 = (x[:, i:i + 1] for i in Param)
        n_h = np.asarray(n_h, dtype=float)[None, ...].reshape(1, -1)
        n_s = np.asarray(n_s, dtype=float)[None, ...].reshape(1, -1)
        value = c - np.exp(log_a) * (1.0 + self.effective_count(n_h, n_s, w, np.exp(log_s)) / np.exp(log_n0)) ** (-alpha)
        return value - self.penalty(x, n_h, n_s, lam)

    def effective_count(self, n_h, n_s, w, s):
        """Human samples plus what the synthetic ones are worth, saturating at S. Written out rather than from
        :meth:`synthetic_worth`, whose grouping of the product would move fitted values in the last bits."""
        return n_h + w * s * -np.expm1(-n_s / s)

    def synthetic_worth(self, n_s: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
        """What the synthetic samples are worth before w, and its derivative with respect to log S."""
        synthetic = s * -np.expm1(-n_s / s)
        return synthetic, synthetic - n_s * np.exp(-n_s / s)

    def penalty(self, x: np.ndarray, n_h, n_s, lam):
        return 0.0

    def penalty_gradient(self, n_h: np.ndarray, n_s: np.ndarray) -> np.ndarray:
        """The derivative of the curve with respect to λ."""
        return np.zeros_like(n_s)

    def jacobian(self, x: np.ndarray, n_h, n_s) -> np.ndarray:
        """Derivatives of :meth:`curve` (one parameter vector) with respect to the 7 parameters, shape (m, 7)."""
        c, log_a, alpha, w, log_s, lam, log_n0 = x
        n_h, n_s = np.asarray(n_h, float), np.asarray(n_s, float)
        s, a, n0 = math.exp(log_s), math.exp(log_a), math.exp(log_n0)
        synthetic, worth_log_s = self.synthetic_worth(n_s, s)
        n_eff = n_h + w * synthetic
        u = 1.0 + n_eff / n0
        power = u ** (-alpha)
        d_eff = a * alpha * power / u / n0
        jac = np.empty((len(n_h), 7))
        jac[:, Param.C] = 1.0
        jac[:, Param.LOG_A] = -a * power
        jac[:, Param.ALPHA] = a * power * np.log(u)
        jac[:, Param.W] = d_eff * synthetic
        jac[:, Param.LOG_S] = d_eff * (w * worth_log_s)
        jac[:, Param.LAM] = self.penalty_gradient(n_h, n_s)
        jac[:, Param.LOG_N0] = -d_eff * n_eff
        return jac

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lower = [-np.inf, -20.0, 0.05, 0.0, math.log(1.0), 0.0, math.log(0.1)]
        upper = [np.inf, 20.0, 3.0, W_MAX, math.log(1e9), np.inf, math.log(1e8)]
        if Shape.LAM in self.unused:
            upper[Param.LAM] = 1e-12  # λ pinned at 0: this form has no penalty
        return np.array(lower), np.array(upper)


class LinearForm(CurveForm):
    """Every synthetic sample worth w human ones, however many: no saturation, no penalty."""

    name = "linear"
    unused = (Shape.LOG_S, Shape.LAM)

    def effective_count(self, n_h, n_s, w, s):
        return n_h + w * n_s

    def synthetic_worth(self, n_s, s):
        return n_s, np.zeros_like(n_s)


class PenalisedForm(CurveForm):
    """The saturating curve less λ·r, the penalty of :func:`synthetic_penalty`."""

    name = "penalised"
    unused = ()

    def penalty(self, x, n_h, n_s, lam):
        # An eighth column, when given, is the penalty's scale K (the surface's draws carry one).
        scale = x[:, PENALTY_SCALE:PENALTY_SCALE + 1] if x.shape[1] > PENALTY_SCALE else 0.0
        return lam * synthetic_penalty(n_h, n_s, scale)

    def penalty_gradient(self, n_h, n_s):
        return -synthetic_penalty(n_h, n_s)  # the least-squares form penalises the share (K = 0)


CURVE_FORMS: dict[str, CurveForm] = {form.name: form for form in (LinearForm(), CurveForm(), PenalisedForm())}
assert tuple(CURVE_FORMS) == FORMS


def curve(x: np.ndarray, n_h, n_s, form: str) -> np.ndarray:
    """Sign-adjusted metric (higher is better) of the named form; ``x`` may be one vector or a stack (k, 7)."""
    return CURVE_FORMS[form].curve(x, n_h, n_s)


PENALTY_SCALE = len(Param)  # the column of K in a parameter vector that carries one


def synthetic_penalty(n_h, n_s, scale=0.0) -> np.ndarray:
    """The penalty's regressor r = n_s / (n_s + n_h + K), 0 where no sample is bought; K = 0 is the
    synthetic share of samples. Broadcasts ``scale`` (K) against the counts."""
    n_h, n_s = np.asarray(n_h, dtype=float), np.asarray(n_s, dtype=float)
    total = n_s + n_h + np.asarray(scale, dtype=float)
    return np.divide(n_s, total, out=np.zeros(np.broadcast(n_s, total).shape), where=total > 0)


def curve_jacobian(x: np.ndarray, n_h, n_s, form: str) -> np.ndarray:
    """Derivatives of :func:`curve` (one parameter vector) with respect to the 7 parameters, shape (m, 7)."""
    return CURVE_FORMS[form].jacobian(x, n_h, n_s)


@dataclass
class LearningCurve:
    """Fit one task's learning curve by bounded least squares with a prior on its shape.

    Settings in the constructor, ``fit`` on the outcomes only; fitted attributes end in ``_``. Deterministic:
    the starting points are fixed.
    """

    form: str = DEFAULT_FORM
    prior: Prior | None = None
    prior_weight: float = 1.0
    # Lower-is-better metrics (an error rate) are fitted with their sign flipped and predicted in their own units.
    higher_is_better: bool = True
    # Pin the shape (α, w, log S, log n0) instead of fitting it: only ceiling and gap are learned.
    fixed_shape: tuple[float, float, float, float] | None = None
    params_: CurveParams | None = field(default=None, init=False)
    sigma_: float = field(default=float("nan"), init=False)
    spread_: float = field(default=1.0, init=False)
    n_: int = field(default=0, init=False)

    def _bounds(self):
        lower, upper = CURVE_FORMS[self.form].bounds()
        if self.fixed_shape is not None:
            for index, value in zip(PINNED_SHAPE, self.fixed_shape, strict=True):
                lower[index], upper[index] = value - 1e-9, value + 1e-9
        return lower, upper

    def _residuals(self, x, n_h, n_s, y, prior: Prior):
        form = CURVE_FORMS[self.form]
        fit = form.curve(x, n_h, n_s)[0] - y
        # The prior counts as one outcome per shape parameter, in the metric's own units.
        scale = self.prior_weight * max(self.spread_ * 0.05, 1e-9)
        shape = x[list(SHAPE_PARAMS)] / np.array([1.0, 1.0, 1.0, self.spread_, 1.0])
        pull = scale * (shape - np.array(prior.mean)) / np.array(prior.sd)
        if self.fixed_shape is not None:
            pull[:] = 0.0
        pull[list(form.unused)] = 0.0
        return np.concatenate([fit, pull])

    def _jacobian(self, x, n_h, n_s, y, prior: Prior):
        form = CURVE_FORMS[self.form]
        fit = form.jacobian(x, n_h, n_s)
        scale = self.prior_weight * max(self.spread_ * 0.05, 1e-9)
        pull = np.zeros((5, 7))
        for row, column in enumerate(SHAPE_PARAMS):
            pull[row, column] = scale / prior.sd[row] / (self.spread_ if column == Param.LAM else 1.0)
        pull[list(form.unused)] = 0.0
        if self.fixed_shape is not None:
            pull[:] = 0.0
        return np.vstack([fit, pull])

    def _starts(self, n_h, n_s, y, prior: Prior):
        top = float(y.max()) + 0.2 * self.spread_
        log_a = math.log(max(top - float(y.min()), 1e-6) * 1.5)
        alpha = float(np.clip(prior.mean[Shape.ALPHA], 0.1, 2.0))
        return [np.array([top, log_a, alpha, float(np.clip(w, 0.01, 1.0)), prior.mean[Shape.LOG_S], 0.0,
                          prior.mean[Shape.LOG_N0]]) for w in (prior.mean[Shape.W], 0.05)]

    def fit(self, n_human, n_synthetic, values) -> LearningCurve:
        n_h = np.asarray(n_human, dtype=float)
        n_s = np.asarray(n_synthetic, dtype=float)
        sign = 1.0 if self.higher_is_better else -1.0
        y = sign * np.asarray(values, dtype=float)
        if len(y) < 2:
            raise ValueError("a learning curve needs at least two outcomes")
        self.spread_ = max(float(np.ptp(y)), 1e-3 * max(abs(float(np.mean(y))), 1.0))
        prior = self.prior or Prior.default(n_h, n_s)
        lower, upper = self._bounds()
        starts = self._starts(n_h, n_s, y, prior)
        if self.fixed_shape is not None:
            x = self._fit_fixed_shape(n_h, n_s, y, np.clip(starts[0], lower, upper))
        else:
            best = None
            for x0 in starts:
                x0 = np.clip(x0, lower, upper)
                result = least_squares(self._residuals, x0, jac=self._jacobian, bounds=(lower, upper),
                                       args=(n_h, n_s, y, prior), method="trf", x_scale="jac", max_nfev=100,
                                       ftol=1e-7, xtol=1e-7)
                if best is None or result.cost < best.cost:
                    best = result
            x = best.x
        self.params_ = CurveParams.from_vector(x, sign, self.form)
        residual = curve(x, n_h, n_s, self.form)[0] - y
        dof = max(len(y) - 3, 1)
        self.sigma_ = float(np.sqrt(np.sum(residual ** 2) / dof))
        self.n_ = len(y)
        return self

    def _fit_fixed_shape(self, n_h, n_s, y, x0: np.ndarray) -> np.ndarray:
        """With the shape pinned the curve is c − a·g with g known, so the least-squares ceiling and gap
        have a closed form (the bounded iterative fit crawled against the pinned bounds and stopped at its
        evaluation cap). The gap a stays inside its bounds, as the iterative fit keeps it."""
        x = x0.copy()
        x[Param.C], x[Param.LOG_A] = 0.0, 0.0
        g = -curve(x, n_h, n_s, self.form)[0]  # the curve's fall-off at each outcome, gap 1 and ceiling 0
        centred = g - g.mean()
        spread = float(centred @ centred)
        identified = spread > 1e-18 * max(float(g @ g), 1e-300)  # else every outcome sits at one fall-off
        a = -float(centred @ (y - y.mean())) / spread if identified else math.exp(x0[Param.LOG_A])
        a = float(np.clip(a, math.exp(-20.0), math.exp(20.0)))
        x[Param.LOG_A] = math.log(a)
        x[Param.C] = float(np.mean(y + a * g))
        return x

    def predict(self, n_human, n_synthetic) -> np.ndarray:
        """Expected metric in its own units (sign restored)."""
        if self.params_ is None:
            raise RuntimeError("fit the curve first")
        return self.params_.sign * curve(self.params_.vector(), n_human, n_synthetic, self.form)[0]


def shape_of(params: CurveParams, spread: float) -> np.ndarray:
    """The prior's coordinates of a fit: α, w, log S, λ relative to the task's metric spread, log n0."""
    return np.array([params.alpha, params.w, params.log_s, params.lam / max(spread, 1e-9), params.log_n0])


@dataclass
class PooledPrior:
    """Predicts a task's curve shape from its profile and its synthetic data's humanness, pooled over tasks.

    A ridge regression per shape parameter on standardised features; its
    residual spread becomes the prior's sd, so a poor pooled model pulls weakly.
    A feature missing for a task (NaN: humanness never measured) takes the mean
    of the tasks that have it, or 0 when none has.
    """

    ridge_alpha: float = 3.0
    model_: object = field(default=None, init=False)
    sd_: np.ndarray | None = field(default=None, init=False)
    n_tasks_: int = field(default=0, init=False)
    fill_: np.ndarray | None = field(default=None, init=False)

    def _filled(self, features: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(features), self.fill_, features)

    def fit(self, features: np.ndarray, shapes: np.ndarray) -> PooledPrior:
        features, shapes = np.asarray(features, float), np.asarray(shapes, float)
        present = ~np.isnan(features)
        sums = np.where(present, features, 0.0).sum(axis=0)
        self.fill_ = np.divide(sums, present.sum(axis=0), out=np.zeros(features.shape[1]),
                               where=present.sum(axis=0) > 0)
        features = self._filled(features)
        self.model_ = make_pipeline(StandardScaler(), Ridge(alpha=self.ridge_alpha)).fit(features, shapes)
        residual = shapes - self.model_.predict(features)
        floor = np.array(Prior.default().sd) * 0.25
        inflation = math.sqrt(len(shapes) / max(len(shapes) - 3, 1))
        self.sd_ = np.maximum(residual.std(axis=0) * inflation, floor)
        self.n_tasks_ = len(shapes)
        return self

    def predict(self, features: np.ndarray) -> Prior:
        mean = self.model_.predict(self._filled(np.asarray(features, float).reshape(1, -1)))[0]
        mean[Shape.ALPHA] = float(np.clip(mean[Shape.ALPHA], 0.05, 2.5))
        mean[Shape.W] = float(np.clip(mean[Shape.W], 0.0, W_MAX))
        mean[Shape.LAM] = float(max(mean[Shape.LAM], 0.0))
        return Prior(mean=tuple(float(v) for v in mean), sd=tuple(float(v) for v in self.sd_),
                     source=f"pooled over {self.n_tasks_} tasks")

    def to_dict(self) -> dict:
        scaler, ridge = self.model_.steps[0][1], self.model_.steps[1][1]
        return {"mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist(), "coef": ridge.coef_.tolist(),
                "intercept": ridge.intercept_.tolist(), "sd": self.sd_.tolist(), "n_tasks": self.n_tasks_,
                "ridge_alpha": self.ridge_alpha, "fill": self.fill_.tolist()}

    @staticmethod
    def readable(data: dict, features: int) -> bool:
        """Whether a stored prior was fitted on the features this version computes."""
        return "fill" in data and len(data["mean"]) == features

    @classmethod
    def from_dict(cls, data: dict) -> PooledPrior:
        pooled = cls(ridge_alpha=data["ridge_alpha"])
        scaler = StandardScaler()
        scaler.mean_, scaler.scale_ = np.array(data["mean"]), np.array(data["scale"])
        scaler.var_, scaler.n_features_in_ = scaler.scale_ ** 2, len(data["mean"])
        ridge = Ridge(alpha=data["ridge_alpha"])
        ridge.coef_, ridge.intercept_ = np.array(data["coef"]), np.array(data["intercept"])
        ridge.n_features_in_ = len(data["mean"])
        pooled.model_ = make_pipeline(scaler, ridge)
        pooled.sd_, pooled.n_tasks_ = np.array(data["sd"]), data["n_tasks"]
        pooled.fill_ = np.array(data["fill"])
        return pooled
