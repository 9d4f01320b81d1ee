# Two commands do all the set-up: `make demo` and `make test`.
# The newest Python 3.11 to 3.13 on the PATH that runs, unless given: make test PYTHON=python3.12
SUPPORTED_PYTHON := import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))
ifeq ($(origin PYTHON), undefined)
PYTHON := $(shell for p in python3.13 python3.12 python3.11 python3; do \
	$$p -c '$(SUPPORTED_PYTHON)' >/dev/null 2>&1 && { echo $$p; break; }; done)
endif
VENV ?= .venv
BIN := $(VENV)/bin
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DAGSTER_DISABLE_TELEMETRY := 1

.PHONY: demo test quick-test lint venv ui clean bench bench-quick bench-send bench-compaction

# Run a command against a throwaway warehouse, so checks leave ./data alone.
with_scratch_warehouse = tmp=$$(mktemp -d) && FEEDBACK_DATA_DIR=$$tmp $(1); status=$$?; rm -rf "$$tmp"; exit $$status

$(BIN)/feedback: pyproject.toml requirements.lock
	@test -n "$(PYTHON)" && $(PYTHON) -c '$(SUPPORTED_PYTHON)' 2>/dev/null || { \
		echo "This project needs Python 3.11, 3.12 or 3.13$(if $(PYTHON),: $(PYTHON) is not one or" \
			"does not run,: none was found on the PATH). Install one, or name it:" \
			"make $(or $(MAKECMDGOALS),venv) PYTHON=/path/to/python3.12" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c requirements.lock -e ".[dev]"
	touch $@

venv: $(BIN)/feedback

demo: venv
	$(BIN)/feedback demo

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(call with_scratch_warehouse,$(BIN)/sqlfluff lint models macros analyses tests)

# dbt's unit and data tests on an empty warehouse of their own, then the end-to-end tests, a
# module per core at a time.
test: venv lint
	$(call with_scratch_warehouse,$(BIN)/dbt build --quiet)
	$(BIN)/pytest --numprocesses auto --dist loadfile --no-loadscope-reorder

# A quick end to end check (runs, the quarter's publication, the Dagster jobs in process), e.g. on
# another Python: make quick-test PYTHON=python3.13 VENV=.venv-3.13
quick-test: venv
	$(BIN)/pytest -q tests/python/test_orchestration.py

# What a run costs as history grows: the first run over two years and a daily run on top of it
# at 10 thousand and 1 million customers, their floor in DuckDB, a 92-day range; with the goals.
bench: venv
	$(BIN)/python benchmarks/bench.py

# The same at a small size (a few minutes), to see that the benchmark works.
bench-quick: venv
	$(BIN)/python benchmarks/bench.py --customers 1000 5000

# The sender's throughput on 10,000 invitations (outbox and loopback SMTP) and a kill mid-batch.
bench-send: venv
	$(BIN)/python benchmarks/bench_send.py

# What rewriting the warehouse after masking costs at 1 million customers (two years of history).
bench-compaction: venv
	$(BIN)/python benchmarks/bench_compaction.py

# The Dagster UI on http://127.0.0.1:3000 over the data folder's Dagster instance: the runs of
# `feedback run`, the schedules and their ticks.
ui: venv
	$(BIN)/feedback ui

clean:
	rm -rf $(VENV) target logs dbt_packages data
