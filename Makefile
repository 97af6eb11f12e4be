# The two commands: `make demo` runs the system, `make test` passes the suite.
# Both install what is missing first (Debian packages as root, a .venv).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench system-deps clean

demo: $(STAMP)
	tools/install-system-deps.sh mosquitto libzbar0
	$(BIN)/dorm demo $(DEMO_ARGS)

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

# Every benchmark module in bench/ (each runs several times and prints medians);
# `make bench BENCH_ARGS=--quick` for a smoke run.
BENCH_ARGS ?=
BENCHES = $(filter-out common __init__,$(basename $(notdir $(wildcard bench/*.py))))

bench: system-deps $(STAMP)
	@for name in $(BENCHES); do \
	  echo "== bench.$$name"; \
	  $(BIN)/python -m bench.$$name $(BENCH_ARGS) || exit 1; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis bench/results var
