# The two commands of README.md: `make demo` and `make test`. Both work on a fresh machine.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SCALE ?= medium

.PHONY: demo test install install-test system-deps

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e .

install-test: $(BIN)/python
	$(BIN)/pip install -q -e ".[test]"

# Chromium for the browser tests and PostgreSQL server binaries for the PostgreSQL runs.
system-deps:
	@bash .ci/system-deps

demo: install
	$(BIN)/huiju demo --scale $(SCALE)

test: install-test system-deps
	$(BIN)/pytest -q -p no:cacheprovider
