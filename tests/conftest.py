"""Shared fixtures: real DuckDB catalog files in temporary folders, and real DuckLake catalogs on a
PostgreSQL server started for the session."""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from strategy.catalog import Catalog
from strategy.demo import SEED_DIR, initialise
from strategy.recommend import refit_portfolio
from tests.postgres import PostgresServer, binaries

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def streamlit_components_scanned_once():
    """Every AppTest run starts by scanning each installed distribution's metadata for Streamlit components
    (about 140 packages, 0.17 s a run; about 150 runs in the suite). The installed packages cannot
    change while the suite runs, so the session's first scan serves every later AppTest; a `streamlit run`
    server scans once at start anyway. If Streamlit moves the scanner, the suite still runs (slower) and
    tests/pages/test_pages.py names the move."""
    try:
        from streamlit.components.v2 import manifest_scanner
    except ImportError:
        yield None
        return
    fresh = manifest_scanner.scan_component_manifests
    manifest_scanner.scan_component_manifests = functools.cache(fresh)
    yield fresh
    manifest_scanner.scan_component_manifests = fresh


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


# ------------------------------------------------------------------------------------------- both backends
BACKENDS = ["embedded", "lake"]


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the session (skipped where the binaries are missing, but never in CI)."""
    bin_dir = binaries()
    missing = None
    if bin_dir is None:
        missing = "PostgreSQL binaries (initdb, pg_ctl, createdb) are not installed"
    elif importlib.util.find_spec("duckdb_extension_ducklake") is None:
        missing = "the lake extra (duckdb-extension-ducklake, duckdb-extension-postgres) is not installed"
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{missing}; .ci/run should have installed it")
        pytest.skip(f"DuckLake backend tests need a PostgreSQL server: {missing}")
    server = PostgresServer(bin_dir).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def lake_data(tmp_path_factory) -> Path:
    """One folder for the Parquet files of every test lake (each lake's files have unique names)."""
    return tmp_path_factory.mktemp("lake-data")


@pytest.fixture
def new_lake(postgres, lake_data):
    """Make a fresh, empty DuckLake address: its own PostgreSQL database; opened with its data path it
    becomes a catalog."""
    def make() -> str:
        return postgres.location(postgres.create_database())
    return make


@pytest.fixture(scope="session")
def demo_lake_template(postgres, lake_data, demo_template) -> str:
    """A PostgreSQL database holding the demo as a lake (copied from the embedded demo), used as the
    template of each test's demo lake: CREATE DATABASE … TEMPLATE copies it in milliseconds."""
    name = postgres.create_database("demo_template")
    with Catalog.open(demo_template) as source, Catalog.open(postgres.location(name), data_path=lake_data) as target:
        source.copy_into(target, actor="demo")
    return name


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def empty_location(backend, request, tmp_path, lake_data) -> str:
    """A migrated catalog with no rows, closed, on each backend in turn: a file path or a lake address."""
    location = str(tmp_path / "empty.duckdb") if backend == "embedded" else request.getfixturevalue("new_lake")()
    Catalog.open(location, data_path=lake_data).close()
    return location


@pytest.fixture
def demo_location(backend, request, tmp_path) -> str:
    """The demo catalog with recommendations stored, closed, on each backend in turn."""
    if backend == "embedded":
        path = tmp_path / "catalog.duckdb"
        shutil.copy(request.getfixturevalue("demo_template"), path)
        return str(path)
    server = request.getfixturevalue("postgres")
    return server.location(server.create_database(template=request.getfixturevalue("demo_lake_template")))


# No example database: every run (here and in CI) tries exactly the same examples.
hypothesis_settings.register_profile("deterministic", database=None, derandomize=True)
hypothesis_settings.load_profile("deterministic")
