"""Task: the recommendation for one task, why, what the evidence says, and what-if budgets and prices."""

import pandas as pd
import streamlit as st

import dashboard
from strategy import charts
from strategy.access import Permission
from strategy.budget import Costs
from strategy.errors import StrategyError
from strategy.explain import class_reason, why_lines, with_article
from strategy.export import to_csv
from strategy.models import FACTORS
from strategy.recommend import Scenario, TaskFit, recommend_task
from strategy.scenarios import adopt_scenario, compare_plans, save_scenario, saved_scenarios, whatif
from strategy.views import budget_frontier, evidence_view, mix_curve

location = dashboard.catalog_location()
tasks = dashboard.tasks(location)

st.title("Task")
if tasks.empty:
    st.info("No tasks yet: load the demo from the Portfolio page or create one in Catalog › Tasks.",
            icon=":material/info:")
    st.stop()

ids = tasks["id"].tolist()
names = dict(zip(tasks["id"], tasks["name"], strict=True))
dashboard.from_url("task_pick", st.query_params.get("task"), lambda v: v if v in ids else ids[0])
task_id = st.selectbox("Task", ids, format_func=names.get, key="task_pick")
dashboard.to_url("task_pick", "task", task_id)
row = tasks[tasks["id"] == task_id].iloc[0]
st.subheader(dashboard.literal(row["name"]))
st.markdown(dashboard.literal(row["description"]) if row["description"] else "_No description._")

stored = dashboard.stored_recommendation(location, task_id)
if stored is None:
    st.warning("No recommendation has been computed for this task yet.", icon=":material/pending:")
    if dashboard.needs(Permission.RECOMPUTE_RECOMMENDATIONS) and st.button("Compute it now", type="primary"):
        try:
            recommend_task(dashboard.catalog(), task_id)
        except StrategyError as error:
            st.error(str(error), icon=":material/error:")
            st.stop()
        dashboard.clear_reads()
        st.rerun()
    st.stop()
baseline, fit_data = stored
fit = TaskFit.from_dict(fit_data) if fit_data else None

# ---------------------------------------------------------------- what-if controls
# Keyed by the stored recommendation too: once a scenario is adopted the controls start from the new plan (a
# browser keeps showing, and sending, a widget's old value while its key stays the same).
with st.container(border=True):
    st.markdown("**What if…** (answers come from the stored fit, nothing is refitted)")
    tiers = dashboard.cost_tiers(location)
    human_prices = {f"this task's price (${baseline.cost_per_sample['human']:,.4g})": baseline.cost_per_sample["human"]}
    human_prices |= {f"{t.name} tier (${t.cost_per_sample:,.4g})": t.cost_per_sample
                     for t in tiers[tiers["kind"] == "human"].itertuples()}
    controls = st.columns(4)
    budget = controls[0].number_input("Budget (USD)", min_value=0.0, value=float(baseline.budget), step=1000.0,
                                      help="Total, the human evaluation set included.", key=f"budget-{task_id}-{baseline.id}")
    human_price = controls[1].selectbox("Human data price", list(human_prices), key=f"tier-{task_id}-{baseline.id}")
    synthetic_price = controls[2].number_input(
        "Synthetic cost per sample (USD)", min_value=0.00001, value=float(baseline.cost_per_sample["synthetic"]),
        format="%.4f", help="Generation, filtering and human validation together.", key=f"synthetic-{task_id}-{baseline.id}")
    target = controls[3].number_input(f"Target {row['metric']}", value=None, format="%.3f",
                                      placeholder="optional", key=f"target-{task_id}-{baseline.id}")

# A picked tier is what human labels cost, so the evaluation set is priced at it too.
tier_picked = human_price != next(iter(human_prices))
scenario = Scenario(budget=budget, target=target,
                    costs=Costs(human=human_prices[human_price], synthetic=synthetic_price), name="what-if",
                    eval_price=human_prices[human_price] if tier_picked else None)
changed = (budget != baseline.budget or target is not None or human_prices[human_price] != baseline.cost_per_sample["human"]
           or synthetic_price != baseline.cost_per_sample["synthetic"])
current = baseline
if changed:
    try:
        current, fit = whatif(dashboard.catalog(), task_id, scenario)
    except StrategyError as error:
        st.error(str(error), icon=":material/error:")
        st.stop()

# ---------------------------------------------------------------- the recommendation card
with st.container(border=True):
    label = "What-if answer" if changed else "Current recommendation"
    # A what-if answer is computed now, from the stored fit; showing the baseline's time read as stale.
    st.markdown(f"**{label}** · {current.basis} · computed {current.created_at:%Y-%m-%d %H:%M} UTC "
                f"· model {current.model_version} · rulebook {current.rulebook_version}")
    if current.low_confidence:
        st.warning("Low confidence: " + ("rules only, no usable outcomes yet." if current.basis == "rules"
                   else "posterior draws often give another class."), icon=":material/help:")
    card = st.columns(5)
    card[0].metric("Recommended", current.sourcing.upper(),
                   delta=None if not changed or current.sourcing == baseline.sourcing else f"was {baseline.sourcing}")
    card[1].metric("Human share of spend", f"{current.human_share_spend:.0%}",
                   delta=f"{current.human_share_spend - baseline.human_share_spend:+.0%}" if changed else None)
    card[2].metric("Human share of samples", f"{current.human_share_samples:.0%}")
    metric = current.expected_metric
    card[3].metric(f"Expected {metric.name}", f"{metric.value:.3f}" if metric.value is not None else "—",
                   delta=(f"{metric.value - baseline.expected_metric.value:+.3f}"
                          if changed and metric.value is not None and baseline.expected_metric.value is not None
                          else None),
                   delta_color="normal" if metric.higher_is_better else "inverse",
                   help="80% interval: " + (f"{metric.low:.3f}–{metric.high:.3f}" if metric.value is not None
                                             else "needs outcomes"))
    card[4].metric("Confidence", f"{current.confidence:.0%}",
                   help="Share of posterior draws that give the same class when comparing the same three plans.")
    st.markdown(dashboard.literal(class_reason(current)))
    st.markdown(
        f"Buy **{current.n_human:,} human** samples (${current.spend_human:,.0f}) and **{current.n_synthetic:,} "
        f"synthetic** samples (${current.spend_synthetic:,.0f}), plus {with_article(f'**{current.eval_set.tier}')} human "
        f"evaluation set of {current.eval_set.size:,}** (${current.eval_set.cost:,.0f}). Regime: "
        f"**{current.regime.replace('_', ' ')}**. Collapse guard {current.collapse_guard}."
        + (f" 80% interval for {metric.name}: {metric.low:.3f}–{metric.high:.3f}." if metric.value is not None else ""))
    if current.extrapolation:
        st.warning(dashboard.literal(current.extrapolation), icon=":material/trending_up:")
    if current.target is not None:
        chance = (f" This plan reaches it with probability **{current.target_probability:.0%}**."
                  if current.target_probability is not None else "")
        st.markdown((f"Least budget to reach {current.target} with 80% probability: "
                     f"**${current.budget_for_target:,.0f}**." if current.target_reachable else
                     f"{with_article(metric.name)[0].upper()}{with_article(metric.name)[1:]} of {current.target} is **not reachable with this evidence**.") + chance)
    if current.next_experiment:
        nxt = current.next_experiment
        st.info(f"**Next experiment:** {nxt.n_human:,} human + {nxt.n_synthetic:,} synthetic samples "
                f"(${nxt.cost:,.0f}). {nxt.reason}", icon=":material/science:")
    if changed:
        save = st.columns([3, 1])
        scenario_name = save[0].text_input("Scenario name", value=f"budget ${budget:,.0f}", key=f"name-{task_id}-{budget}-{target}")
        if save[1].button("Save scenario", type="primary", icon=":material/save:",
                          disabled=not dashboard.can(Permission.RECOMPUTE_RECOMMENDATIONS), help="Researchers and admins."):
            save_scenario(dashboard.catalog(), current, fit, scenario_name)
            dashboard.clear_reads()
            st.success(f"Saved the scenario '{dashboard.literal(scenario_name)}' to this task's history.", icon=":material/check:")

# ---------------------------------------------------------------- saved scenarios: compare, adopt, export
# One read of the task's history serves the saved scenarios here and the History tab below.
history = dashboard.history(location, task_id)
scenarios = saved_scenarios(history)
if adopted_note := st.session_state.pop(f"adopted-{task_id}", None):
    st.success(adopted_note, icon=":material/check:")
if scenarios:
    with st.container(border=True):
        st.markdown("**Saved scenarios**")
        picked_scenario = st.selectbox("Compare with", scenarios, key=f"compare-{task_id}")
        stored_scenario = dashboard.catalog().latest_recommendation(task_id, scenario=picked_scenario)
        if stored_scenario is not None:
            comparison = compare_plans(baseline, stored_scenario.recommendation, labels=("current plan", picked_scenario))
            st.dataframe(comparison, hide_index=True, width="stretch")
            left, right = st.columns(2)
            if left.button("Adopt as the task's plan", icon=":material/task_alt:",
                           disabled=not (dashboard.can(Permission.EDIT_TASKS) and dashboard.can(Permission.RECOMPUTE_RECOMMENDATIONS)),
                           help="The task takes this scenario's budget and plan; the audit log records it."):
                adopt_scenario(dashboard.catalog(), task_id, picked_scenario)
                dashboard.clear_reads()
                st.session_state[f"adopted-{task_id}"] = (
                    f"Adopted the scenario '{dashboard.literal(picked_scenario)}': the task's budget is now "
                    f"${stored_scenario.recommendation.budget:,.0f} and its plan is the scenario's.")
                st.rerun()
            right.download_button("Download the comparison (CSV)", to_csv(comparison),
                                  file_name=f"{task_id}-{picked_scenario}-comparison.csv", mime="text/csv",
                                  on_click="ignore", icon=":material/download:")

# ---------------------------------------------------------------- details
why, evidence_tab, quality_tab, budget_tab, history_tab, profile_tab = st.tabs(
    ["Why", "Evidence", "Synthetic data quality", "Mix and budget", "History", "Profile"])

with why:
    for line in why_lines(current):
        st.markdown(f"- {dashboard.literal(line)}")
    st.caption(f"Suggested uses of synthetic data: {', '.join(current.uses) or 'none'}.")
    for rule in current.rules:
        with st.expander(f"{rule.id} — {rule.effect}"):
            st.write(rule.rationale)
            st.caption(f"Principle: {rule.principle}")

with evidence_tab:
    evidence = dashboard.evidence(location, task_id)
    if evidence.count == 0:
        st.info("No usable outcomes yet (the task's metric, evaluated on human data).", icon=":material/info:")
    else:
        st.altair_chart(charts.evidence_chart(evidence_view(evidence, fit), row["metric"]), width="stretch")
        outcomes = dashboard.outcomes(location, task_id)
        st.dataframe(outcomes[["run_id", "n_human", "n_synthetic", "regime", "value", "human_eval", "cost", "source",
                               "created_by", "created_at"]], hide_index=True, width="stretch")

with quality_tab:
    reports = dashboard.quality_history(location, task_id)
    if reports.empty:
        st.info("No humanness report for this task's synthetic data yet. Measure one on the Data quality page: the "
                "pooled model uses it as a feature.", icon=":material/info:")
    else:
        latest = reports.iloc[-1]
        floor_text = "no noise floor" if pd.isna(latest["floor"]) else f"human data against itself {latest['floor']:.1f}"
        st.markdown(f"Latest: **{dashboard.literal(latest['dataset_name'])}** scores **{latest['humanness']:.1f} / 100**, grade "
                    f"**{latest['grade']}** ({floor_text}), assessed {latest['created_at']:%Y-%m-%d %H:%M} UTC by "
                    f"{dashboard.literal(latest['created_by'])}.")
        st.altair_chart(charts.humanness_trend(reports), width="stretch")
        st.dataframe(reports[["created_at", "dataset_name", "reference_name", "modality", "humanness", "floor",
                              "grade", "created_by"]].iloc[::-1], hide_index=True, width="stretch",
                     column_config={"humanness": st.column_config.NumberColumn("Humanness", format="%.1f"),
                                    "floor": st.column_config.NumberColumn("Human vs human", format="%.1f")})
    st.page_link("app_pages/data_quality.py", label="Assess synthetic data on the Data quality page",
                 icon=":material/compare:")

with budget_tab:
    if fit is None:
        st.info("The mix curve and the budget frontier need a fitted curve: log at least 3 outcomes at 2 or more "
                "mixes.", icon=":material/info:")
    else:
        st.altair_chart(charts.mix_chart(mix_curve(fit, current), row["metric"], current.human_share_spend,
                                         current.human_floor), width="stretch")
        st.altair_chart(charts.frontier_chart(budget_frontier(fit, current), row["metric"]), width="stretch")

with history_tab:
    history = history.assign(scenario_label=history["scenario"].replace("", "recomputed"))
    st.altair_chart(charts.history_chart(history, row["metric"]), width="stretch")
    st.dataframe(history[["created_at", "scenario_label", "sourcing", "human_share_spend", "budget",
                          "expected_value", "confidence", "evidence_count", "basis", "created_by"]].iloc[::-1],
                 hide_index=True, width="stretch",
                 column_config={"human_share_spend": st.column_config.NumberColumn("Human share", format="percent"),
                                "confidence": st.column_config.NumberColumn("Confidence", format="percent")})

with profile_tab:
    st.altair_chart(charts.task_profile(tasks[tasks["id"] == task_id]), width="stretch")
    if dashboard.can(Permission.EDIT_TASKS):
        st.page_link("app_pages/tasks.py", label="Edit this task's profile in Catalog › Tasks", icon=":material/edit:",
                     query_params={"task": task_id})
    for factor in FACTORS:
        st.markdown(f"**{factor.label}**: {int(row[factor.name])} — {factor.help}")
