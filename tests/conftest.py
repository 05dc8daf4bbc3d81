"""Shared fixtures: real DuckDB catalog files in temporary folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from strategy.catalog import Catalog
from strategy.demo import SEED_DIR, initialise
from strategy.recommend import refit_portfolio

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """A demo catalog built once per session, with every task's recommendation stored (as `strategy init
    --demo` leaves it); tests get copies of it."""
    path = tmp_path_factory.mktemp("template") / "demo.duckdb"
    catalog, _ = initialise(str(path), demo=True)
    with catalog:
        refit_portfolio(catalog, workers=1)
    return path


@pytest.fixture
def demo_path(demo_template, tmp_path) -> Path:
    """Path of a fresh, closed copy of the demo catalog that a test may change."""
    path = tmp_path / "catalog.duckdb"
    shutil.copy(demo_template, path)
    return path


@pytest.fixture
def demo_catalog(demo_path):
    """The demo catalog, open."""
    with Catalog.open(demo_path) as catalog:
        yield catalog


@pytest.fixture
def empty_path(tmp_path) -> Path:
    """Path of a migrated catalog with no rows, closed."""
    path = tmp_path / "empty.duckdb"
    Catalog.open(path).close()
    return path


@pytest.fixture
def empty_catalog(empty_path):
    with Catalog.open(empty_path) as catalog:
        yield catalog


@pytest.fixture
def seed_copy(tmp_path) -> Path:
    """A writable copy of data/seed/ for tests that corrupt a seed file."""
    target = tmp_path / "seed"
    shutil.copytree(SEED_DIR, target)
    return target


# No example database: every run (here and in CI) tries exactly the same examples.
hypothesis_settings.register_profile("deterministic", database=None, derandomize=True)
hypothesis_settings.load_profile("deterministic")
