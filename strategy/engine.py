"""Deciding one task, without the catalog: its evidence, the posterior fit over surfaces, the plan under a
budget with the rules' floors and evaluation set, the class by what each source adds, the next experiment,
and the pooled prior that tasks with few outcomes borrow from. strategy.recommend gathers the evidence from
the catalog, runs this for one task or the portfolio, and stores the answers."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from strategy import budget as budgeting
from strategy import decision
from strategy.budget import Costs, Plan, sourcing_class
from strategy.errors import StrategyError
from strategy.learning import (
    MIN_OUTCOMES_FOR_MODEL,
    PooledPrior,
    curve,
)
from strategy.models import (
    FACTOR_NAMES,
    EvalSet,
    ExpectedMetric,
    NextExperiment,
    PlanValue,
    Recommendation,
    RuleEffect,
    SourceGains,
    Task,
)
from strategy.rules import Rulebook, Verdict, default_rulebook
from strategy.surface import FORM as SURFACE_FORM
from strategy.surface import SurfacePosterior, default_prior
from strategy.threads import bounded

ENGINE_VERSION = "surface-bma/3"
INTERVAL_Z = 1.2816  # two-sided 80%
DEFAULT_BUDGET = 10_000.0
LOW_CONFIDENCE_BELOW = 0.6
MIN_OUTCOMES_FOR_POOL = 6
MIN_TASKS_FOR_POOL = 4
FEATURE_COUNT = len(FACTOR_NAMES) + 1
# Fallback prices when a task has no dataset of that kind registered (evidence.md §5).
TIER_DEFAULTS = {"crowd": 0.08, "skilled": 1.20, "expert": 150.0, "synthetic-validated": 0.02}


@dataclass
class TaskEvidence:
    """Everything a recommendation for one task depends on."""

    task: Task
    n_human: np.ndarray
    n_synthetic: np.ndarray
    values: np.ndarray
    human_cost: float | None = None
    synthetic_cost: float | None = None
    tier_costs: dict[str, float] = field(default_factory=lambda: dict(TIER_DEFAULTS))
    humanness: float | None = None

    @property
    def count(self) -> int:
        return len(self.values)

    def features(self) -> np.ndarray:
        """The pooled model's inputs: the profile, then the humanness of the task's synthetic data (0–1;
        NaN when never measured, which the pooled model fills with the mean of the tasks that have it)."""
        measured = np.nan if self.humanness is None else self.humanness / 100.0
        return np.array([*(getattr(self.task, f) for f in FACTOR_NAMES), measured], dtype=float)

    def enough_for_model(self) -> bool:
        mixes = {(h, s) for h, s in zip(self.n_human, self.n_synthetic, strict=True)}
        return self.count >= MIN_OUTCOMES_FOR_MODEL and len(mixes) >= 2


def default_costs(evidence: TaskEvidence) -> Costs:
    """The task's own registered prices, else the tier its profile calls for."""
    task = evidence.task
    if evidence.human_cost:
        human = evidence.human_cost
    elif task.domain_expertise >= 3:
        human = evidence.tier_costs["expert"]
    elif max(task.subjectivity, task.cultural_knowledge, task.interaction) >= 3:
        human = evidence.tier_costs["skilled"]
    else:
        human = evidence.tier_costs["crowd"]
    synthetic = evidence.synthetic_cost or evidence.tier_costs.get("synthetic-validated", 0.02)
    return Costs(human=float(human), synthetic=float(synthetic))


def task_seed(task_id: str) -> int:
    return int(hashlib.sha1(task_id.encode()).hexdigest()[:8], 16)


def _regime(plan: Plan, verdict: Verdict) -> str:
    if plan.n_synthetic == 0:
        return "human_only"
    if plan.n_human == 0:
        return "synthetic_only"
    return verdict.regimes[0] if verdict.regimes else "mixed"


def rules_confidence(rulebook: Rulebook, task: Task, verdict: Verdict, draws: int = 60) -> float:
    """How often the rules give the same class when each score is off by one: robustness to profiling.

    Capped at 0.5, since no evidence backs a rules-only answer.
    """
    rng = np.random.default_rng(task_seed(task.id))
    profile = task.profile()
    expected = sourcing_class(verdict.prior_human_share)
    same = 0
    for _ in range(draws):
        jittered = {k: int(np.clip(v + rng.integers(-1, 2), 0, 4)) for k, v in profile.items()}
        share = rulebook.evaluate(jittered, opt_out_reason=task.collapse_guard_opt_out or None).prior_human_share
        same += sourcing_class(share) == expected
    return round(min(same / draws, 0.5), 3)


@dataclass
class Scenario:
    """What-if inputs; anything left None comes from the catalog."""

    budget: float | None = None
    target: float | None = None
    costs: Costs | None = None
    owned: tuple[int, int] = (0, 0)
    name: str = ""
    # Price per label of the human evaluation set, when the scenario states one (a what-if's price tier).
    eval_price: float | None = None


@dataclass
class TaskFit:
    """A task's posterior over learning-curve surfaces: stored with each recommendation, so what-if
    questions (another budget, price or target) are answered without fitting again."""

    posterior: SurfacePosterior
    prior: dict
    model_version: str
    form: str = SURFACE_FORM
    # Widens (> 1) or narrows (< 1) the prediction band: set from the catalog's latest backtest
    # (strategy.calibration), 1 until a backtest has enough held-out outcomes to say.
    interval_scale: float = 1.0

    @property
    def sign(self) -> float:
        return self.posterior.sign_

    def draws(self) -> tuple[np.ndarray, np.ndarray]:
        return self.posterior.draws()

    def values(self, n_human, n_synthetic) -> np.ndarray:
        """Posterior draws of the expected metric (higher is better), shape (draws, points)."""
        params, _ = self.posterior.draws()
        return curve(params, n_human, n_synthetic, "penalised")

    def to_dict(self) -> dict:
        return {"form": self.form, "posterior": self.posterior.to_dict(), "prior": self.prior,
                "model_version": self.model_version, "interval_scale": self.interval_scale}

    @classmethod
    def from_dict(cls, data: dict) -> TaskFit | None:
        """The stored fit, or None for a fit of an earlier engine (a single curve), which is refitted."""
        if data.get("form") != SURFACE_FORM:
            return None
        return cls(posterior=SurfacePosterior.from_dict(data["posterior"]), prior=data["prior"],
                   model_version=data["model_version"], interval_scale=float(data.get("interval_scale", 1.0)))

    def calibrated(self, interval_scale: float) -> TaskFit:
        """The same fit with the catalog's current interval calibration (a stored fit keeps the one it had)."""
        return dataclasses.replace(self, interval_scale=interval_scale)

    def predict(self, n_human, n_synthetic) -> np.ndarray:
        """Expected metric in its own units: the mean over posterior draws."""
        return self.sign * self.values(n_human, n_synthetic).mean(axis=0)

    def band(self, n_human, n_synthetic, level_z: float = INTERVAL_Z) -> tuple[np.ndarray, np.ndarray]:
        """80% prediction interval of one run's outcome, in the metric's own units: the spread of the
        posterior draws plus their noise, scaled by the catalog's interval calibration."""
        _, low, high = self.predict_with_band(n_human, n_synthetic, level_z)
        return low, high

    def predict_with_band(self, n_human, n_synthetic, level_z: float = INTERVAL_Z,
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`predict` and :meth:`band` from one evaluation of the draws (a chart asks for both)."""
        level_z = level_z * self.interval_scale
        values = self.values(n_human, n_synthetic)
        _, noise = self.posterior.draws()
        centre = values.mean(axis=0)
        spread = np.sqrt(values.var(axis=0) + np.mean(noise ** 2) * self.posterior.noise_scale(n_human, n_synthetic) ** 2)
        low, high = self.sign * (centre - level_z * spread), self.sign * (centre + level_z * spread)
        return self.sign * centre, np.minimum(low, high), np.maximum(low, high)


@bounded
def fit_task(evidence: TaskEvidence, *, pooled: PooledPrior | None = None, pooled_version: str = "",
             interval_scale: float = 1.0) -> TaskFit | None:
    """Fit a task's posterior over curve surfaces, or None when there is too little evidence."""
    if not evidence.enough_for_model():
        return None
    task = evidence.task
    prior = pooled.predict(evidence.features()) if pooled is not None else None
    prior_used = prior or default_prior(evidence.n_human, evidence.n_synthetic)
    posterior = SurfacePosterior(prior=prior_used, random_state=task_seed(task.id),
                                 higher_is_better=task.higher_is_better).fit(
        evidence.n_human, evidence.n_synthetic, evidence.values)
    return TaskFit(posterior=posterior,
                   prior={"mean": list(prior_used.mean), "sd": list(prior_used.sd), "source": prior_used.source},
                   model_version=ENGINE_VERSION + (f"+pooled:{pooled_version}" if pooled is not None
                                                   else "+default-prior"), interval_scale=interval_scale)


class DecisionContext(NamedTuple):
    """What every decision reads besides the task's own evidence, from one snapshot of the catalog: the pooled
    prior (and its version), the rulebook in force, and the prediction intervals' calibration."""

    pooled: PooledPrior | None
    pooled_version: str
    rulebook: Rulebook
    interval_scale: float


@bounded
def decide(evidence: TaskEvidence, scenario: Scenario | None = None, *, rulebook: Rulebook | None = None,
           pooled: PooledPrior | None = None, pooled_version: str = "", actor: str = "unknown",
           interval_scale: float = 1.0, context: DecisionContext | None = None) -> tuple[Recommendation, dict | None]:
    """Fit one task and plan it: its recommendation, and the fit behind it (None when rules-only). A
    ``context`` (read with :func:`decision_context`) stands for the four settings before it."""
    if context is not None:
        pooled, pooled_version, rulebook, interval_scale = context
    fit = fit_task(evidence, pooled=pooled, pooled_version=pooled_version, interval_scale=interval_scale)
    return plan(evidence, fit, scenario, rulebook=rulebook, actor=actor), (fit.to_dict() if fit else None)


def _plan_value(choice: decision.Choice, index: int, sign: float) -> PlanValue:
    plan_ = choice.plans[index]
    return PlanValue(n_human=plan_.n_human, n_synthetic=plan_.n_synthetic, spend_human=round(plan_.spend_human, 2),
                     spend_synthetic=round(plan_.spend_synthetic, 2), expected=sign * choice.expected_at(index),
                     assured=sign * choice.assured_at(index))


def _too_little_evidence(evidence: TaskEvidence) -> str:
    if evidence.count == 0:
        return "No outcomes yet"
    mixes = {(int(h), int(s)) for h, s in zip(evidence.n_human, evidence.n_synthetic, strict=True)}
    if evidence.count >= MIN_OUTCOMES_FOR_MODEL and len(mixes) == 1:
        (h, s), = mixes
        return (f"All {evidence.count:,} usable outcomes are at one mix ({h:,} human, {s:,} synthetic), which "
                "cannot show how the metric moves with either source; log runs at other mixes next")
    return f"Only {evidence.count} usable outcome(s)"


def _rules_only(evidence: TaskEvidence, verdict: Verdict, costs: Costs, training: float, common: dict,
                metric: ExpectedMetric, rulebook: Rulebook) -> Recommendation:
    task = evidence.task
    share = verdict.prior_human_share
    n_h = int(share * training // costs.human)
    if verdict.floor > 0 and n_h == 0 and training >= costs.human:
        n_h = 1  # the floor asks for human data: at least one sample when the budget can pay for it
    # Whole samples: cap synthetic so the rounding never takes the human share under the floor
    # (with no human sample affordable, nothing is bought for training at all).
    cap = n_h * costs.human * (1 - verdict.floor) / verdict.floor if verdict.floor > 0 else np.inf
    n_s = int(min((1 - share) * training, cap) // costs.synthetic)
    chosen = Plan(n_h, n_s, n_h * costs.human, n_s * costs.synthetic)
    pilot = decision.PILOT_SHARE
    reason = _too_little_evidence(evidence) + (
        f": a pilot at the rules' mix, at {pilot:.0%} of the training budget, anchors the learning curve; "
        "follow it with a human-only run of the same cost to measure what synthetic data is worth.")
    return Recommendation(
        **common, sourcing=sourcing_class(chosen.human_share_spend),
        human_share_spend=round(chosen.human_share_spend, 4),
        human_share_samples=round(chosen.human_share_samples, 4),
        n_human=n_h, n_synthetic=n_s, spend_human=round(chosen.spend_human, 2),
        spend_synthetic=round(chosen.spend_synthetic, 2), expected_metric=metric,
        confidence=rules_confidence(rulebook, task, verdict), low_confidence=True, basis="rules",
        regime=_regime(chosen, verdict), model_version="none (rules only)",
        next_experiment=NextExperiment(n_human=int(n_h * pilot), n_synthetic=int(n_s * pilot),
                                       cost=round(int(n_h * pilot) * costs.human + int(n_s * pilot) * costs.synthetic,
                                                  2),
                                       reason=reason, cost_cap=round(pilot * training, 2)),
    )


def _next_experiment(evidence: TaskEvidence, fit: TaskFit, choice: decision.Choice, values: np.ndarray,
                     training: float, costs: Costs, floor: float, owned: tuple[int, int]) -> NextExperiment | None:
    """The affordable run whose result is worth most to the decision."""
    task = evidence.task
    logged = {(int(h), int(s)) for h, s in zip(evidence.n_human, evidence.n_synthetic, strict=True)}
    candidates = decision.experiment_candidates(training, costs, floor, logged, choice.plan)
    cap = round(decision.PILOT_SHARE * training, 2)
    if not candidates:
        return None
    keep = sorted(set(np.linspace(0, len(choice.plans) - 1, 48).astype(int).tolist())
                  | {choice.human_only, choice.synthetic_led, choice.chosen}
                  | ({choice.best_mix} if choice.best_mix is not None else set()))
    subset = values[:, keep]
    params, noise = fit.draws()
    scored = []
    for n_h, n_s, cost in candidates:
        at = curve(params, [n_h + owned[0]], [n_s + owned[1]], "penalised")[:, 0]
        run_noise = noise * float(fit.posterior.noise_scale(n_h + owned[0], n_s + owned[1]))
        worth = decision.value_of_information(at, run_noise, subset, random_state=task_seed(task.id))
        scored.append((worth, -cost, n_h, n_s, cost))
    worth, _, n_h, n_s, cost = max(scored)
    plain = "a human-only run" if n_s == 0 else ("mostly synthetic data" if n_h * costs.human < n_s * costs.synthetic
                                                   else "a mix of both sources")
    if worth < 0.1 * choice.margin:
        effect = ("The decision is settled for now: no affordable run is likely to change it; "
                  "this one would best confirm it")
    else:
        effect = (f"Expected to improve the chosen plan's {task.metric} by about {worth:.2g} "
                  "(value of information): its result is the one most likely to change the plan")
    reason = (f"{effect}. It is {plain} costing ${cost:,.0f}, within the {decision.PILOT_SHARE:.0%} of the training "
              f"budget (${cap:,.0f}) a pilot may take.")
    return NextExperiment(n_human=n_h, n_synthetic=n_s, cost=cost, reason=reason, expected_gain=round(worth, 6),
                          cost_cap=cap)


@bounded
def plan(evidence: TaskEvidence, fit: TaskFit | None, scenario: Scenario | None = None, *,
         rulebook: Rulebook | None = None, actor: str = "unknown") -> Recommendation:
    """The recommendation for a task from its fit (or the rules alone when ``fit`` is None). Fits nothing."""
    scenario = scenario or Scenario()
    rulebook = rulebook or default_rulebook()
    task = evidence.task
    verdict = rulebook.evaluate(task.profile(), opt_out_reason=task.collapse_guard_opt_out or None)
    costs = scenario.costs or default_costs(evidence)
    total = budgeting.check_budget(scenario.budget if scenario.budget is not None else (task.budget or DEFAULT_BUDGET))
    if scenario.target is not None and not np.isfinite(scenario.target):
        raise StrategyError(f"The target must be a finite number, not {scenario.target}.")
    # A what-if that picks a human price tier says what human labels cost, the evaluation set's included;
    # pricing that set at the task's registered price instead showed an expert set at $0.50 a label beside
    # an expert-priced plan (issue 18 #8).
    eval_unit = (scenario.eval_price or evidence.human_cost
                 or evidence.tier_costs.get(verdict.eval_tier, costs.human))
    eval_set = EvalSet(size=verdict.eval_size, tier=verdict.eval_tier, cost=round(verdict.eval_size * eval_unit, 2))
    if eval_set.cost > total:
        raise StrategyError(
            f"A budget of ${total:,.0f} does not cover the human evaluation set the rules require for "
            f"{task.name!r} ({eval_set.size} {eval_set.tier} samples, ${eval_set.cost:,.0f}). "
            f"Raise the budget to at least ${eval_set.cost:,.0f}.")
    training = total - eval_set.cost
    metric = ExpectedMetric(name=task.metric, higher_is_better=task.higher_is_better)
    common = dict(task_id=task.id, task_name=task.name, budget=total,
                  cost_per_sample={"human": costs.human, "synthetic": costs.synthetic},
                  owned={"human": scenario.owned[0], "synthetic": scenario.owned[1]}, eval_set=eval_set,
                  rules=[RuleEffect(**r.model_dump()) for r in verdict.fired], uses=verdict.uses,
                  prior_human_share=verdict.prior_human_share, human_floor=verdict.floor,
                  collapse_guard=verdict.guard, evidence_count=evidence.count,
                  rulebook_version=rulebook.version, scenario=scenario.name, target=scenario.target,
                  created_by=actor)
    if fit is None:
        return _rules_only(evidence, verdict, costs, training, common, metric, rulebook)

    owned = scenario.owned
    plans = decision.plans_at(training, costs, verdict.floor)
    if not plans:
        raise StrategyError("No plan fits: the budget is too small for the rules' minimum human share.")
    values = fit.values(*decision.arrays(plans, owned))
    choice = decision.classify(values, plans, decision.materiality(evidence.values))
    chosen = choice.plan
    at_plan = (np.array([chosen.n_human + owned[0]], float), np.array([chosen.n_synthetic + owned[1]], float))
    low, high = fit.band(*at_plan)
    metric = metric.model_copy(update={"value": fit.sign * float(choice.expected[choice.chosen]),
                                       "low": float(low[0]), "high": float(high[0])})
    corners = {"human_only": _plan_value(choice, choice.human_only, fit.sign),
               "synthetic_led": _plan_value(choice, choice.synthetic_led, fit.sign)}
    if choice.best_mix is not None:
        corners["best_mix"] = _plan_value(choice, choice.best_mix, fit.sign)

    budget_for_target = reachable = probability = None
    if scenario.target is not None:
        goal = fit.sign * scenario.target
        probability = round(decision.reach_probability(values[:, choice.chosen], goal), 3)
        needed = decision.least_budget_for(fit.values, goal, costs, verdict.floor, owned,
                                           ceiling=max(budgeting.MAX_BUDGET - eval_set.cost, 0.0))
        reachable = needed is not None
        budget_for_target = round(needed + eval_set.cost, 2) if needed is not None else None

    return Recommendation(
        **common, sourcing=choice.sourcing, human_share_spend=round(chosen.human_share_spend, 4),
        human_share_samples=round(chosen.human_share_samples, 4), n_human=chosen.n_human,
        n_synthetic=chosen.n_synthetic, spend_human=round(chosen.spend_human, 2),
        spend_synthetic=round(chosen.spend_synthetic, 2), expected_metric=metric, confidence=choice.confidence,
        low_confidence=choice.confidence < LOW_CONFIDENCE_BELOW, basis="rules+model",
        regime=_regime(chosen, verdict), model_version=fit.model_version,
        next_experiment=_next_experiment(evidence, fit, choice, values, training, costs, verdict.floor, owned),
        budget_for_target=budget_for_target, target_reachable=reachable, target_probability=probability,
        adds=SourceGains(synthetic_over_human_only=_rounded(choice.synthetic_adds),
                         human_over_synthetic_led=_rounded(choice.human_adds)),
        corners=corners, class_margin=round(choice.margin, 6),
        extrapolation=decision.extrapolation_note(chosen, owned, evidence.n_human, evidence.n_synthetic),
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def independent_shape(item: TaskEvidence) -> tuple[np.ndarray, np.ndarray]:
    """A task's own posterior mean shape (default prior): what the pooled model learns to predict."""
    posterior = SurfacePosterior(random_state=task_seed(item.task.id), higher_is_better=item.task.higher_is_better
                                 ).fit(item.n_human, item.n_synthetic, item.values)
    return item.features(), posterior.shape_summary()


@bounded
def fit_pooled(evidence: list[TaskEvidence], map_function=map) -> PooledPrior | None:
    """Independent fits of the tasks with enough outcomes, then a ridge model from profile to curve shape."""
    eligible = [item for item in evidence if item.count >= MIN_OUTCOMES_FOR_POOL]
    if len(eligible) < MIN_TASKS_FOR_POOL:
        return None
    pairs = list(map_function(independent_shape, eligible))
    return PooledPrior().fit(np.array([f for f, _ in pairs]), np.array([s for _, s in pairs]))


def pooled_version(pooled: PooledPrior) -> str:
    return hashlib.sha1(json.dumps(pooled.to_dict(), sort_keys=True).encode()).hexdigest()[:10]
