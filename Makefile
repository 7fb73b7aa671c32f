# Router Hub: every command a contributor needs. `make install` is idempotent.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint wheel bench wrk drills clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python requirements/base.txt requirements/dev.txt pyproject.toml libs/flask_core/pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python -m router hub

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# flask_core as a package of its own: wheel and sdist in dist/flask_core.
wheel: install
	$(BIN)/python -m build libs/flask_core --outdir dist/flask_core

# wrk (Debian package) drives the throughput figures: installed here when apt-get can, else named.
wrk:
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& apt-get install -y wrk >/dev/null; } || { apt-get update -qq >/dev/null 2>&1 \
		&& apt-get install -y wrk >/dev/null; } \
		|| { echo "make bench needs wrk: install it with 'apt-get install wrk'" >&2; exit 1; }

# ARGS picks sections, e.g. make bench ARGS="health events"
bench: install wrk
	$(BIN)/python -m tests.benchmarks $(ARGS)

# The outage drills under load, each printing its table row (tests/drills/). ARGS picks drills
# and options, e.g. make drills ARGS="redis postgres" or ARGS="--keep worker".
drills: install
	$(BIN)/python -m tests.drills $(ARGS)

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache dist
