"""The import direction of the package: core → store → services → present → interface, never upwards, and no
Streamlit below the pages. Every module must be placed in a layer, so a new one cannot slip in unplaced."""

from __future__ import annotations

import ast
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
PACKAGE = PROJECT / "strategy"

# Module (or package prefix) → layer; the README's "Architecture" section says what each layer holds.
LAYERS = {
    "core": ["strategy.errors", "strategy.models", "strategy.access", "strategy.rules", "strategy.budget",
             "strategy.learning", "strategy.surface", "strategy.decision", "strategy.engine", "strategy.calibration", "strategy.threads", "strategy.ingest",
             "strategy.locations", "strategy.trackers", "strategy.quality.columns", "strategy.quality.neighbours", "strategy.quality.tabular", "strategy.quality.privacy", "strategy.quality.text",
             "strategy.quality.metrics", "strategy.quality.samples", "strategy.quality.report", "strategy.quality.subsample",
             "strategy.quality.ranking"],
    # Large sample files are read through DuckDB (strategy.quality.streamed), so that reader sits with the stores.
    "store": ["strategy.catalog", "strategy.store", "strategy.lake", "strategy.backup", "strategy.quality.streamed"],
    "services": ["strategy.recommend", "strategy.backtest", "strategy.outcomes", "strategy.assessments", "strategy.datasets",
                 "strategy.imports", "strategy.scenarios", "strategy.tasks", "strategy.costs", "strategy.rule_weights", "strategy.outcome_checks",
                 "strategy.demo"],
    "present": ["strategy.views", "strategy.summary", "strategy.charts", "strategy.plots", "strategy.explain", "strategy.export",
                "strategy.quality.present"],
    "interface": ["strategy.cli", "strategy.cli_import", "strategy.cli_assess", "strategy", "strategy.quality"],
}
ORDER = list(LAYERS)
# What each layer may not import at all: the core is pure (no database, no UI); nothing in the package knows
# Streamlit or the pages' plumbing.
FORBIDDEN = {"core": {"duckdb", "streamlit", "dashboard", "altair"},
             "store": {"streamlit", "dashboard", "altair"},
             "services": {"streamlit", "dashboard", "altair"},
             "present": {"streamlit", "dashboard"},
             "interface": {"streamlit", "dashboard"}}


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str | None:
    """The layer of a module: its own entry, else the longest package prefix listed."""
    best, length = None, -1
    for layer, names in LAYERS.items():
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > length:
                if module != name and name == "strategy":
                    continue  # the package's __init__ is the interface; its modules are placed one by one
                best, length = layer, len(name)
    return best


def imports(path: Path) -> set[str]:
    """Absolute module names a file imports; `from strategy import x` counts as strategy.x when x is a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                if (PROJECT / Path(*candidate.split("."))).with_suffix(".py").is_file() or \
                        (PROJECT / Path(*candidate.split("."))).is_dir():
                    found.add(candidate)
        elif isinstance(node, ast.ImportFrom) and node.level:
            base = module_name(path).split(".")
            base = base[:len(base) - node.level + (1 if path.name == "__init__.py" else 0)]
            found.add(".".join(base + ([node.module] if node.module else [])))
    return found


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_has_a_layer():
    unplaced = [name for name in modules() if layer_of(name) is None]
    assert unplaced == [], f"place these modules in LAYERS (tests/test_layers.py) and the README: {unplaced}"


def violations(files: dict[str, Path]) -> list[str]:
    """Each import of a layer above the importer's own, and each import its layer forbids."""
    found = []
    for name, path in files.items():
        own = layer_of(name)
        for imported in sorted(imports(path)):
            if imported.split(".")[0] in FORBIDDEN[own]:
                found.append(f"{name} ({own}) imports {imported}, which its layer may not")
            above = layer_of(imported) if imported.startswith("strategy.") else None
            if above is not None and ORDER.index(above) > ORDER.index(own):
                found.append(f"{name} ({own}) imports {imported} ({above})")
    return found


def test_no_module_imports_a_layer_above_its_own_or_what_its_layer_forbids():
    assert violations(modules()) == []


def test_pages_lay_out_and_call_the_package_never_the_database():
    """Pages read and write through dashboard.py and strategy/, never through DuckDB or the store directly."""
    direct = [f"{path.name} imports {imported}" for path in sorted((PROJECT / "app_pages").glob("*.py"))
              for imported in imports(path)
              if imported.split(".")[0] == "duckdb" or imported in {"strategy.catalog", "strategy.lake"}]
    assert direct == []


def test_the_checker_reports_an_upward_and_a_forbidden_import(tmp_path):
    """The checks above can fail: a core module importing the catalog, or Streamlit, is reported."""
    probe = tmp_path / "budget.py"
    probe.write_text((PACKAGE / "budget.py").read_text(encoding="utf-8")
                     + "\nimport streamlit\nfrom strategy.catalog import Catalog\n", encoding="utf-8")
    assert violations({"strategy.budget": probe}) == [
        "strategy.budget (core) imports strategy.catalog (store)",
        "strategy.budget (core) imports streamlit, which its layer may not"]
    assert layer_of("strategy.export.pdf") == "present" and layer_of("strategy.cli") == "interface"
