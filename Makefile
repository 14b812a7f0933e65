# deidscope: `make lab` to explore the sample data in JupyterLab, `make test` to run the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: lab test lint bench clean

lab: $(VENV)/.notebook-installed
	$(BIN)/jupyter lab --notebook-dir=notebooks

test: $(VENV)/.test-installed
	@bash scripts/install-chromium.sh || echo "make test: no Chromium (needs root or sudo): the browser tests will be skipped"
	$(BIN)/python -m pytest $(PYTEST_ARGS)

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

bench: $(VENV)/.test-installed
	$(BIN)/python benchmarks/make_corpus.py --files 10000 --seed 0 --out benchmarks/corpus/10k
	$(BIN)/python benchmarks/bench_core.py --corpus benchmarks/corpus/10k --sizes 1000,10000

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
