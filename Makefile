# The two commands: `make demo` runs the system, `make test` passes the suite.
# Both install what is missing first (Debian packages as root, a .venv).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench system-deps clean

demo: $(STAMP)
	tools/install-system-deps.sh mosquitto libzbar0
	$(BIN)/dorm demo

test: system-deps $(STAMP) lint typecheck pytest

system-deps:
	tools/install-system-deps.sh

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

bench: system-deps $(STAMP)
	$(BIN)/python -m bench.contract_decode

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis bench/results var
