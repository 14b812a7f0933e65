# deidscope: `make lab` to explore the sample data in JupyterLab, `make test` to run the suite,
# `make test-fast` for everything but the slow, browser, notebook and parity tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# pytest-xdist workers (pyproject.toml sets --dist=loadgroup)
JOBS ?= 2
FAST_MARKERS := not slow and not browser and not notebook and not parity

.PHONY: lab test test-fast lint bench clean

# JupyterLab refuses to start as root unless told: containers and CI run as root
ALLOW_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
PORT ?= 8888
JUPYTER_ARGS ?=

lab: $(VENV)/.notebook-installed
	$(BIN)/jupyter lab --notebook-dir=notebooks --port=$(PORT) $(ALLOW_ROOT) $(JUPYTER_ARGS)

test: $(VENV)/.test-installed
	@bash scripts/install-chromium.sh || echo "make test: no Chromium (needs root or sudo): the browser tests will be skipped"
	@bash scripts/install-dicom3tools.sh || echo "make test: no dciodvfy (needs root or sudo): the dciodvfy tests will be skipped"
	$(BIN)/python -m pytest -n $(JOBS) $(PYTEST_ARGS)

test-fast: $(VENV)/.test-installed
	$(BIN)/python -m pytest -n $(JOBS) -m "$(FAST_MARKERS)" $(PYTEST_ARGS)

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.notebook-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[notebook]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

CORPUS := benchmarks/corpus/10k

# every benchmark of the README's "Speed and memory", on the seeded 10k corpus (~20 min)
bench: $(VENV)/.test-installed
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	test -f $(CORPUS)/manifest.csv || $(BIN)/python benchmarks/make_corpus.py --files 10000 --seed 0 --out $(CORPUS)
	$(BIN)/python benchmarks/bench_core.py --corpus $(CORPUS) --sizes 1000,10000
	$(BIN)/python benchmarks/bench_audit.py --corpus $(CORPUS)
	$(BIN)/python benchmarks/bench_recipe.py --corpus $(CORPUS)
	$(BIN)/python benchmarks/bench_pixels.py
	$(BIN)/python benchmarks/bench_widgets.py
	$(BIN)/python benchmarks/bench_scale.py --corpus $(CORPUS)
	$(BIN)/python benchmarks/bench_cli.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
