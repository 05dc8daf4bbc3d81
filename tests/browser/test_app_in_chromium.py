"""The app served by a real `streamlit run`, driven by Debian's Chromium through Playwright.

Streamlit draws dataframes on a canvas (glide-data-grid). Next to the canvas it keeps an offscreen,
accessible <table role="grid"> holding the rows in view; the tests read table content from there.
Vega-Lite charts render as SVG (or canvas) inside the chart element.

Without /usr/bin/chromium the module is skipped, except when $CI is set: then it fails, so CI never
passes by silently skipping the browser.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from strategy.catalog import Catalog
from strategy.demo import initialise

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

PROJECT = Path(__file__).resolve().parents[2]
APP = PROJECT / "app.py"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
STARTUP_SECONDS = 60
WAIT_MS = 30_000
MIN_SCREENSHOT_BYTES = 10_000
expect.set_options(timeout=WAIT_MS)  # a cold first render of a page can take several seconds

# url path (after the base URL), title shown on the page, and the sidebar link text.
PAGES = [
    ("", "Portfolio"),
    ("task", "Task"),
    ("outcomes", "Outcomes"),
    ("profiles", "Task profiles"),
    ("datasets", "Datasets"),
    ("costs", "Cost assumptions"),
    ("audit", "Audit log"),
    ("export", "Export"),
]


def require_chromium(path: Path = CHROMIUM, environ=os.environ) -> None:
    """Skip when Chromium is missing, or fail when $CI is set so CI cannot silently skip the browser tests."""
    if path.is_file() and os.access(path, os.X_OK):
        return
    reason = f"Chromium not found at {path}: install Debian's chromium package to run the browser tests."
    if environ.get("CI"):
        pytest.fail(f"{reason} CI is set, so this is a failure, not a skip.", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"streamlit exited with {process.returncode} before serving:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200 and response.read().decode().strip() == "ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    pytest.fail(f"streamlit did not answer {url} within {STARTUP_SECONDS} s:\n{log.read_text()}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


@pytest.fixture(scope="module")
def chromium() -> Path:
    require_chromium()
    return CHROMIUM


@pytest.fixture(scope="module")
def catalog_path(tmp_path_factory) -> Path:
    """A demo catalog of this module's own, closed, so the server process can take its lock."""
    template = tmp_path_factory.mktemp("browser-template") / "demo.duckdb"
    catalog, _ = initialise(str(template), demo=True)
    catalog.close()
    path = tmp_path_factory.mktemp("browser-catalog") / "catalog.duckdb"
    shutil.copy(template, path)
    return path


@pytest.fixture(scope="module")
def demo_tasks(catalog_path):
    """Active demo tasks in the catalog's order, read before the server opens the file."""
    with Catalog.open(catalog_path) as catalog:
        return catalog.tasks()


@pytest.fixture(scope="module")
def app_url(chromium, catalog_path, demo_tasks, tmp_path_factory) -> Iterator[str]:
    """Base URL of `streamlit run app.py` serving the demo catalog; the server is stopped afterwards."""
    port = free_port()
    log = tmp_path_factory.mktemp("streamlit-log") / "streamlit.log"
    env = {**os.environ, "STRATEGY_CATALOG": str(catalog_path)}
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(process, f"{base}/_stcore/health", log)
        yield base
    finally:
        stop(process)


@pytest.fixture(scope="module")
def browser(chromium):
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, app_url) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    """tests/output/ when $STRATEGY_TEST_OUTPUT is set (to keep them), else a pytest temporary folder."""
    if os.environ.get("STRATEGY_TEST_OUTPUT"):
        folder = PROJECT / "tests" / "output"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("screenshots")


# --------------------------------------------------------------------------- helpers


def title(page: Page, text: str):
    return page.get_by_role("heading", name=text, exact=True, level=1)


def settle(page: Page) -> None:
    """Wait until the script run is over and every chart and table in view has drawn (hidden tabs aside)."""
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
                 .filter(chart => chart.checkVisibility())
                 .every(chart => chart.querySelector('svg.marks, canvas'))"""
    )
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stDataFrame"]')]
                 .filter(frame => frame.checkVisibility())
                 .every(frame => frame.querySelector('canvas'))"""
    )
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def content_height(page: Page) -> int:
    """Height of the page content once it stops growing (Streamlit scrolls inside its stMain element)."""
    script = """() => { const main = document.querySelector('[data-testid="stMain"]');
                        return Math.max(document.body.scrollHeight, main ? main.scrollHeight : 0); }"""
    last = -1
    for _ in range(20):
        height = int(page.evaluate(script))
        if height == last:
            break
        last = height
        page.wait_for_timeout(250)
    return last


def save_screenshot(page: Page, folder: Path, name: str) -> Path:
    """Full-page PNG: the viewport is grown to the content first, since the document itself does not scroll."""
    settle(page)
    page.set_viewport_size({"width": 1400, "height": max(1000, min(content_height(page), 8000))})
    settle(page)
    content_height(page)  # let the canvas grids redraw at the new size
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.is_file()
    assert path.stat().st_size > MIN_SCREENSHOT_BYTES, f"{path.name} is only {path.stat().st_size} bytes"
    return path


def sidebar_link(page: Page, text: str):
    return page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=text, exact=True)


def open_portfolio(page: Page, app_url: str) -> None:
    page.goto(app_url + "/")
    expect(title(page, "Portfolio")).to_be_visible()
    expect(page.locator('[data-testid="stDataFrame"]')).to_be_visible()


# --------------------------------------------------------------------------- tests


def test_chromium_check_skips_locally_and_fails_on_ci(tmp_path):
    missing = tmp_path / "no-chromium"
    with pytest.raises(pytest.skip.Exception):
        require_chromium(missing, environ={})
    with pytest.raises(pytest.fail.Exception):
        require_chromium(missing, environ={"CI": "true"})


def test_portfolio_shows_demo_tasks_and_catalog(page, app_url, catalog_path, demo_tasks, screenshots):
    open_portfolio(page, app_url)
    table = page.locator('[data-testid="stDataFrame"]')
    expect(table.locator("canvas").first).to_be_visible()
    expect(table.locator('[role="columnheader"]').get_by_text("Task", exact=True)).to_have_count(1)
    chest = table.locator('[role="gridcell"]').get_by_text("Chest X-ray triage", exact=True)
    chest.wait_for(state="attached")
    expect(chest).to_have_count(1)
    # The grid keeps the rows in view; those it holds come in the catalog's order.
    first = table.locator('[role="gridcell"][aria-colindex="1"]')
    expect(first.first).to_have_text(demo_tasks["name"].iloc[0])

    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(sidebar.locator('[data-testid="stCode"]')).to_have_text(str(catalog_path))
    expect(sidebar).to_contain_text("15 tasks")
    expect(sidebar).to_contain_text("165 outcomes")
    expect(page.get_by_text("not a strategy catalog")).to_have_count(0)

    save_screenshot(page, screenshots, "portfolio")


def test_task_page_from_sidebar_shows_selectbox_and_profile_chart(page, app_url, demo_tasks, screenshots):
    open_portfolio(page, app_url)
    sidebar_link(page, "Task").click()
    page.wait_for_url("**/task?task=*")
    expect(title(page, "Task")).to_be_visible()

    first = demo_tasks.iloc[0]
    selectbox = page.locator('[data-testid="stSelectbox"]').get_by_role("combobox", name="Task")
    expect(selectbox).to_be_visible()
    expect(selectbox).to_have_value(first["name"])
    expect(page.get_by_role("heading", name=first["name"], exact=True)).to_be_visible()
    assert page.url.endswith(f"/task?task={first['id']}")

    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    expect(chart).to_be_visible()
    expect(chart.locator("svg.marks, canvas").first).to_be_visible()
    expect(chart).to_contain_text("Task profile")

    save_screenshot(page, screenshots, "task")


def test_task_page_deep_link_and_choosing_another_task(page, app_url, demo_tasks):
    ids = dict(zip(demo_tasks["name"], demo_tasks["id"], strict=True))
    page.goto(f"{app_url}/task?task={ids['Chest X-ray triage']}")
    selectbox = page.get_by_role("combobox", name="Task")
    expect(selectbox).to_have_value("Chest X-ray triage")
    expect(page.get_by_role("heading", name="Chest X-ray triage", exact=True)).to_be_visible()

    other = next(name for name in demo_tasks["name"] if name != "Chest X-ray triage")
    selectbox.click()
    page.get_by_role("option", name=other, exact=True).click()
    expect(page.get_by_role("heading", name=other, exact=True)).to_be_visible()
    expect(selectbox).to_have_value(other)
    page.wait_for_url(f"**/task?task={ids[other]}")


@pytest.mark.parametrize(("url_path", "heading"), PAGES, ids=[heading for _, heading in PAGES])
def test_every_page_opens_from_the_sidebar(page, app_url, screenshots, url_path, heading):
    open_portfolio(page, app_url)
    sidebar_link(page, heading).click()
    expect(title(page, heading)).to_be_visible()
    page.wait_for_url(f"{app_url}/{url_path}**")
    if url_path == "export":
        expect(page.get_by_role("button", name="Tasks as CSV")).to_be_visible()
        expect(page.get_by_role("button", name="Cost assumptions as JSON")).to_be_visible()
    else:
        # On the Task page the first tab holds a chart; its tables sit in tabs not shown yet.
        shown = page.locator('[data-testid="stDataFrame"]:visible, [data-testid="stVegaLiteChart"]:visible')
        expect(shown.first).to_be_visible()
    save_screenshot(page, screenshots, f"page-{url_path or 'portfolio'}")


# --------------------------------------------------------------------------- chart legibility


def test_dataset_cost_chart_draws_every_dataset(page, app_url):
    # Regression: bars on a log scale started at zero and were drawn 0 px wide, leaving the chart blank.
    page.goto(f"{app_url}/datasets")
    expect(title(page, "Datasets")).to_be_visible()
    settle(page)
    sizes = page.locator('[data-testid="stVegaLiteChart"]').first.evaluate(
        "chart => [...chart.querySelectorAll('g.mark-symbol.role-mark path')].map(point => point.getBBox().width)")
    assert len(sizes) == 28, f"expected a point per dataset, found {len(sizes)}"
    assert min(sizes) > 0


def test_task_profile_chart_labels_every_factor(page, app_url):
    # Regression: labels overlapped and Vega hid every other one.
    page.goto(f"{app_url}/task")
    expect(title(page, "Task")).to_be_visible()
    settle(page)
    labels = page.locator('[data-testid="stVegaLiteChart"]').first.evaluate(
        """chart => [...chart.querySelectorAll('.role-axis-label text')]
                   .map(label => [label.textContent, getComputedStyle(label).opacity])""")
    hidden = [text for text, opacity in labels if float(opacity) == 0]
    assert not hidden, f"axis labels hidden by Vega's overlap rule: {hidden}"
