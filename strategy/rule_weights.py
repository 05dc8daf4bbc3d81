"""The rule weights an admin edits: stored as a new rulebook version, then every task re-planned from its
stored fit under it."""

from __future__ import annotations

from strategy.catalog import RULE_WEIGHTS_KIND, Catalog
from strategy.recommend import current_rulebook, replan_portfolio
from strategy.rules import Rulebook, default_rulebook


def set_rule_weights(catalog: Catalog, weights: dict[str, float], *, actor: str | None = None) -> Rulebook:
    """Store new rule weights under a bumped rulebook version, then recompute every task with them."""
    current = current_rulebook(catalog)
    merged = {rule.id: rule.weight for rule in current.rules} | {k: float(v) for k, v in weights.items()}
    base = default_rulebook()
    edits = current.version.split("+w")[1] if "+w" in current.version else "0"
    version = f"{base.version}+w{int(edits) + 1}"
    updated = base.with_weights(merged, version)
    catalog.save_model_state(RULE_WEIGHTS_KIND, version, {"weights": merged}, actor=actor)
    replan_portfolio(catalog, actor=actor)
    return updated
