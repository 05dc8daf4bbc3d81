"""Export: strategy summaries (one task, a filtered set, the portfolio) in every registered format (Markdown,
HTML, PDF, CSV, JSON: strategy.export.registry), and the catalog's tables as CSV or JSON."""

import streamlit as st

import dashboard
from strategy import export
from strategy.errors import StrategyError

location = dashboard.catalog_location()
view = dashboard.portfolio_view(location)

st.title("Export")
st.caption("Summaries stand on their own in a planning document: the recommendation, its evidence and reasons, "
           "the humanness of the synthetic data, the cost assumptions and versions, and the task page's charts. "
           "CSV cells that a spreadsheet would run as a formula are neutralised with a leading apostrophe.")

# ---------------------------------------------------------------- strategy summary
st.subheader("Strategy summary")
if view.empty:
    st.info("No tasks to export yet: load the demo from the Portfolio page or create a task.", icon=":material/info:")
else:
    scope = st.radio("Export", ["One task", "A filtered set", "The whole portfolio"], horizontal=True,
                     key="export_scope")
    task_ids, filters = None, None
    if scope == "One task":
        names = dict(zip(view["task_id"], view["task_name"], strict=True))
        task_ids = [st.selectbox("Task", list(names), format_func=names.get, key="export_task")]
    elif scope == "A filtered set":
        columns = st.columns(4)
        filters = {
            "domains": columns[0].multiselect("Domain", sorted(view["domain"].unique()), key="export_domains"),
            "modalities": columns[1].multiselect("Modality", sorted(view["modality"].unique()),
                                                 key="export_modalities"),
            "classes": columns[2].multiselect("Class", ["human", "mixed", "synthetic"], key="export_classes"),
            "low_confidence_only": columns[3].toggle("Low confidence only", key="export_low"),
        }
    paper = st.selectbox("PDF page size", export.PAPER_SIZES, key="export_paper")
    try:
        preview = dashboard.summary_markdown(location, tuple(task_ids or ()), dashboard.frozen(filters))
    except StrategyError as error:
        st.warning(str(error), icon=":material/filter_alt_off:")
    else:
        bundle_args = {"task_ids": task_ids, "filters": filters}
        formats = export.renderers()  # every registered format, in order
        for column, fmt in zip(st.columns(len(formats)), formats, strict=True):
            # Deferred: the file is made when the button is clicked, so browsing this page stays quick.
            column.download_button(
                f"{fmt.label} ({paper})" if fmt.takes_paper else fmt.label,
                data=dashboard.summary_file(location, fmt.name, paper, bundle_args),
                file_name=dashboard.summary_file_name(location, fmt.name, bundle_args), mime=fmt.media_type,
                on_click="ignore", key=f"summary_{fmt.name}", icon=":material/download:")
        with st.container(border=True, height=560):
            st.markdown(preview)

# ---------------------------------------------------------------- catalog tables
st.subheader("Catalog tables")
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
