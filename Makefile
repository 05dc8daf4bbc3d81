# Two commands: `make run` serves the app, `make test` runs the whole suite. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CATALOG ?= $(or $(STRATEGY_CATALOG),data/catalog.duckdb)
PORT ?= 8501

.PHONY: run test lint bench

# Reinstall whenever pyproject.toml changes; the project is installed editable with its test, lake and trackers extras.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,lake,trackers]'
	touch $(STAMP)

# SDMetrics, for the agreement test and the humanness benchmark's comparison, pins pandas < 3, so it gets its own
# environment; its pinned version is the `peers` extra in pyproject.toml (never installed into .venv).
PEERS := .venv-peers
PEERS_STAMP := $(PEERS)/.installed
$(PEERS_STAMP): pyproject.toml $(STAMP)
	test -x $(PEERS)/bin/python || $(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install --quiet --upgrade pip
	$(PEERS)/bin/python -m pip install --quiet $$($(BIN)/python -c "import tomllib; print(' '.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['peers']))")
	touch $(PEERS_STAMP)

# Creates and seeds the catalog only when the file is missing; an existing catalog keeps its data
# (its schema is brought up to date).
run: $(STAMP)
	@if [ -f "$(CATALOG)" ]; then $(BIN)/strategy --catalog "$(CATALOG)" init --empty; \
	 else $(BIN)/strategy --catalog "$(CATALOG)" init --demo && $(BIN)/strategy --catalog "$(CATALOG)" backtest; fi
	STRATEGY_CATALOG="$(CATALOG)" $(BIN)/streamlit run app.py --server.address localhost --server.port $(PORT)

# One OpenMP thread per process: on a busy 2-core machine scikit-learn's spinning threads made one
# detection fit 20x slower; results are identical (the benchmarks keep the default threads).
# Test files run in parallel, one worker per core; --dist loadfile keeps each file's tests in one worker and in
# order, which the browser modules need (each starts its own server, and its first test is the first visit).
TEST_WORKERS ?= auto
test: $(STAMP) $(PEERS_STAMP)
	$(BIN)/ruff check .
	OMP_NUM_THREADS=1 $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/bench_catalog.py
