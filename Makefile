# mmpos: two commands do everything on a fresh Debian machine.
#   make run        set up and serve the demo data at http://127.0.0.1:8050
#   make test       set up (venv, Chromium for browser tests, redis-server for the cache tests, nginx for the
#                   proxy test), lint, and run every test
#   make test-fast  the inner loop: unit and dashboard tests and doctests, not slow/serving/browser, on 2 processes
#   make lint       ruff, mypy (its file list: [tool.mypy] in pyproject.toml) and lint-imports (the layers:
#                   [tool.importlinter] in pyproject.toml, ARCHITECTURE.md)
# With a venv set up already elsewhere: make test-fast VENV=/path/to/venv SETUP= (PY follows VENV; an empty
# SETUP skips the install step, which would otherwise install this checkout into that venv).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SETUP ?= $(STAMP)
RUN_STAMP := $(VENV)/.installed-run
RUN_SETUP ?= $(RUN_STAMP)
HOST ?= 127.0.0.1
PORT ?= 8050
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-fast lint bench demo-data browser-deps cache-deps proxy-deps clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP) $(RUN_STAMP)

# make run installs what running needs and nothing more (no test or dev extras)
$(RUN_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(RUN_STAMP)

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

proxy-deps:
	@if ! command -v nginx >/dev/null && ! test -x /usr/sbin/nginx; then \
		echo "installing Debian nginx for the reverse-proxy test (docs/nginx)"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends nginx; \
	fi

PYTEST_WORKERS ?= 2
FAST_PATHS := tests/unit tests/dashboard analytics dashboard
# those paths use neither dash_duo nor anyio: without the two entry-point plugins each process starts ~0.5 s
# sooner (dash's testing plugin imports selenium, bs4 and trio at start-up); tests/browser keeps them
FAST_PLUGINS := -p no:dash -p no:anyio

# The test runs keep compiled bytecode (__pycache__/, git-ignored) even where PYTHONDONTWRITEBYTECODE is
# set: each process otherwise compiles every module again and rewrites every test module's asserts while
# collecting (~2.7 s of a core per process, each run), and so does every process a test starts.
KEEP_BYTECODE := PYTHONDONTWRITEBYTECODE=

test: $(SETUP) browser-deps cache-deps proxy-deps lint
	$(KEEP_BYTECODE) $(PY) -m pytest -q -n $(PYTEST_WORKERS) $(FAST_PLUGINS) $(FAST_PATHS)
	$(KEEP_BYTECODE) $(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile tests/serving tests/browser

# --dist loadfile: a test module's tests run in one process, so its module-scoped fixtures and the files it
# loads are built once, not once per process.
test-fast: $(SETUP)
	$(KEEP_BYTECODE) $(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile -m "not slow and not browser" \
		$(FAST_PLUGINS) $(FAST_PATHS)

lint: $(SETUP)
	$(VENV)/bin/ruff check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

run: $(RUN_SETUP)
	$(VENV)/bin/mmpos serve --data-dir data --host $(HOST) --port $(PORT)

demo-data: $(SETUP)
	$(VENV)/bin/mmpos demo-data --out data

bench: $(SETUP) browser-deps
	$(PY) benchmarks/bench_engine.py
	$(PY) benchmarks/bench_headline.py
	$(PY) benchmarks/bench_dashboard.py
	$(PY) benchmarks/bench_cache.py --runs 3
	$(PY) benchmarks/load.py --short

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .import_linter_cache
