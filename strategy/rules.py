"""The rulebook: transparent rules on a task's profile, kept as data in data/rulebook.json.

Rules alone give a prior human share (of the training budget), hard floors, the
human evaluation set, a suggested regime and suggested uses of synthetic or
human data. The learned model refines the split later but never crosses a floor.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, ValidationError, field_validator

from strategy.errors import StrategyError
from strategy.models import FACTOR_NAMES, Regime

RULEBOOK_PATH = Path(__file__).resolve().parent.parent / "data" / "rulebook.json"
TIER_ORDER = {"crowd": 0, "skilled": 1, "expert": 2}
Operator = Literal[">=", "<=", "=="]


class EvalSetSpec(BaseModel):
    size: int = Field(ge=0)
    tier: Literal["crowd", "skilled", "expert"]


class Rule(BaseModel):
    """One rule: when every clause holds, its effects apply. Weight scales the shift (admins tune it)."""

    id: str
    when: list[tuple[str, Operator, int]]
    shift: float = 0.0
    floor: float | None = Field(default=None, ge=0, le=1)
    eval_set: EvalSetSpec | None = None
    regime: Regime | None = None
    uses: list[str] = Field(default_factory=list)
    weight: float = Field(default=1.0, ge=0, le=5)
    principle: str
    rationale: str

    @field_validator("when")
    @classmethod
    def _known_factors(cls, clauses):
        for factor, _, value in clauses:
            if factor not in FACTOR_NAMES:
                raise ValueError(f"unknown profile factor {factor!r}")
            if not 0 <= value <= 4:
                raise ValueError(f"threshold {value} for {factor} is outside 0–4")
        return clauses

    def holds(self, profile: dict[str, int]) -> bool:
        checks = {">=": np.greater_equal, "<=": np.less_equal, "==": np.equal}
        return all(checks[op](profile[factor], value) for factor, op, value in self.when)

    def effect(self) -> str:
        """The rule's effects in words, as shown beside its rationale."""
        parts = []
        if self.shift:
            parts.append(f"{self.shift * self.weight:+.0%} to the human share")
        if self.floor is not None:
            parts.append(f"human share at least {self.floor:.0%}")
        if self.eval_set:
            parts.append(f"{self.eval_set.tier} human evaluation set of {self.eval_set.size}")
        if self.regime:
            parts.append(f"regime: {self.regime.replace('_', ' ')}")
        if self.uses:
            parts.append("uses: " + ", ".join(self.uses))
        return "; ".join(parts) or "no effect"


class CollapseGuard(BaseModel):
    id: str
    floor: float = Field(ge=0, le=1)
    eval_set: EvalSetSpec
    principle: str
    rationale: str


class FiredRule(BaseModel):
    """A rule that applied to a task, as the recommendation explains it."""

    id: str
    effect: str
    rationale: str
    principle: str


class Verdict(BaseModel):
    """What the rules alone say about a profile."""

    prior_human_share: float
    floor: float
    eval_size: int
    eval_tier: str
    regimes: list[Regime]
    uses: list[str]
    fired: list[FiredRule]
    guard: str


class Rulebook(BaseModel):
    version: str
    base_human_share: float = Field(ge=0, le=1)
    notes: str = ""
    rules: list[Rule]
    collapse_guard: CollapseGuard

    @classmethod
    def load(cls, path: Path | str = RULEBOOK_PATH) -> Rulebook:
        try:
            return cls.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError, ValidationError) as error:
            raise StrategyError(f"Rulebook {path} cannot be used: {error}") from None

    def evaluate(self, profile: dict[str, int], *, opt_out_reason: str | None = None) -> Verdict:
        """Apply every rule to a profile. The collapse guard applies unless the task opts out with a reason."""
        fired = [rule for rule in self.rules if rule.holds(profile)]
        share = self.base_human_share + sum(rule.shift * rule.weight for rule in fired)
        floors = [rule.floor for rule in fired if rule.floor is not None]
        evals = [rule.eval_set for rule in fired if rule.eval_set]
        explained = [FiredRule(id=r.id, effect=r.effect(), rationale=r.rationale, principle=r.principle)
                     for r in fired]
        guard = self.collapse_guard
        if opt_out_reason:
            guard_text = f"waived: {opt_out_reason}"
            explained.append(FiredRule(id=guard.id, effect="waived by the task's opt-out",
                                       rationale=f"The task opts out of the collapse guard: {opt_out_reason}",
                                       principle=guard.principle))
        else:
            guard_text = "kept"
            floors.append(guard.floor)
            evals.append(guard.eval_set)
            explained.append(FiredRule(
                id=guard.id, effect=f"human share at least {guard.floor:.0%}; human evaluation set of at least "
                                    f"{guard.eval_set.size}", rationale=guard.rationale, principle=guard.principle))
        floor = max(floors, default=0.0)
        uses = list(dict.fromkeys(use for rule in fired for use in rule.uses))
        return Verdict(
            prior_human_share=float(np.clip(max(share, floor), 0.0, 1.0)),
            floor=floor,
            eval_size=max((e.size for e in evals), default=0),
            eval_tier=max((e.tier for e in evals), key=TIER_ORDER.get, default="crowd"),
            regimes=[rule.regime for rule in fired if rule.regime],
            uses=uses,
            fired=explained,
            guard=guard_text,
        )


    def with_weights(self, weights: dict[str, float], version: str) -> Rulebook:
        """The same rules with admin-set weights, under a new version string."""
        unknown = sorted(set(weights) - {rule.id for rule in self.rules})
        if unknown:
            raise StrategyError(f"Unknown rule id(s): {', '.join(unknown)}.")
        try:
            rules = [Rule.model_validate(rule.model_dump() | {"weight": float(weights.get(rule.id, rule.weight))})
                     for rule in self.rules]
        except (ValidationError, ValueError) as error:
            raise StrategyError(f"Rule weights must be numbers from 0 to 5: {error}") from None
        return self.model_copy(update={"rules": rules, "version": version})


@lru_cache(maxsize=4)
def default_rulebook(path: str = str(RULEBOOK_PATH)) -> Rulebook:
    return Rulebook.load(path)
