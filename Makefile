# Conform — the two commands a new user runs are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SIM_DATA ?= build/simulator
SCALE ?= demo
PYTEST_ARGS ?=
DEV_PORT ?= 3000

.PHONY: install demo test bench dev lint format clean

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Conform needs Python 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## demo: start the simulator, run the whole pipeline into DuckDB, write the report, stop
demo: install
	@mkdir -p build
	@$(BIN)/conform simulator stop >/dev/null 2>&1 || true
	$(BIN)/conform simulator serve --data $(SIM_DATA) --scale $(SCALE) > build/simulator.log 2>&1 &
	@$(BIN)/conform simulator wait --timeout 120 || (cat build/simulator.log; exit 1)
	@cat build/simulator.log
	@status=0; $(BIN)/conform run --connections $(SIM_DATA)/connections.json || status=$$?; \
	  $(BIN)/conform simulator stop; exit $$status

## test: the whole suite (unit, simulator, integration); starts the services it needs
test: install
	@.ci/install-chromium || echo "warning: chromium could not be installed: the browser test will fail"
	$(BIN)/pytest $(PYTEST_ARGS)

## bench: benchmarks at scale large (slow; not part of make test)
bench: install
	$(BIN)/pytest -m bench -s --run-bench tests/benchmarks $(PYTEST_ARGS)

## dev: the Dagster UI on http://127.0.0.1:3000
dev: install
	cd dbt_project && PATH="$(CURDIR)/$(BIN):$$PATH" ../$(BIN)/dbt parse --quiet --profiles-dir .
	@mkdir -p build/dagster_home && cp orchestration/dagster.yaml build/dagster_home/dagster.yaml
	DAGSTER_HOME="$(CURDIR)/build/dagster_home" PATH="$(CURDIR)/$(BIN):$$PATH" \
	  $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(DEV_PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint dbt_project/models/marts dbt_project/models/sync

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf build warehouse .pytest_cache
