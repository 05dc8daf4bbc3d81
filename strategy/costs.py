"""The cost tiers an admin edits: every edited row checked, all stored or none, then every task re-planned
from its stored fit at the new prices."""

from __future__ import annotations

import pandas as pd
from pydantic import ValidationError

from strategy.catalog import Catalog
from strategy.errors import ImportRejected, Problem
from strategy.models import CostTier, describe_errors
from strategy.recommend import RefitResult, replan_portfolio


def save_cost_tiers(catalog: Catalog, stored: pd.DataFrame, edited: pd.DataFrame, *,
                    actor: str | None = None) -> tuple[int, RefitResult | None]:
    """Store the cost tiers an admin edited (price, description, source) and re-plan every task from its
    stored fit. All edited rows are checked first; one bad row and nothing is saved."""
    before = stored.set_index("id")
    changed = [row for row in edited.to_dict(orient="records")
               if any(row[c] != before.loc[row["id"], c] for c in ("cost_per_sample", "description", "cost_source"))]
    records, problems = [], []
    for row in changed:
        try:
            records.append(CostTier(**{k: ("" if pd.isna(v) else v) for k, v in row.items()}))
        except ValidationError as error:
            problems += [Problem(f"cost tier {row['name']!r}", None, field, reason)
                         for field, reason in describe_errors(error)]
    if problems:
        raise ImportRejected(problems)
    if not records:
        return 0, None
    catalog.replace_records("cost_tiers", records, actor=actor)
    return len(records), replan_portfolio(catalog, actor=actor)
