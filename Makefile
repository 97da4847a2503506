# mmpos: two commands do everything on a fresh Debian machine.
#   make run   set up and serve the demo data at http://127.0.0.1:8050
#   make test  set up (venv, Chromium for browser tests, redis-server for the cache tests) and run every test
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8050
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-fast lint bench demo-data browser-deps cache-deps clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

browser-deps:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		echo "installing Debian chromium + chromium-driver for the browser tests"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium chromium-driver; \
	fi

cache-deps:
	@if ! command -v redis-server >/dev/null; then \
		echo "installing Debian redis-server for the shared-cache tests"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends redis-server; \
	fi

test: $(STAMP) browser-deps cache-deps
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not browser"

lint: $(STAMP)
	$(VENV)/bin/ruff check .

run: $(STAMP)
	$(VENV)/bin/mmpos serve --data-dir data --host $(HOST) --port $(PORT)

demo-data: $(STAMP)
	$(VENV)/bin/mmpos demo-data --out data

bench: $(STAMP) browser-deps
	$(PY) benchmarks/bench_engine.py
	$(PY) benchmarks/bench_dashboard.py
	$(PY) benchmarks/bench_cache.py --runs 3
	$(PY) benchmarks/load.py --short

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
