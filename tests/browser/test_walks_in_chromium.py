"""Chromium walks of a researcher's and an analyst's jobs, each asserting what the person reads (issue 18).

This module has its own demo catalog and its own server (see conftest.py): its walks write, and its first
test must be the first visit after the server starts.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from strategy.catalog import Catalog
from strategy.charts import FIT_COLOUR, SYNTHETIC_COLOUR
from strategy.models import Task
from tests.browser.chromium import (
    choose,
    metric,
    open_portfolio,
    pick_radio,
    press,
    require_chromium,
    save_screenshot,
    settle,
    title,
    upload,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

TASK = "Product review sentiment"
UNCOMPUTED = "Ticket routing (not computed yet)"
NEXT = re.compile(r"Next experiment: ([\d,]+) human \+ ([\d,]+) synthetic samples")


@pytest.fixture(scope="module")
def facts(catalog_path) -> dict:
    """What the walks compare against, read before the server holds the catalog file."""
    require_chromium()
    with Catalog.open(catalog_path) as catalog:
        # A task saved without an answer yet, as a bulk task import leaves it before its first recompute.
        catalog.save_tasks([Task(name=UNCOMPUTED, domain="Operations", modality="text", metric="F1")],
                           actor="browser test")
        task = catalog.task(TASK)
        recommendation, _ = catalog.latest_recommendation(task.id)
        datasets = catalog.datasets()
        human = datasets[(datasets["task_id"] == task.id) & (datasets["source_kind"] == "human")
                         & (datasets["cost_per_sample"] > 0)]
        return {"task_id": task.id, "eval_size": recommendation.eval_set.size,
                "eval_tier": recommendation.eval_set.tier, "budget": recommendation.budget,
                "human_prices": human["cost_per_sample"].tolist()}


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
    """The analyst's job: find the datasets in the catalog, switch the synthetic dataset, run, and save the
    report against the dataset measured. Issue 18 #1: the Human reference box kept the previous task's dataset,
    and Run failed with "shares no column with Crowd-labelled reviews"; #7: saving preselected an unrelated
    dataset."""
    page.goto(f"{app_url}/datasets")
    expect(title(page, "Datasets")).to_be_visible()
    settle(page)
    choose(page, "Dataset", "Synthetic fraud transactions")  # the catalog entry the analyst will assess
    settle(page)
    form = page.locator('[data-testid="stForm"]')
    expect(form.get_by_role("combobox", name="Task")).to_have_value("Card fraud detection")
    page.goto(f"{app_url}/quality")
    expect(title(page, "Data quality")).to_be_visible()
    settle(page)
    choose(page, "Synthetic dataset", "LLM-labelled reviews")
    settle(page)
    expect(page.get_by_role("combobox", name="Human reference")).to_have_value("Crowd-labelled reviews")
    choose(page, "Synthetic dataset", "Synthetic fraud transactions")
    settle(page)
    expect(page.get_by_role("combobox", name="Human reference")).to_have_value("Confirmed fraud cases")
    press(page, "Run the assessment", page.get_by_role("heading", name="3. Report"))
    settle(page)
    expect(page.get_by_text("shares no column")).to_have_count(0)
    expect(page.locator('[data-testid="stMetric"]').first).to_contain_text("Humanness")
    score = page.locator('[data-testid="stMetric"]').first.locator('[data-testid="stMetricValue"]').inner_text()
    save_screenshot(page, screenshots, "walk-analyst-switch-and-run")
    form = page.locator('[data-testid="stForm"]').filter(has_text="Synthetic dataset measured")
    expect(form.get_by_role("combobox", name="Synthetic dataset measured")).to_have_value(
        "Synthetic fraud transactions")
    expect(form.get_by_role("combobox", name="Human reference dataset")).to_have_value("Confirmed fraud cases")
    form.get_by_role("button", name="Save the report").click()
    saved = page.get_by_text(re.compile(r"Saved: Synthetic fraud transactions scores [\d.]+ \(grade [A-F]\)"))
    expect(saved).to_be_visible(timeout=60_000)
    assert re.search(r"scores ([\d.]+)", saved.inner_text()).group(1) in score.replace(",", "")
    expect(page.get_by_role("link", name="Open the task")).to_be_visible()
    save_screenshot(page, screenshots, "walk-analyst-saved")


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


def upload_csv(page: Page, name: str, content: str) -> None:
    upload(page, page.locator('[data-testid="stFileUploaderDropzoneInput"]'),
           [{"name": name, "mimeType": "text/csv", "buffer": content.encode("utf-8")}])


def test_a_bad_file_is_refused_with_its_rows_named_then_a_good_one_imports(page, app_url, screenshots):
    """The researcher's file job: a file with mistakes is refused whole, saying which row, field and why, and
    nothing is written; the corrected file then imports and the sidebar counts its rows. The page's stated size
    limit is the one the upload widget enforces."""
    page.goto(f"{app_url}/log")
    expect(title(page, "Log outcomes")).to_be_visible()
    settle(page)
    before = sidebar_outcomes(page)
    page.get_by_role("tab", name="From a file").click()
    stated = re.search(r"up to ([\d,.]+ MB)", page.get_by_text("CSV, Parquet or JSON lines, up to").inner_text())
    widget = page.locator('[data-testid="stFileUploaderDropzoneInstructions"]').inner_text()
    assert stated and stated.group(1).replace(" ", "") in widget.replace(" ", ""), (stated, widget)
    header = "task,n_human,n_synthetic,metric,value,run_id"
    upload_csv(page, "mistakes.csv", f"{header}\n{TASK},300,0,accuracy,0.8,file-walk-1\n"
                                     f"{TASK},-5,0,accuracy,0.8,file-walk-2\n")
    expect(page.get_by_text("Nothing can be imported: 1 problem(s)")).to_be_visible()
    problems = page.locator('[data-testid="stDataFrame"]').last
    expect(problems).to_contain_text("n_human")
    save_screenshot(page, screenshots, "walk-researcher-bad-file")
    assert sidebar_outcomes(page) == before
    expect(page.get_by_role("button", name=re.compile(r"^Import \d"))).to_have_count(0)
    upload_csv(page, "corrected.csv", f"{header}\n{TASK},300,0,accuracy,0.8,file-walk-1\n"
                                      f"{TASK},500,0,accuracy,0.81,file-walk-2\n")
    expect(page.get_by_text("All 2 rows are valid: 2 new")).to_be_visible()
    press(page, "Import 2 outcomes", page.get_by_text("Imported 2 outcomes; skipped 0 already logged."))
    settle(page)
    expect(page.locator('[data-testid="stSidebar"]').get_by_text(f"{before + 2} outcomes", exact=False)).to_be_visible()
    save_screenshot(page, screenshots, "walk-researcher-good-file")


def test_a_task_without_an_answer_reads_in_words_on_the_portfolio(facts, page, app_url, screenshots):
    """Issue 18 #11: cells showed "None". A task with no stored recommendation is the first row when sorted by
    lowest confidence; every cell of its row is words or blank, never "None"."""
    open_portfolio(page, app_url)
    settle(page)
    row = page.locator('[data-testid="stDataFrame"]').first.locator('[role="row"]').filter(has_text=UNCOMPUTED)
    expect(row).to_have_count(1)
    cells = [text.strip() for text in row.locator('[role="gridcell"]').all_inner_texts()]
    assert "not computed" in cells and "not computed yet" in cells, cells
    assert not {"None", "nan", "NaN", "NaT", "<NA>"} & set(cells), cells
    save_screenshot(page, screenshots, "walk-portfolio-uncomputed-task")


def _pixels_near(png: bytes, colour: str, *, opacity: float = 1.0, tolerance: int = 24) -> int:
    """How many pixels of a screenshot show ``colour`` (drawn at ``opacity`` over white)."""
    from PIL import Image

    target = [round(opacity * int(colour[i:i + 2], 16) + (1 - opacity) * 255) for i in (1, 3, 5)]
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)
    return int((np.abs(pixels - np.array(target)).max(axis=2) <= tolerance).sum())


def test_the_evidence_chart_draws_its_fitted_strokes_and_bands(facts, page, app_url, screenshots):
    """Issue 18 #10: the Evidence chart's fitted curve and band were invisible in the browser. Its legend
    promises a dark stroke per outcome (the fit) and an orange bar (its 80% band): both must be on screen."""
    page.goto(f"{app_url}/task?task={facts['task_id']}")
    expect(title(page, "Task")).to_be_visible()
    settle(page)
    page.get_by_role("tab", name="Evidence").click()
    settle(page)
    chart = page.locator('[data-testid="stVegaLiteChart"]:visible').first
    expect(chart).to_contain_text("Logged outcomes against the fitted curve")
    png = chart.screenshot(path=str(screenshots / "evidence-chart-alone.png"))
    strokes, bands = _pixels_near(png, FIT_COLOUR), _pixels_near(png, SYNTHETIC_COLOUR, opacity=0.35, tolerance=14)
    # A stroke is 22 × 3 px and a band 8 px wide: a few logged outcomes give hundreds of pixels of each.
    assert strokes > 150 and bands > 150, (strokes, bands)
    save_screenshot(page, screenshots, "walk-evidence-chart")


def test_the_backtest_narrows_the_intervals_and_the_model_card_says_so(facts, page, app_url, catalog_path,
                                                                         screenshots):
    """The model card before and after its backtest: the demo's intervals over-cover as fitted, so the backtest
    narrows them, the card shows the calibrated coverage and says by how much, and the task's interval on its
    page is drawn at the new width (the portfolio is re-planned)."""
    def interval_width() -> float:
        page.goto(f"{app_url}/task?task={facts['task_id']}")
        expect(title(page, "Task")).to_be_visible()
        line = page.get_by_text(re.compile(r"80% interval for [^:]+: [\d.]+")).first.inner_text()
        found = re.search(r"80% interval for [^:]+: (\d+\.\d+)[–-](\d+\.\d+)", line)
        return float(found.group(2)) - float(found.group(1))

    before = interval_width()
    page.goto(f"{app_url}/model")
    expect(title(page, "Model card")).to_be_visible()
    expect(page.get_by_text("No backtest stored yet.")).to_be_visible()
    # The card names its engine and how synthetic data's harm may arrive under it.
    expect(page.get_by_text(re.compile(r"surface-bma/\d+ — .*building with the synthetic count"))).to_be_visible()
    page.get_by_role("button", name="Run the backtest now").click()
    sentence = page.get_by_text(re.compile(r"now drawn ([\d.]+)× as wide"))
    expect(sentence).to_be_visible(timeout=180_000)
    scale = float(re.search(r"now drawn ([\d.]+)× as wide", sentence.inner_text()).group(1))
    covered = re.search(r"they cover (\d+)%", sentence.inner_text()).group(1)
    assert scale < 1
    expect(metric(page, "80% intervals covered").locator('[data-testid="stMetricValue"]')).to_have_text(f"{covered}%")
    save_screenshot(page, screenshots, "walk-model-card-calibrated")
    after = interval_width()
    assert after == pytest.approx(scale * before, abs=0.003), (before, after, scale)  # shown to 3 decimals


def test_a_price_saved_on_the_datasets_page_reaches_the_task_at_once(facts, page, app_url, screenshots):
    """Issue 19: the Datasets page stored a dataset's price and asked for a refit before the recommendation would
    use it. Saving now recomputes the task, the page says so and shows before → after, and the task page plans
    with the new price (the mean of the task's priced human datasets)."""
    price = 0.12
    expected = float(np.mean([*facts["human_prices"], price]))
    page.goto(f"{app_url}/datasets")
    expect(title(page, "Datasets")).to_be_visible()
    settle(page)
    page.get_by_role("textbox", name="Name").fill("Second-pass review labels")
    choose(page, "Task", TASK)
    page.get_by_role("spinbutton", name="Samples").fill("5000")
    page.get_by_role("spinbutton", name="Cost per sample (USD)").fill(f"{price}")
    page.get_by_role("spinbutton", name="Cost per sample (USD)").press("Tab")
    page.get_by_role("button", name="Register dataset").click()
    expect(page.get_by_text(f"{TASK} now plans with its price, recomputed just now.")).to_be_visible()
    expect(page.get_by_text("What the new price changed")).to_be_visible()
    settle(page)
    save_screenshot(page, screenshots, "walk-dataset-price")
    page.goto(f"{app_url}/task?task={facts['task_id']}")
    expect(title(page, "Task")).to_be_visible()
    expect(page.get_by_role("combobox", name="Human data price")).to_have_value(f"this task's price (${expected:,.4g})")


@pytest.fixture(scope="module")
def mlflow_url(tmp_path_factory):
    """A real `mlflow server` holding an experiment of runs for TASK, logged with MLflow's own client."""
    pytest.importorskip("mlflow", reason="the trackers extra (mlflow) is not installed; `make test` installs it")
    from tests.trackers.mlflow_store import LoggedRun, log_runs, mlflow_server, sqlite_uri

    folder = tmp_path_factory.mktemp("mlflow")
    uri = sqlite_uri(folder / "mlflow.db")
    log_runs(uri, "sentiment", [LoggedRun("base", 900, 0, history=(0.80,), task=TASK, metric="accuracy"),
                                LoggedRun("mix", 900, 9000, history=(0.78, 0.83), task=TASK, metric="accuracy"),
                                LoggedRun("still running", 90, 90, task=TASK, metric="accuracy", finish=False)])
    with mlflow_server(uri, folder / "server.log") as url:
        yield url


def test_a_tracking_uri_at_the_cloud_metadata_address_is_refused_in_words(page, app_url):
    """A signed-in user types the instance metadata address as a tracking server: the page says why it will not
    go there, and nothing is read."""
    page.goto(f"{app_url}/import")
    expect(title(page, "Import runs")).to_be_visible()
    settle(page)
    page.get_by_role("textbox", name="Tracking URI").fill("http://169.254.169.254/latest/meta-data/")
    page.get_by_role("textbox", name="Experiment").fill("anything")
    page.get_by_role("button", name="Read runs").click()
    error = page.locator('[data-testid="stAlertContentError"]')
    expect(error).to_contain_text("is at 169.254.169.254, a link-local, multicast or unspecified address")
    expect(error).to_contain_text("STRATEGY_TRACKING_HOSTS")
    expect(metric(page, "To import")).to_have_count(0)


def test_runs_on_an_mlflow_server_are_previewed_and_imported_and_move_the_task(mlflow_url, page, app_url,
                                                                               screenshots):
    """Issue 20: a researcher points the app at the team's MLflow tracking server and sees which runs would come
    in, imports them, and sees the task's recommendation move; reading again finds them already logged."""
    page.goto(f"{app_url}/import")
    expect(title(page, "Import runs")).to_be_visible()
    settle(page)
    before = sidebar_outcomes(page)
    page.get_by_role("textbox", name="Tracking URI").fill(mlflow_url)
    page.get_by_role("textbox", name="Experiment").fill("sentiment")
    page.get_by_role("button", name="Read runs").click()
    expect(metric(page, "To import")).to_contain_text("2")
    expect(metric(page, "Left out by filters")).to_contain_text("1")
    settle(page)
    expect(page.locator('[data-testid="stDataFrame"]').first).to_contain_text("still running")
    # The rest of the mapping waits behind one expander, with the runs' own keys offered.
    page.get_by_text("More of the mapping").click()
    expect(page.get_by_role("combobox", name="Human share (0–1), instead of the counts")).to_be_visible()
    expect(page.get_by_role("textbox", name="Only runs with these tags")).to_be_visible()
    save_screenshot(page, screenshots, "walk-import-preview")
    page.get_by_role("button", name="Import 2 runs").click()
    expect(page.get_by_text("Imported 2 runs; 0 were already logged.")).to_be_visible(timeout=120_000)
    expect(page.get_by_text("What the evidence changed")).to_be_visible()
    settle(page)
    expect(page.locator('[data-testid="stDataFrame"]').last).to_contain_text(TASK)
    expect(page.locator('[data-testid="stSidebar"]').get_by_text(f"{before + 2} outcomes", exact=False)).to_be_visible()
    save_screenshot(page, screenshots, "walk-import-done")
    page.get_by_role("button", name="Read runs").click()
    expect(metric(page, "Already logged")).to_contain_text("2")
    expect(metric(page, "To import")).to_contain_text("0")
    expect(page.get_by_role("button", name="Import 0 runs")).to_be_disabled()


def test_the_privacy_tab_names_a_memorising_generator_against_its_holdout(page, app_url, screenshots):
    """Issue 21: with a holdout uploaded, the Privacy tab shows the memorisation measures (the DCR share with its
    interval, the distance ratio, the membership attack), and a generator that copies its training rows with a
    small shift is flagged on them although it makes no exact copy."""
    rng = np.random.default_rng(4)

    def people(rows: int) -> str:
        age = rng.normal(40, 10, rows)
        frame = {"age": age.round(3), "income": (1000 + 30 * age + rng.normal(0, 200, rows)).round(2),
                 "region": rng.choice(["n", "s", "e", "w"], rows)}
        return "age,income,region\n" + "".join(f"{a},{i},{r}\n" for a, i, r in zip(*frame.values(), strict=True))
    human, holdout = people(600), people(600)
    lines = human.splitlines()
    shifted = [lines[0]] + [f"{float(row.split(',')[0]) + 0.01:.3f},{row.split(',', 1)[1]}" for row in lines[1:401]]
    page.goto(f"{app_url}/quality")
    expect(title(page, "Data quality")).to_be_visible()
    settle(page)
    page.get_by_text("Upload files").click()
    inputs = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    expect(inputs).to_have_count(3)
    for index, (name, content) in enumerate([("human.csv", human), ("near_copies.csv", "\n".join(shifted) + "\n"),
                                             ("holdout.csv", holdout)]):
        upload(page, inputs.nth(index), [{"name": name, "mimeType": "text/csv", "buffer": content.encode("utf-8")}])
    press(page, "Run the assessment", page.get_by_role("heading", name="3. Report"))
    settle(page)
    # Both samples are within the default subsample, and the report says what the costly metrics read.
    expect(page.get_by_text("Detection, Fidelity and diversity (k-NN): all rows (each side within the subsample "
                            "size, 5,000 rows)")).to_be_visible()
    page.get_by_role("tab", name="Privacy").click()
    settle(page)
    privacy = page.locator('[data-testid="stDataFrame"]').filter(has_text="Membership inference")
    expect(privacy).to_contain_text("Nearest-neighbour distance ratio (median)")
    expect(privacy).to_contain_text("Closer to the training rows than to the holdout")
    expect(privacy).to_contain_text("(95%:")
    expect(privacy).to_contain_text("flagged")
    expect(page.get_by_text("an attacker tells training rows from unseen ones")).to_be_visible()
    save_screenshot(page, screenshots, "walk-privacy-holdout")


def test_several_generators_are_ranked_with_a_leaking_one_last(page, app_url, screenshots):
    """Issue 21: in "Rank several synthetic samples", a human sample and three uploaded synthetic ones (a close
    one, a distorted one, and copies of the human rows) are ranked: the sentence names the best and says the
    copies rank last although they score highest, the table lists all three, and the chart is drawn."""
    rng = np.random.default_rng(8)

    def people(rows: int, shift: float = 0.0) -> list[str]:
        age = rng.normal(40 + shift, 10 + shift, rows)
        income = 1000 + 30 * age + rng.normal(0, 200, rows)
        region = rng.choice(["n", "s", "e", "w"], rows)
        return [f"{a:.3f},{i:.2f},{r}" for a, i, r in zip(age, income, region, strict=True)]
    human = people(500)
    files = [("human.csv", human), ("vendor_close.csv", people(500)), ("vendor_skewed.csv", people(500, 12.0)),
             ("copies.csv", human[::-1])]
    page.goto(f"{app_url}/quality")
    expect(title(page, "Data quality")).to_be_visible()
    settle(page)
    # The demo has synthetic and human datasets, so ranking opens on catalog datasets.
    pick_radio(page, "Assess", "Rank several synthetic samples", page.get_by_text("Synthetic datasets to rank"))
    inputs = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    pick_radio(page, "Where are the samples?", "Upload files", page.locator('[data-testid="stFileUploader"]').nth(2))
    expect(inputs).to_have_count(3)
    as_file = [{"name": name, "mimeType": "text/csv", "buffer": ("age,income,region\n" + "\n".join(rows) + "\n")
                .encode("utf-8")} for name, rows in files]
    upload(page, inputs.nth(0), as_file[:1])
    upload(page, inputs.nth(1), as_file[1:])
    press(page, "Rank the samples", page.get_by_role("heading", name="2. Ranking"))
    settle(page)
    sentence = page.get_by_text("vendor_close.csv ranks first with humanness")
    expect(sentence).to_be_visible()
    expect(sentence).to_contain_text("copies.csv crosses a privacy threshold and ranks last")
    ranking = page.locator('[data-testid="stDataFrame"]').filter(has_text="vendor_skewed.csv")
    expect(ranking).to_contain_text("copy_margin")
    expect(page.locator('[data-testid="stVegaLiteChart"]').first).to_be_visible()
    expect(page.get_by_text("rank catalog datasets to save")).to_be_visible()
    save_screenshot(page, screenshots, "walk-generator-ranking")
