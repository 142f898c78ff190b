# Every target builds what it needs itself: a fresh clone needs only python3 (3.11+), and node/npm for dynalite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
NODE_PREFIX := .node
DYNALITE := $(NODE_PREFIX)/node_modules/.bin/dynalite
TOOLS := .tools
IMAGE ?= naver-sms:test
NOW ?= 2026-11-26 18:40

.PHONY: run test lint typecheck check bench clean venv tools image image-test _image-test-inside

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,cli,console]'
	touch $@

## checkov and hadolint (tests/deploy/test_template.py), in a venv of their own.
tools: $(TOOLS)/.installed

$(TOOLS)/.installed: deploy/lint-tools.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet -r deploy/lint-tools.txt
	touch $@

$(DYNALITE):
	npm install --silent --no-audit --no-fund --prefix $(NODE_PREFIX) dynalite@3

## The main job on the embedded default: sandbox bookings, SQLite, outbox instead of sending.
run: venv
	$(VENV)/bin/naver-sms run --bookings examples/bookings --db var/sandbox.sqlite3 --now "$(NOW)"

## The whole test suite (unit + integration against local stand-ins).
test: venv tools $(DYNALITE)
	DYNALITE_BIN=$(abspath $(DYNALITE)) NAVER_SMS_TOOLS=$(abspath $(TOOLS))/bin $(PY) -m pytest

## The Lambda image (deploy/Dockerfile), built by a Docker daemon of its own (deploy/with-dockerd.sh) from
## a Debian base made with mmdebstrap (no registry needed); needs Debian's docker.io and mmdebstrap.
image:
	deploy/with-dockerd.sh sh -c 'deploy/build-base.sh && deploy/build-image.sh $(IMAGE)'

## Build the image and run the handler in it through awslambdaric against the stand-ins (tests/deploy/).
image-test: venv $(DYNALITE)
	deploy/with-dockerd.sh $(MAKE) --no-print-directory _image-test-inside

_image-test-inside:
	deploy/build-base.sh
	deploy/build-image.sh $(IMAGE)
	bench/image_size.sh $(IMAGE)
	NAVER_SMS_IMAGE=$(IMAGE) DYNALITE_BIN=$(abspath $(DYNALITE)) $(PY) -m pytest -m image tests/deploy

lint: venv
	$(VENV)/bin/ruff check src tests bench examples
	$(VENV)/bin/ruff format --check src tests bench

typecheck: venv
	$(VENV)/bin/mypy

check: lint typecheck test

bench: venv
	$(PY) bench/engine.py

clean:
	rm -rf $(VENV) $(TOOLS) $(NODE_PREFIX) var .pytest_cache .mypy_cache .ruff_cache
