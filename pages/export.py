"""Export: download catalog content to share or to analyse elsewhere."""

import streamlit as st

import dashboard
from strategy import export

location = dashboard.catalog_location()

st.title("Export")
st.caption("CSV cells that a spreadsheet would run as a formula are neutralised with a leading apostrophe.")

tables = {
    "Tasks": dashboard.tasks(location, include_archived=True),
    "Outcomes": dashboard.outcomes(location),
    "Datasets": dashboard.datasets(location),
    "Cost assumptions": dashboard.cost_tiers(location),
}
for title, frame in tables.items():
    slug = title.lower().replace(" ", "_")
    with st.container(border=True):
        st.markdown(f"**{title}** — {len(frame):,} rows")
        left, right = st.columns(2)
        left.download_button(f"{title} as CSV", export.to_csv(frame), file_name=f"{slug}.csv",
                             mime="text/csv", on_click="ignore", key=f"{slug}_csv")
        right.download_button(f"{title} as JSON", export.to_json(frame), file_name=f"{slug}.json",
                              mime="application/json", on_click="ignore", key=f"{slug}_json")
