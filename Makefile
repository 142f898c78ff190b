# Every target builds what it needs itself: a fresh clone needs only python3 (3.11+), and node/npm for dynalite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
NODE_PREFIX := .node
DYNALITE := $(NODE_PREFIX)/node_modules/.bin/dynalite
NOW ?= 2026-11-26 18:40

.PHONY: run test lint typecheck check bench clean venv

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(DYNALITE):
	npm install --silent --no-audit --no-fund --prefix $(NODE_PREFIX) dynalite@3

## The main job on the embedded default: sandbox bookings, SQLite, outbox instead of sending.
run: venv
	$(VENV)/bin/naver-sms run --bookings examples/bookings --db var/sandbox.sqlite3 --now "$(NOW)"

## The whole test suite (unit + integration against local stand-ins).
test: venv $(DYNALITE)
	DYNALITE_BIN=$(abspath $(DYNALITE)) $(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check src tests bench examples
	$(VENV)/bin/ruff format --check src tests bench

typecheck: venv
	$(VENV)/bin/mypy

check: lint typecheck test

bench: venv
	$(PY) bench/engine.py

clean:
	rm -rf $(VENV) $(NODE_PREFIX) var .pytest_cache .mypy_cache .ruff_cache
