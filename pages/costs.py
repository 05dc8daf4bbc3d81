"""Cost assumptions: what one sample costs from each source, and where each figure comes from."""

import streamlit as st

import dashboard

location = dashboard.catalog_location()
tiers = dashboard.cost_tiers(location)

st.title("Cost assumptions")
st.caption("Per-sample prices used to split a budget. Synthetic prices should include filtering and validation.")
if tiers.empty:
    st.info("No cost tiers yet: `strategy init --demo` loads published defaults.", icon=":material/info:")
    st.stop()

st.dataframe(
    tiers[["name", "kind", "cost_per_sample", "description", "cost_source", "updated_by", "updated_at"]],
    hide_index=True, width="stretch",
    column_config={
        "name": "Tier", "kind": "Source",
        "cost_per_sample": st.column_config.NumberColumn("USD per sample", format="$%.4f"),
        "cost_source": "Where the figure comes from",
    },
)
