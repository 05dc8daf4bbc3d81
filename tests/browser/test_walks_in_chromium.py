"""Chromium walks of a researcher's and an analyst's jobs, each asserting what the person reads (issue 18).

This module has its own demo catalog and its own server (see conftest.py): its walks write, and its first
test must be the first visit after the server starts.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from strategy.catalog import Catalog
from tests.browser.chromium import choose, require_chromium, save_screenshot, settle, title

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

TASK = "Product review sentiment"
NEXT = re.compile(r"Next experiment: ([\d,]+) human \+ ([\d,]+) synthetic samples")


@pytest.fixture(scope="module")
def facts(catalog_path) -> dict:
    """What the walks compare against, read before the server holds the catalog file."""
    require_chromium()
    with Catalog.open(catalog_path) as catalog:
        task = catalog.task(TASK)
        recommendation, _ = catalog.latest_recommendation(task.id)
        return {"task_id": task.id, "eval_size": recommendation.eval_set.size,
                "eval_tier": recommendation.eval_set.tier, "budget": recommendation.budget}


def sidebar_outcomes(page: Page) -> int:
    text = page.locator('[data-testid="stSidebar"]').get_by_text(re.compile(r"\d+ outcomes")).inner_text()
    return int(re.search(r"([\d,]+) outcomes", text).group(1).replace(",", ""))


def next_experiment(page: Page, task_id: str, app_url: str) -> tuple[int, int]:
    page.goto(f"{app_url}/task?task={task_id}")
    expect(title(page, "Task")).to_be_visible()
    box = page.get_by_text(NEXT)
    expect(box).to_be_visible()
    found = NEXT.search(box.inner_text())
    return int(found.group(1).replace(",", "")), int(found.group(2).replace(",", ""))


def log_one(page: Page, app_url: str, n_human: int, n_synthetic: int, value: str) -> None:
    page.goto(f"{app_url}/log")
    expect(title(page, "Log outcomes")).to_be_visible()
    choose(page, "Task", TASK)
    settle(page)
    page.get_by_role("spinbutton", name="Human samples (n_human)").fill(str(n_human))
    page.get_by_role("spinbutton", name="Synthetic samples (n_synthetic)").fill(str(n_synthetic))
    page.get_by_role("spinbutton", name="Value").fill(value)
    page.get_by_role("button", name="Log outcome").click()


def test_a_first_visitor_opening_a_page_by_its_address_sees_no_page_not_found(facts, page, app_url, screenshots):
    """Issue 18 #2: the first visit after a server start, straight to /quality, showed "Page not found"
    (Streamlit ran the pages/ folder as an old-style app on that first run)."""
    page.goto(f"{app_url}/quality")
    expect(title(page, "Data quality")).to_be_visible()
    settle(page)
    page.wait_for_timeout(1000)  # the dialog came with the first script run's messages
    expect(page.get_by_text("Page not found")).to_have_count(0)
    expect(page.get_by_role("dialog")).to_have_count(0)
    save_screenshot(page, screenshots, "walk-first-visit-quality")


def test_switching_the_synthetic_dataset_brings_its_own_human_reference(page, app_url, screenshots):
    """Issue 18 #1: the Human reference box kept the previous task's dataset, and Run failed with "shares no
    column with Crowd-labelled reviews"."""
    page.goto(f"{app_url}/quality")
    expect(title(page, "Data quality")).to_be_visible()
    settle(page)
    choose(page, "Synthetic dataset", "LLM-labelled reviews")
    settle(page)
    expect(page.get_by_role("combobox", name="Human reference")).to_have_value("Crowd-labelled reviews")
    choose(page, "Synthetic dataset", "Synthetic fraud transactions")
    settle(page)
    expect(page.get_by_role("combobox", name="Human reference")).to_have_value("Confirmed fraud cases")
    page.get_by_role("button", name="Run the assessment").click()
    expect(page.get_by_role("heading", name="3. Report")).to_be_visible(timeout=120_000)
    settle(page)
    expect(page.get_by_text("shares no column")).to_have_count(0)
    expect(page.locator('[data-testid="stMetric"]').first).to_contain_text("Humanness")
    save_screenshot(page, screenshots, "walk-analyst-switch-and-run")


def test_the_log_form_drops_old_errors_once_an_outcome_is_logged_and_the_sidebar_counts_it(page, app_url,
                                                                                          screenshots):
    """Issue 18 #3 and #5: "is required" stayed beside "Outcome logged.", and the sidebar still counted the
    outcomes from before the write."""
    page.goto(f"{app_url}/log")
    expect(title(page, "Log outcomes")).to_be_visible()
    settle(page)
    before = sidebar_outcomes(page)
    choose(page, "Task", TASK)
    settle(page)
    page.get_by_role("button", name="Log outcome").click()  # no value: refused
    expect(page.get_by_text("Fix the fields marked in red; nothing was saved.")).to_be_visible()
    expect(page.get_by_text("is required")).to_be_visible()
    assert sidebar_outcomes(page) == before
    page.get_by_role("spinbutton", name="Human samples (n_human)").fill("1234")
    page.get_by_role("spinbutton", name="Value").fill("0.81")
    page.get_by_role("button", name="Log outcome").click()
    expect(page.get_by_text("Outcome logged.")).to_be_visible()
    settle(page)
    expect(page.get_by_text("is required")).to_have_count(0)
    expect(page.get_by_text("Fix the fields marked in red")).to_have_count(0)
    expect(page.locator('[data-testid="stSidebar"]').get_by_text(f"{before + 1} outcomes", exact=False)).to_be_visible()
    save_screenshot(page, screenshots, "walk-researcher-form")


def test_the_next_experiment_moves_on_once_it_is_logged(facts, page, app_url, screenshots):
    """Issue 18 #4: after logging exactly the suggested run, the same run was still suggested."""
    suggested = next_experiment(page, facts["task_id"], app_url)
    log_one(page, app_url, *suggested, "0.79")
    expect(page.get_by_text("Outcome logged.")).to_be_visible()
    after = next_experiment(page, facts["task_id"], app_url)
    assert after != suggested, f"still suggesting {suggested} after it was logged"
    save_screenshot(page, screenshots, "walk-researcher-next-experiment")


def test_a_what_if_price_tier_prices_the_evaluation_set(facts, page, app_url, screenshots):
    """Issue 18 #8 and #11: choosing the expert tier left the evaluation set at the task's own price; the
    card said "a expert"."""
    page.goto(f"{app_url}/task?task={facts['task_id']}")
    expect(title(page, "Task")).to_be_visible()
    settle(page)
    budget = page.get_by_role("spinbutton", name="Budget (USD)")
    budget.fill("1000000")
    budget.press("Enter")
    expect(page.get_by_text("What-if answer")).to_be_visible()
    choose(page, "Human data price", "expert tier ($150)")
    settle(page)
    cost = facts["eval_size"] * 150
    card = page.locator('[data-testid="stMarkdownContainer"]').filter(has_text="human evaluation set of").filter(
        has_text="Buy")
    expect(card).to_contain_text(f"evaluation set of {facts['eval_size']:,}** (${cost:,.0f})"
                                 .replace("**", ""))
    article = "an" if facts["eval_tier"][0] in "aeiou" else "a"
    expect(card).to_contain_text(f"plus {article} {facts['eval_tier']} human")
    save_screenshot(page, screenshots, "walk-whatif-expert-tier")
