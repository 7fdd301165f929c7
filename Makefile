# Every target creates .venv and installs what it needs by itself, from the lock
# (requirements/dev.txt, exact versions with hashes): a fresh clone installs what CI tested.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK   := requirements/dev.txt
PYTEST ?= $(BIN)/python -m pytest
# `make test` runs on both cores (pytest-xdist): many scenarios wait on subprocesses.
TEST_WORKERS ?= 2
# `make test` also runs the PostgreSQL tests when a server answers here (as CI does).
PG_HOST ?= 127.0.0.1
PG_PORT ?= 5432

.PHONY: demo test lint lock reliability bench clean

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@$(BIN)/python -m pip check >/dev/null || { $(BIN)/python -m pip check; \
	    echo "$(LOCK) does not match pyproject.toml: run 'make lock'"; exit 1; }
	touch $(STAMP)

# `make lock` adds and removes what pyproject.toml asks for and keeps every other pin;
# `make lock LOCK_FLAGS=--upgrade` moves everything to the newest versions in range.
LOCK_FLAGS ?=
lock:  ## refresh the lock after changing a dependency in pyproject.toml (needs the index)
	test -x .venv-lock/bin/python || $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet 'pip-tools>=7.4'
	.venv-lock/bin/pip-compile --quiet $(LOCK_FLAGS) --generate-hashes --allow-unsafe --strip-extras \
	    --no-emit-index-url --no-emit-find-links \
	    --extra test --extra bench --output-file $(LOCK) pyproject.toml

demo: $(STAMP)  ## build the demo archive (SQLite) and open the reader on it
	$(BIN)/rounds demo

test: $(STAMP)  ## the whole suite but the long soaks (PostgreSQL too when ROUNDS_TEST_PG_URL is set or one answers)
	@if [ -z "$$ROUNDS_TEST_PG_URL" ] && $(BIN)/python -c 'import socket, sys; \
	    socket.create_connection((sys.argv[1], int(sys.argv[2])), 2).close()' \
	    $(PG_HOST) $(PG_PORT) 2>/dev/null; then \
	    export ROUNDS_TEST_PG_URL=postgresql+psycopg://postgres@$(PG_HOST):$(PG_PORT)/test; \
	    echo "PostgreSQL answers on $(PG_HOST):$(PG_PORT): running its tests too"; \
	fi; \
	$(PYTEST) -q -m 'not long' -n $(TEST_WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

reliability: $(STAMP)  ## every reliability scenario, the long ones too, as a table
	$(BIN)/python -m pytest -q tests/reliability -p tests.reliability.report

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .venv-lock .pytest_cache .mypy_cache .ruff_cache
