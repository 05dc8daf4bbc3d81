"""Evidence › Model card: how well the learned model predicts held-out outcomes, against simple baselines."""

import pandas as pd
import streamlit as st

import dashboard
from strategy.access import Permission
from strategy.backtest import model_card, run_backtest
from strategy.explain import calibration_sentence
from strategy.recommend import ENGINE_VERSION, SURFACE_FORM

catalog = dashboard.catalog()
card = model_card(catalog)

st.title("Model card")
st.markdown(
    f"**{ENGINE_VERSION}** — each task's outcomes give a posterior over learning-curve surfaces (human and "
    "synthetic sample counts; a synthetic sample is worth some share of a human one and saturates, and synthetic "
    "data can hurt once human data is plentiful, all at once past the human count or building with the synthetic "
    "count, as the outcomes say), averaged over thousands of curve shapes weighted by "
    "how well each explains the outcomes. Plans are chosen on the expected metric less one posterior standard "
    "deviation; the class compares the best human-only, synthetic-led and mixed plans. Tasks with few outcomes "
    "borrow the shape from a pooled ridge model over task profiles. Intervals and confidence come from the "
    "posterior draws; the backtest below says how often the 80% intervals held.")

facts = st.columns(4)
facts[0].metric("Outcomes behind the fits", f"{card['outcomes']:,}")
facts[1].metric("Tasks fitted by the model", card["model_tasks"])
facts[2].metric("Tasks on rules only", card["rules_tasks"])
facts[3].metric("Pooled prior", f"{card['pooled_tasks']} tasks" if card["pooled_tasks"] else "not fitted")
st.caption(f"Last fitted: {card['fitted_at'] or 'never'} · pooled prior version {card['pooled_version'] or '—'}.")

st.subheader("Backtest: leave one outcome out")
st.caption("Each outcome is predicted from the task's other outcomes (its pooled prior refitted without the task). "
           "Baselines: the rules-only curve (shape from the rules, level fitted) and the task's mean outcome. "
           "Relative error = mean absolute error ÷ standard deviation of the task's outcomes.")
if card["backtest"] is None:
    st.info("No backtest stored yet.", icon=":material/info:")
else:
    summary = card["backtest"]["summary"]
    errors = summary["relative_error"]
    cols = st.columns(4)
    cols[0].metric("Model", f"{errors['model']:.3f}")
    cols[1].metric("Rules only", f"{errors['rules']:.3f}")
    cols[2].metric("Task mean", f"{errors['mean']:.3f}")
    coverage = calibration_sentence(summary)
    cols[3].metric("80% intervals covered", coverage.headline,
                   help="Share of held-out outcomes inside the model's 80% interval, as the intervals are now "
                        "drawn (calibrated when the backtest had enough outcomes); well calibrated is 75–85%.")
    st.caption(f"{summary['tasks']} tasks, {summary['outcomes']} outcomes; the model beats rules-only on "
               f"{summary['model_beats_rules']} tasks and the task mean on {summary['model_beats_mean']}. "
               f"Run at {card['backtest_at']} on form {card['backtest_form']}.")
    if coverage.sentence:
        st.caption(coverage.sentence)
    tasks = pd.DataFrame(card["backtest"]["tasks"])
    columns = ["task", "metric", "outcomes", "mae_model", "mae_rules", "mae_mean"] + [
        c for c in ("coverage_80", "coverage_80_calibrated") if c in tasks]
    st.dataframe(tasks[columns],
                 hide_index=True, width="stretch",
                 column_config={"coverage_80": st.column_config.NumberColumn("80% coverage as fitted", format="%.2f"),
                                "coverage_80_calibrated": st.column_config.NumberColumn(
                                    "80% coverage, calibrated", format="%.2f"),
                                "mae_model": st.column_config.NumberColumn("Model MAE", format="%.4f"),
                                "mae_rules": st.column_config.NumberColumn("Rules-only MAE", format="%.4f"),
                                "mae_mean": st.column_config.NumberColumn("Task-mean MAE", format="%.4f")})
if dashboard.can(Permission.RECOMPUTE_RECOMMENDATIONS) and st.button(
        "Run the backtest now", help=f"Scores the {SURFACE_FORM} model; takes a few seconds per task."):
    with st.spinner("Backtesting…"):
        run_backtest(catalog)
    dashboard.clear_reads()
    st.rerun()
