"""Catalog › Cost assumptions: what one sample costs from each source, and where each figure comes from."""

import streamlit as st

import dashboard
from strategy.access import Permission
from strategy.costs import save_cost_tiers
from strategy.errors import ImportRejected

location = dashboard.catalog_location()
tiers = dashboard.cost_tiers(location)

st.title("Cost assumptions")
st.caption("Per-sample prices for tasks with no dataset price of their own. Synthetic prices should include "
           "generation, filtering and human validation. Saving re-plans every task from its stored fit.")
if tiers.empty:
    st.info("No cost tiers yet: load the demo from the Portfolio page for published defaults.", icon=":material/info:")
    st.stop()

editable = dashboard.can(Permission.EDIT_COSTS)
edited = st.data_editor(
    tiers[["id", "name", "kind", "cost_per_sample", "description", "cost_source"]],
    hide_index=True, width="stretch", disabled=not editable or ["id", "name", "kind"], key="tiers",
    column_config={
        "id": None, "name": "Tier", "kind": "Source",
        "cost_per_sample": st.column_config.NumberColumn("USD per sample", format="$%.4f", min_value=0.0),
        "cost_source": "Where the figure comes from",
    },
)
latest = tiers.loc[tiers["updated_at"].idxmax()]
st.caption(f"Last changed by {dashboard.literal(latest['updated_by'])} at {latest['updated_at']:%Y-%m-%d %H:%M} UTC "
           f"({dashboard.literal(latest['name'])}).")

if editable and st.button("Save cost assumptions", type="primary"):
    try:
        saved, result = save_cost_tiers(dashboard.catalog(), tiers, edited)
    except ImportRejected as error:
        st.error(str(error), icon=":material/error:")
    else:
        if saved:
            dashboard.clear_reads()
            st.success(f"Saved {saved} tier(s); re-planned {len(result)} tasks.", icon=":material/check:")
        else:
            st.info("Nothing changed.")
