"""Portfolio: every task's recommended sourcing, budget split, expected metric and confidence."""

import streamlit as st

import dashboard
from strategy import charts
from strategy.access import Permission
from strategy.demo import load_demo
from strategy.recommend import refit_portfolio
from strategy.views import SORTS, dominant_task, filter_portfolio, portfolio_table, portfolio_totals

location = dashboard.catalog_location()
view = dashboard.portfolio_view(location)

st.title("Portfolio")
st.caption("For each AI task: should its training data come from people, synthetic generation, or a mix?")

if view.empty:
    st.info("The catalog has no tasks yet. Start with the demo portfolio, or create your first task.",
            icon=":material/info:")
    left, right = st.columns(2)
    if left.button("Load the demo portfolio", type="primary", icon=":material/play_arrow:",
                   disabled=not dashboard.can(Permission.ADMINISTER_THE_CATALOG), help="Admins only."):
        with st.spinner("Loading the demo and fitting every task…"):
            load_demo(dashboard.catalog())
            refit_portfolio(dashboard.catalog())
        dashboard.clear_reads()
        st.rerun()
    right.page_link("app_pages/tasks.py", label="Create a task", icon=":material/add:")
    st.stop()

sorts = list(SORTS)
dashboard.from_url("pf_domain", dashboard.query_list("domain"),
                   lambda v: [d for d in v if d in set(view["domain"])])
dashboard.from_url("pf_modality", dashboard.query_list("modality"),
                   lambda v: [m for m in v if m in set(view["modality"])])
dashboard.from_url("pf_class", dashboard.query_list("class"),
                   lambda v: [c for c in v if c in {"human", "mixed", "synthetic"}])
dashboard.from_url("pf_low", st.query_params.get("low"), lambda v: v == "1")
dashboard.from_url("pf_sort", st.query_params.get("sort"), lambda v: v if v in sorts else sorts[0])
with st.container(border=True):
    columns = st.columns([2, 2, 2, 1.3, 2])
    domains = columns[0].multiselect("Domain", sorted(view["domain"].unique()), key="pf_domain")
    modalities = columns[1].multiselect("Modality", sorted(view["modality"].unique()), key="pf_modality")
    classes = columns[2].multiselect("Recommended", ["human", "mixed", "synthetic"], key="pf_class")
    low_only = columns[3].toggle("Low confidence only", key="pf_low")
    sort_by = columns[4].selectbox("Sort", sorts, key="pf_sort")
dashboard.to_url("pf_domain", "domain", domains)
dashboard.to_url("pf_modality", "modality", modalities)
dashboard.to_url("pf_class", "class", classes)
dashboard.to_url("pf_low", "low", "1" if low_only else None)
dashboard.to_url("pf_sort", "sort", sort_by if sort_by != sorts[0] else None)

shown = filter_portfolio(view, domains=domains, modalities=modalities, classes=classes,
                         low_confidence_only=low_only, sort_by=sort_by)
totals = portfolio_totals(shown)
metrics = st.columns(5)
metrics[0].metric("Tasks shown", f"{totals['tasks']} of {len(view)}")
metrics[1].metric("Total budget", f"${totals['budget']:,.0f}")
metrics[2].metric("Human training data", f"${totals['spend_human']:,.0f}")
metrics[3].metric("Synthetic training data", f"${totals['spend_synthetic']:,.0f}")
metrics[4].metric("Human evaluation sets", f"${totals['evaluation']:,.0f}")

if shown.empty:
    st.info("No task matches these filters.", icon=":material/filter_alt_off:")
    st.stop()

dominant = dominant_task(shown)
if dominant is not None:
    st.warning(f"**{dashboard.literal(dominant['task_name'])}** holds {dominant['share']:.0%} of the budget shown "
               f"(${dominant['budget']:,.0f} of ${totals['budget']:,.0f}): its plan decides most of the spend.",
               icon=":material/warning:")

table = portfolio_table(shown)
# The columns a product lead sorts by come first, so they fit at 1,440 px without scrolling sideways; the
# rest follow. Clicking a row offers its task's page in this tab (a link column would open a new tab).
picked = st.dataframe(
    table,
    hide_index=True, width="stretch", key="pf_table", on_select="rerun", selection_mode="single-cell",
    column_order=["task_name", "sourcing", "confidence", "expected", "synthetic_adds", "human_adds",
                  "budget_text", "human_share_spend", "split", "metric", "evidence_count", "basis", "created_at"],
    column_config={
        "task_name": st.column_config.TextColumn("Task", width="medium"),
        "sourcing": st.column_config.TextColumn("Recommended", width="small",
                                                help="Which sources earn their place at this budget: mixed when "
                                                     "the best mix beats both plain plans by more than the "
                                                     "materiality margin, otherwise the better plain plan."),
        "confidence": st.column_config.ProgressColumn("Confidence", min_value=0, max_value=1, format="percent",
                                                      width="small",
                                                      help="Share of posterior draws that give the same class."),
        "expected": st.column_config.TextColumn("Expected (80% interval)", width="medium"),
        "synthetic_adds": st.column_config.TextColumn("Synthetic adds", width="small",
                                                      help="Metric gained by adding synthetic data to the best "
                                                           "human-only plan."),
        "human_adds": st.column_config.TextColumn("Human adds", width="small",
                                                  help="Metric gained by buying human data beyond the rules' "
                                                       "floor, over the synthetic-led plan."),
        "budget_text": st.column_config.TextColumn("Budget", width="small"),
        "human_share_spend": st.column_config.ProgressColumn("Human share of spend", min_value=0, max_value=1,
                                                             format="percent", width="small"),
        "split": "Budget split",
        "metric": "Metric",
        "evidence_count": st.column_config.NumberColumn("Outcomes"),
        "basis": "Basis",
        "created_at": st.column_config.DatetimeColumn("Last change (UTC)", format="YYYY-MM-DD HH:mm"),
    },
)
cells = picked.selection.get("cells", []) if picked is not None else []
if cells:
    # A page link, not st.switch_page: switching from a selection left the browser's address on the portfolio,
    # so a reload or a shared link lost the task. The link opens the task in this tab.
    chosen = table.iloc[cells[0][0]]
    with st.container(border=True):
        left, right = st.columns([3, 1])
        left.markdown(f"**{dashboard.literal(chosen['task_name'])}** · {chosen['sourcing'] or 'not computed'} · "
                      f"expected {chosen['expected']} · synthetic adds {chosen['synthetic_adds']}, human adds "
                      f"{chosen['human_adds']}")
        right.page_link("app_pages/task.py", label="Open the task page", icon=":material/open_in_new:",
                        query_params={"task": chosen["task_id"]})
else:
    st.caption("Click a task's row to open it.")
st.altair_chart(charts.portfolio_split(shown), width="stretch")
st.caption("Demo outcomes are illustrative (simulated), not measured results.")
