# Everything runs in a local virtual environment created on first use.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: install test test-fast lint demo clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/activate pyproject.toml
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed

lint: install
	$(BIN)/ruff check autometa tests examples benchmarks

test: install lint
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

demo: install
	$(BIN)/python examples/quickstart.py

clean:
	rm -rf $(VENV) build dist *.egg-info
