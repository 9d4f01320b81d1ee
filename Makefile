# Two commands do all the set-up: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: demo test lint venv clean

$(BIN)/feedback: pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c requirements.lock -e ".[dev]"
	touch $@

venv: $(BIN)/feedback

demo: venv
	$(BIN)/feedback demo

lint: venv
	$(BIN)/ruff check feedback orchestration tests
	$(BIN)/ruff format --check feedback orchestration tests
	$(BIN)/sqlfluff lint models macros analyses tests

test: venv lint
	$(BIN)/dbt build --quiet --target unit_test
	$(BIN)/pytest

clean:
	rm -rf $(VENV) target logs dbt_packages data
