"""Settings › Rulebook: the rules behind every recommendation; admins tune their weights."""

import pandas as pd
import streamlit as st

import dashboard
from strategy.access import Permission
from strategy.errors import StrategyError
from strategy.recommend import current_rulebook
from strategy.rule_weights import set_rule_weights

rulebook = current_rulebook(dashboard.catalog())

st.title("Rulebook")
st.caption(f"Version {rulebook.version}. Rules start from a human share of {rulebook.base_human_share:.0%} of the "
           "training budget; a rule's weight scales its shift. Floors always hold.")

rules = pd.DataFrame([{
    "id": rule.id,
    "when": " and ".join(f"{factor} {op} {value}" for factor, op, value in rule.when),
    "effect": rule.effect(),
    "weight": rule.weight,
    "rationale": rule.rationale,
    "principle": rule.principle,
} for rule in rulebook.rules])

admin = dashboard.can(Permission.EDIT_THE_RULEBOOK)
edited = st.data_editor(
    rules, hide_index=True, width="stretch", key="rule_weights",
    disabled=[c for c in rules.columns if c != "weight" or not admin],
    column_config={"id": "Rule", "when": "When", "effect": "Effect",
                   "weight": st.column_config.NumberColumn("Weight", min_value=0.0, max_value=5.0, step=0.1,
                                                           help="Scales the rule's shift; 0 switches it off."),
                   "rationale": "Rationale", "principle": "Principle"},
)
guard = rulebook.collapse_guard
with st.container(border=True):
    st.markdown(f"**{guard.id} (collapse guard, always on unless a task opts out with a reason)** — "
                f"human share at least {guard.floor:.0%}; human evaluation set of at least {guard.eval_set.size}.")
    st.caption(guard.principle)

if admin:
    changes = {row["id"]: row["weight"] for row, old in zip(edited.to_dict(orient="records"),
                                                            rules.to_dict(orient="records"), strict=True)
               if row["weight"] != old["weight"]}
    if st.button("Save weights", type="primary", disabled=not changes,
                 help="Bumps the rulebook version and re-plans every task."):
        try:
            updated = set_rule_weights(dashboard.catalog(), changes)
        except StrategyError as error:
            st.error(str(error), icon=":material/error:")
        else:
            dashboard.clear_reads()
            st.success(f"Rulebook is now version {updated.version}; every task was re-planned.",
                       icon=":material/check:")
