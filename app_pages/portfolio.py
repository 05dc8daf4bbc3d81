"""Portfolio: every task's recommended sourcing, budget split, expected metric and confidence."""

import streamlit as st

import dashboard
from strategy import charts
from strategy.demo import load_demo
from strategy.recommend import SORTS, filter_portfolio, portfolio_totals, refit_portfolio

location = dashboard.catalog_location()
view = dashboard.portfolio_view(location)

st.title("Portfolio")
st.caption("For each AI task: should its training data come from people, synthetic generation, or a mix?")

if view.empty:
    st.info("The catalog has no tasks yet. Start with the demo portfolio, or create your first task.",
            icon=":material/info:")
    left, right = st.columns(2)
    if left.button("Load the demo portfolio", type="primary", icon=":material/play_arrow:",
                   disabled=not dashboard.can("administer the catalog"), help="Admins only."):
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

table = shown.assign(
    open="task?task=" + shown["task_id"],
    split=[f"${h:,.0f} human · ${s:,.0f} synthetic" if c else "not computed yet"
           for h, s, c in zip(shown["spend_human"], shown["spend_synthetic"], shown["computed"], strict=True)],
    expected=[f"{v:.3f} ({lo:.3f}–{hi:.3f})" if v == v else "no evidence yet"
              for v, lo, hi in zip(shown["expected_value"], shown["expected_low"], shown["expected_high"],
                                   strict=True)],
)
st.dataframe(
    table[["open", "task_name", "sourcing", "human_share_spend", "human_share_samples", "split", "metric",
           "expected", "confidence", "basis", "evidence_count", "created_at"]],
    hide_index=True, width="stretch",
    column_config={
        "open": st.column_config.LinkColumn("Task page", display_text="Open", width="small"),
        "task_name": st.column_config.TextColumn("Task", width="medium"),
        "sourcing": st.column_config.TextColumn("Recommended", help="human: ≥ 80% of training spend on human "
                                                "data; synthetic: ≤ 20%; mixed otherwise."),
        "human_share_spend": st.column_config.ProgressColumn("Human share of spend", min_value=0, max_value=1,
                                                             format="percent"),
        "human_share_samples": st.column_config.ProgressColumn("Human share of samples", min_value=0,
                                                               max_value=1, format="percent"),
        "split": "Budget split",
        "metric": "Metric",
        "expected": st.column_config.TextColumn("Expected (80% interval)"),
        "confidence": st.column_config.ProgressColumn("Confidence", min_value=0, max_value=1, format="percent",
                                                      help="Share of posterior draws that give the same class."),
        "basis": "Basis",
        "evidence_count": st.column_config.NumberColumn("Outcomes"),
        "created_at": st.column_config.DatetimeColumn("Last change (UTC)", format="YYYY-MM-DD HH:mm"),
    },
)
st.altair_chart(charts.portfolio_split(shown), width="stretch")
st.caption("Demo outcomes are illustrative (simulated), not measured results.")
