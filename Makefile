# Commands for a newcomer: `make run`, `make test`, and `make demo` (or `make demo-year`) to try
# the bot without a token. Each creates .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: run demo demo-year test lint format bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[test]"
	touch $@

run: $(VENV)/.installed
	$(PY) -m bot run

# The real bot in the terminal against an in-process stand-in for Telegram: no token needed.
demo: $(VENV)/.installed
	$(PY) -m bot demo

# The same, played by itself: one project's year, from the November report to 示范项目.
demo-year: $(VENV)/.installed
	$(PY) -m bot demo --year

test: $(VENV)/.installed-test
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest -q

lint: $(VENV)/.installed-test
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

format: $(VENV)/.installed-test
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# Benchmarks print one JSON line each; the fan-out one takes about three minutes (30 msg/s).
bench: $(VENV)/.installed-test
	$(PY) -m benchmarks.updates
	$(PY) -m benchmarks.digest
	$(PY) -m benchmarks.charts
	$(PY) -m benchmarks.fanout
	$(PY) -m benchmarks.import_units
	$(PY) -m benchmarks.votes
	$(PY) -m benchmarks.flood
	$(PY) -m benchmarks.scopes

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
