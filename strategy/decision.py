"""Deciding under the posterior: the three plans a budget allows, the class, what each source adds, the
next experiment by its value of information, and the chance of reaching a target.

Everything here works on posterior draws of the metric (higher is better): an array ``values`` of shape
(draws, plans). Nothing here fits or reads a catalog.

**Class by what each source adds, never by spend.** Human samples cost 100–1,000× more than synthetic
ones, so a share of spend reads "human" for nearly any plan. Instead three plans are compared at the
training budget: the best human-only plan, the best synthetic-led plan (human data at the rules' floor)
and the best mix (anything between). The class is ``mixed`` only when the best mix beats the better corner
by more than the materiality margin; otherwise it is that corner, and the corner is the plan. Plans are
compared by their expected metric less one posterior standard deviation, so a fitted mix has to earn its
place against a plain baseline (evidence.md §1, Aioli) with gains the evidence can vouch for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from strategy.budget import Costs, Plan, candidate_plans

# Synthetic counts tried by the decision: every count to 64, then about 3% apart up to 10^10. One fixed
# grid for every budget keeps "more budget never lowers the expected metric".
DECISION_GRID = np.unique(np.concatenate([np.arange(0.0, 65.0), np.round(np.geomspace(64, 1e10, 720))]))
MATERIALITY_SHARE = 0.01   # of the range of the task's logged outcomes
CAUTION = 1.0              # plans are scored by expected metric − CAUTION × posterior sd
PILOT_SHARE = 0.10         # the next experiment costs at most this share of the training budget
EXTRAPOLATION_FACTOR = 4.0  # a plan beyond this multiple of the largest logged count is flagged
TARGET_PROBABILITY = 0.8
CLASSES = ("human", "synthetic", "mixed")


@dataclass(frozen=True)
class Choice:
    """The decision at one budget: the three plans, the class and its plan, and what each source adds."""

    plans: list[Plan]
    human_only: int            # indices into plans
    synthetic_led: int
    best_mix: int | None
    chosen: int
    sourcing: str
    margin: float
    expected: np.ndarray       # posterior mean of every plan
    assured: np.ndarray        # what the decision counts: posterior mean less CAUTION posterior sds
    synthetic_adds: float | None
    human_adds: float | None
    confidence: float

    @property
    def plan(self) -> Plan:
        return self.plans[self.chosen]

    def expected_at(self, index: int | None) -> float | None:
        return None if index is None else float(self.expected[index])

    def assured_at(self, index: int | None) -> float | None:
        return None if index is None else float(self.assured[index])


def plans_at(training: float, costs: Costs, floor: float) -> list[Plan]:
    return candidate_plans(training, costs, floor, grid=DECISION_GRID)


def arrays(plans: list[Plan], owned: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    n_h = np.array([p.n_human for p in plans], dtype=float) + owned[0]
    n_s = np.array([p.n_synthetic for p in plans], dtype=float) + owned[1]
    return n_h, n_s


def materiality(observed: np.ndarray) -> float:
    """The smallest gain that counts as real: a share of the range the task's outcomes span."""
    observed = np.asarray(observed, dtype=float)
    spread = float(np.ptp(observed)) if observed.size else 0.0
    return MATERIALITY_SHARE * max(spread, 1e-9)


def classify(values: np.ndarray, plans: list[Plan], margin: float, *, caution: float = CAUTION) -> Choice:
    """The class and plan from posterior draws ``values`` (draws, plans) of the plans on one budget line.

    ``plans`` come from :func:`plans_at`: the first buys no synthetic data (human only, when the budget
    allows any human sample), the last buys the most synthetic data the floor allows (synthetic-led).
    Plans are scored by their expected metric less ``caution`` posterior standard deviations, so a plan the
    evidence cannot vouch for (far from any logged run) has to promise more to be chosen.
    """
    values = np.atleast_2d(values)
    expected = values.mean(axis=0)
    score = expected - caution * values.std(axis=0)
    human, synthetic = 0, len(plans) - 1
    interior = list(range(1, len(plans) - 1))
    corner = human if score[human] >= score[synthetic] else synthetic
    mix = interior[int(np.argmax(score[interior]))] if interior else None
    sourcing = "human" if corner == human else "synthetic"
    if synthetic == human or plans[synthetic].n_synthetic == 0:
        sourcing, corner = "human", human
    chosen = corner
    if mix is not None and plans[synthetic].n_synthetic > 0 and score[mix] - score[corner] > margin:
        sourcing, chosen = "mixed", mix
    # Confidence: how often a posterior draw, comparing the same three plans, gives the same class.
    draw_class = _draw_classes(values, human, synthetic, mix, margin)
    confidence = float(np.mean(draw_class == CLASSES.index(sourcing)))
    with_synthetic = [i for i in (mix, synthetic) if i is not None and plans[i].n_synthetic > 0]
    with_human = [i for i in (mix, human) if i is not None]
    # What each source adds is counted as the decision counts it (with the same caution), so the sentence
    # that explains the class never contradicts it. Measured on the decision benchmark, comparing posterior
    # means instead cost 0.1 accuracy points of regret (1.29/1.19/1.18 against 1.14/1.13/1.12).
    synthetic_adds = (float(max(score[i] for i in with_synthetic) - score[human])
                      if with_synthetic and synthetic != human else None)
    human_adds = (float(max(score[i] for i in with_human) - score[synthetic])
                  if synthetic != human and plans[synthetic].n_synthetic > 0 else None)
    return Choice(plans=plans, human_only=human, synthetic_led=synthetic, best_mix=mix, chosen=chosen,
                  sourcing=sourcing, margin=margin, expected=expected, assured=score, synthetic_adds=synthetic_adds,
                  human_adds=human_adds, confidence=round(confidence, 3))


def _draw_classes(values, human, synthetic, mix, margin) -> np.ndarray:
    h, s = values[:, human], values[:, synthetic]
    classes = np.where(h >= s, CLASSES.index("human"), CLASSES.index("synthetic"))
    if synthetic == human:
        return np.full(len(values), CLASSES.index("human"))
    if mix is not None:
        classes = np.where(values[:, mix] - np.maximum(h, s) > margin, CLASSES.index("mixed"), classes)
    return classes


# ------------------------------------------------------------------------------- next experiment
@dataclass(frozen=True)
class Experiment:
    n_human: int
    n_synthetic: int
    cost: float
    value: float          # expected improvement of the decision's metric (value of information)
    cap: float


def experiment_candidates(training: float, costs: Costs, floor: float, logged: set[tuple[int, int]],
                          plan: Plan) -> list[tuple[int, int, float]]:
    """Runs affordable within the pilot cap: scaled-down budget lines at several human shares, and the
    chosen plan's synthetic count beside a few human samples. Mixes already logged are not proposed again:
    a repeat tells less than a new point, and logging the suggested run must move the suggestion on."""
    cap = PILOT_SHARE * training
    found: dict[tuple[int, int], float] = {}
    for fraction in (1.0, 1 / 3, 1 / 9):
        spend = cap * fraction
        for share in sorted({1.0, 0.75, 0.5, 0.25, max(floor, 0.05)}, reverse=True):
            n_h = int(np.floor(share * spend / costs.human + 1e-9))
            n_s = int(np.floor((spend - n_h * costs.human) / costs.synthetic + 1e-9))
            if share == 1.0:
                n_s = 0
            if n_h == 0 and floor > 0:
                continue
            found.setdefault((n_h, n_s), n_h * costs.human + n_s * costs.synthetic)
    if plan.n_synthetic and plan.n_synthetic * costs.synthetic <= cap / 2:
        n_h = int(np.floor(cap / 2 / costs.human + 1e-9))
        if n_h > 0:
            found.setdefault((n_h, plan.n_synthetic), n_h * costs.human + plan.n_synthetic * costs.synthetic)
    return [(h, s, round(c, 2)) for (h, s), c in found.items()
            if (h, s) not in logged and (h + s) > 0 and c <= cap + 1e-9]


def value_of_information(f_experiment: np.ndarray, noise: np.ndarray, values: np.ndarray, *,
                         random_state: int = 0, truths: int = 80) -> float:
    """Expected gain in the chosen plan's metric from observing one run (preposterior analysis).

    Each of a subset of posterior draws plays the truth in turn: a run's result is simulated from it (with
    its noise), the draws are reweighted by how well they predicted that result, the best plan under the
    reweighted posterior is chosen, and its true value is compared with today's choice.
    """
    rng = np.random.default_rng(random_state)
    k = len(f_experiment)
    picked = np.linspace(0, k - 1, min(truths, k)).astype(int)
    observed = f_experiment[picked] + noise[picked] * rng.standard_normal(len(picked))
    residual = (observed[:, None] - f_experiment[None, :]) / noise[None, :]
    log_weight = -0.5 * residual ** 2 - np.log(noise)[None, :]
    log_weight -= log_weight.max(axis=1, keepdims=True)
    weight = np.exp(log_weight)
    weight /= weight.sum(axis=1, keepdims=True)
    today = int(np.argmax(values.mean(axis=0)))
    after = np.argmax(weight @ values, axis=1)
    return float(np.mean(values[picked, after] - values[picked, today]))


# ------------------------------------------------------------------------------------------ target
def reach_probability(values_at_plan: np.ndarray, target: float) -> float:
    """Share of posterior draws whose expected metric at the plan reaches the target (higher is better)."""
    return float(np.mean(np.asarray(values_at_plan) >= target))


def least_budget_for(evaluate, target: float, costs: Costs, floor: float, owned: tuple[int, int], *,
                     probability: float = TARGET_PROBABILITY, ceiling: float = 1e12) -> float | None:
    """The least training budget whose most promising plan reaches the target with the given probability,
    or None. ``evaluate(n_h, n_s)`` gives posterior draws (draws, plans). Bisection is valid because every
    draw rises with human data, so the best chance never falls as the budget grows."""
    def chance(budget: float) -> float:
        plans = plans_at(budget, costs, floor)
        if not plans:
            return 0.0
        return float(np.max(np.mean(evaluate(*arrays(plans, owned)) >= target, axis=0)))

    if chance(0.0) >= probability:
        return 0.0
    if chance(ceiling) < probability:
        return None
    low, high = 0.0, ceiling
    while high - low > max(1.0, high * 2e-3):
        middle = (low + high) / 2 if high < 1e4 or low == 0 else float(np.sqrt(max(low, 1.0) * high))
        low, high = (low, middle) if chance(middle) >= probability else (middle, high)
    return float(np.ceil(high * 100) / 100)


def extrapolation_note(plan: Plan, owned: tuple[int, int], n_human: np.ndarray, n_synthetic: np.ndarray) -> str:
    """Says when a plan lies far outside what was logged: its answer is then an extrapolation."""
    notes = []
    top_h = float(np.max(n_human)) if len(n_human) else 0.0
    top_s = float(np.max(n_synthetic)) if len(n_synthetic) else 0.0
    h, s = plan.n_human + owned[0], plan.n_synthetic + owned[1]
    if s > 0 and top_s == 0:
        notes.append(f"{s:,} synthetic samples, but no logged run used synthetic data")
    elif s > EXTRAPOLATION_FACTOR * max(top_s, 1):
        notes.append(f"{s:,} synthetic samples, {s / max(top_s, 1):,.0f}× the most logged ({top_s:,.0f})")
    if h > EXTRAPOLATION_FACTOR * max(top_h, 1):
        notes.append(f"{h:,} human samples, {h / max(top_h, 1):,.0f}× the most logged ({top_h:,.0f})")
    if not notes:
        return ""
    return "Extrapolated: the plan uses " + " and ".join(notes) + "; a run nearer the plan would confirm it."
