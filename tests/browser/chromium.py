"""What every Chromium test module shares: where Chromium is, how the app's server is started and stopped,
and helpers that read the page as a user does (see test_app_in_chromium.py for how tables and charts are read).
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.processes import free_port, stop  # noqa: F401 (the browser fixtures import them from here)

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

GRID_ROW_PX = 35  # glide-data-grid's row (and header) height in Streamlit
# url path (after the base URL), title shown on the page and sidebar link text, and what the page shows
# once loaded (a CSS selector).
PAGES = [
    ("", "Portfolio", '[data-testid="stDataFrame"]'),
    ("task", "Task", '[data-testid="stMetric"]'),
    ("log", "Log outcomes", '[data-testid="stForm"]'),
    ("import", "Import runs", '[data-testid="stForm"]'),
    ("outcomes", "Outcomes", '[data-testid="stDataFrame"]'),
    ("quality", "Data quality", '[data-testid="stVegaLiteChart"]'),
    ("model", "Model card", '[data-testid="stMetric"]'),
    ("tasks", "Tasks", '[data-testid="stForm"]'),
    ("profiles", "Task profiles", '[data-testid="stVegaLiteChart"]'),
    ("datasets", "Datasets", '[data-testid="stDataFrame"]'),
    ("costs", "Cost assumptions", '[data-testid="stDataFrame"]'),
    ("rulebook", "Rulebook", '[data-testid="stDataFrame"]'),
    ("audit", "Audit log", '[data-testid="stDataFrame"]'),
    ("export", "Export", '[data-testid="stDownloadButton"]'),
]
# The demo task given a low-confidence recommendation by the catalog fixture.
SHAKEN_TASK, SHAKEN_CONFIDENCE = "Legal contract clause review", 0.01  # below any the demo gives


def require_chromium(path: Path = CHROMIUM, environ=os.environ) -> None:
    """Skip when Chromium is missing, or fail when $CI is set so CI cannot silently skip the browser tests."""
    if path.is_file() and os.access(path, os.X_OK):
        return
    reason = f"Chromium not found at {path}: install Debian's chromium package to run the browser tests."
    if environ.get("CI"):
        pytest.fail(f"{reason} CI is set, so this is a failure, not a skip.", pytrace=False)
    pytest.skip(reason)


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


# --------------------------------------------------------------------------- helpers


def title(page: Page, text: str):
    return page.get_by_role("heading", name=text, exact=True, level=1)


def upload(page: Page, dropzone, files: list[dict]) -> None:
    """Give a file uploader its files and wait until it lists each one and the run it causes is over.

    Under load, Streamlit's status widget can still be hidden when the previous upload's rerun is about to
    begin, and files handed to an uploader during that rerun are sometimes dropped by the browser side (seen
    about once in four loaded runs). A person would see the file missing from the list and drop it again,
    so that is what this does, at most three times; the test fails if the file is never listed."""
    listed = [page.locator('[data-testid="stFileUploader"]').get_by_text(file["name"]) for file in files]
    _until_shown(page, lambda: dropzone.set_input_files(files=files), listed)
    settle(page)


def pick_radio(page: Page, group: str, option: str, shows) -> None:
    """Pick ``option`` in the radio group named ``group`` and wait until ``shows`` (a locator for what the
    choice brings up) is visible.

    A click that lands while a rerun is repainting the page can be lost, and several radio groups may share a
    label in different modes of a page, so the test waits for what the choice shows rather than for the
    radio alone; if it never shows, the option is clicked again, as a person would, at most three times."""
    def click() -> None:
        page.get_by_role("radiogroup", name=group).get_by_text(option, exact=True).click()
        settle(page)

    _until_shown(page, click, [shows])


def press(page: Page, name: str, shows, timeout: float = 120_000) -> None:
    """Click the button ``name`` and wait up to ``timeout`` ms until ``shows`` (what the run it starts brings
    up) is visible.

    A click that lands while an earlier rerun (an upload's) is repainting the page can be lost, and the status
    widget of that earlier run then looks like the button's own run (seen in loaded runs: the files listed,
    the button pressed, a run that ended with no report). So the page is settled before each click, and once
    the run it started is over without ``shows``, the button is pressed again, as a person who sees nothing
    come would, at most three times. A run still going after ``timeout`` fails at once."""
    status = page.locator('[data-testid="stStatusWidget"]')
    for attempt in range(3):
        settle(page)
        page.get_by_role("button", name=name).click()
        try:
            expect(status.or_(shows).filter(visible=True).first).to_be_visible(timeout=10_000)
            status.wait_for(state="hidden", timeout=timeout)
            expect(shows).to_be_visible(timeout=10_000)
            return
        except AssertionError:
            if attempt == 2:
                raise


def _until_shown(page: Page, act, shown: list, attempts: int = 3) -> None:
    """Do ``act`` until every locator in ``shown`` is visible, as a person repeats a step that did not take;
    after ``attempts`` tries the last failure stands."""
    for attempt in range(attempts):
        act()
        try:
            for locator in shown:
                expect(locator).to_be_visible(timeout=10_000)
            return
        except AssertionError:
            if attempt == attempts - 1:
                raise
            settle(page)


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


def grid_cells(page: Page, column: int):
    """The accessible grid's cells of one column (1-based) of the page's first table, rows in view only."""
    table = page.locator('[data-testid="stDataFrame"]').first
    return table.locator(f'[role="gridcell"][aria-colindex="{column}"]')


def metric(page: Page, label: str):
    return page.locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]').get_by_text(label, exact=True))


def choose(page: Page, label: str, option: str) -> None:
    """Pick an option of the selectbox labelled ``label``."""
    page.get_by_role("combobox", name=label).click()
    # A long list draws only the options in view: typing narrows it to the one wanted.
    page.keyboard.type(option)
    page.get_by_role("option", name=option, exact=True).click()


