"""Fixtures of the Chromium tests. Module-scoped: every test module gets its own demo catalog and its own
`streamlit run` server, so the walks that write (log an outcome, save a report) never change what another
module's tests read."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from strategy.catalog import Catalog
from strategy.models import utc_now
from tests.browser.chromium import (
    APP,
    CHROMIUM,
    CHROMIUM_ARGS,
    PROJECT,
    SHAKEN_CONFIDENCE,
    SHAKEN_TASK,
    WAIT_MS,
    free_port,
    require_chromium,
    stop,
    wait_until_healthy,
)


@pytest.fixture(scope="module")
def chromium() -> Path:
    require_chromium()
    return CHROMIUM


@pytest.fixture(scope="module")
def catalog_path(tmp_path_factory, demo_template) -> Path:
    """A fitted demo catalog of this module's own, closed, so the server process can take its lock: a copy of
    the session's demo template (seeded and refitted as `strategy init --demo` leaves it) with one task's
    recommendation shaken to the lowest confidence."""
    path = tmp_path_factory.mktemp("browser-catalog") / "catalog.duckdb"
    shutil.copy(demo_template, path)
    with Catalog.open(path) as catalog:
        task = catalog.task(SHAKEN_TASK)
        recommendation, fit = catalog.latest_recommendation(task.id)
        shaken = recommendation.model_copy(update={
            "id": recommendation.id + "-shaken", "confidence": SHAKEN_CONFIDENCE, "low_confidence": True,
            "created_at": max(utc_now(), recommendation.created_at + timedelta(seconds=1))})
        catalog.save_recommendations([shaken], [fit], actor="browser test")
    return path


@pytest.fixture(scope="module")
def demo_tasks(catalog_path):
    """Active demo tasks in the catalog's order, read before the server opens the file."""
    with Catalog.open(catalog_path) as catalog:
        return catalog.tasks()


@pytest.fixture(scope="module")
def lowest(catalog_path) -> dict:
    """The task whose stored recommendation has the lowest confidence, with the rules that recommendation
    fired, read before the server opens the file."""
    with Catalog.open(catalog_path) as catalog:
        stored = catalog.latest_recommendations().sort_values(["confidence", "task_name"], kind="stable")
        first = stored.iloc[0]
        recommendation, _ = catalog.latest_recommendation(first["task_id"])
        return {"id": first["task_id"], "name": first["task_name"], "confidence": first["confidence"],
                "budget": recommendation.budget, "rules": recommendation.rules,
                "catalog_first": catalog.tasks()["name"].iloc[0],
                "first_three": stored["task_name"].iloc[:3].tolist()}


@pytest.fixture(scope="module")
def app_url(chromium, catalog_path, demo_tasks, lowest, tmp_path_factory) -> Iterator[str]:
    """Base URL of `streamlit run app.py` serving the demo catalog; the server is stopped afterwards.
    (demo_tasks and lowest read the catalog first: once the server holds the file, no other process can.)"""
    port = free_port()
    log = tmp_path_factory.mktemp("streamlit-log") / "streamlit.log"
    env = {**os.environ, "STRATEGY_CATALOG": str(catalog_path)}
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        # No hot reload: an edit to the sources while the suite runs must not swap modules under the server.
        "--server.fileWatcherType", "none",
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


