# Two commands do all the set-up: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DAGSTER_DISABLE_TELEMETRY := 1

.PHONY: demo test lint venv ui clean bench bench-quick bench-send bench-compaction

# Run a command against a throwaway warehouse, so checks leave ./data alone.
with_scratch_warehouse = tmp=$$(mktemp -d) && FEEDBACK_DATA_DIR=$$tmp $(1); status=$$?; rm -rf "$$tmp"; exit $$status

$(BIN)/feedback: pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c requirements.lock -e ".[dev]"
	touch $@

venv: $(BIN)/feedback

demo: venv
	$(BIN)/feedback demo

lint: venv
	$(BIN)/ruff check feedback orchestration tests benchmarks
	$(BIN)/ruff format --check feedback orchestration tests benchmarks
	$(call with_scratch_warehouse,$(BIN)/sqlfluff lint models macros analyses tests)

# dbt's unit and data tests on an empty warehouse of their own, then the end-to-end tests.
test: venv lint
	$(call with_scratch_warehouse,$(BIN)/dbt build --quiet)
	$(BIN)/pytest

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
