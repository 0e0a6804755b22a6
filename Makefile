# pelcro-sync: `make help` lists the targets. Needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.8
RUN := $(VENV)/bin
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never
export PYTHONDONTWRITEBYTECODE := 1

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

$(UV):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "pelcro-sync needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --compile-bytecode: with PYTHONDONTWRITEBYTECODE set (here and on our machines) nothing
# would ever cache the dependencies' bytecode, and every process would compile what it
# imports from source: 4.3 s to import the Dagster definitions instead of 1.5 s.
$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	@touch $@

$(VENV)/.bench-synced: $(VENV)/.synced
	$(UV) sync --frozen --inexact --group bench --compile-bytecode --python $(PYTHON)
	@touch $@

install: $(VENV)/.synced ## create .venv with the locked dependencies

demo: install ## sandbox + embedded Postgres + a full sync, then the summary and example queries
	$(RUN)/pelcro-sync demo

test: install ## the whole test suite (starts its own sandbox; uses local Postgres or the embedded one)
	$(RUN)/pytest

lint: install ## ruff check, ruff format --check, mypy
	$(RUN)/ruff check .
	$(RUN)/ruff format --check .
	$(RUN)/mypy pelcro_sync

format: install ## ruff format and autofix
	$(RUN)/ruff format .
	$(RUN)/ruff check --fix .

bench: $(VENV)/.bench-synced ## benchmarks: headline `pelcro-sync sync` workload vs COPY and dlt, then read and single-entity rows
	$(RUN)/python -m bench

dev: install ## the Dagster UI against the configured Pelcro and warehouse
	$(RUN)/pelcro-sync dev

prod-local: install ## production shape here: deploy/dagster.yaml, Postgres storage (db dagster_prod), webserver + daemon
	deploy/prod_local.sh

marts: install ## build the analytics marts (dbt) in PELCRO_MARTS_SCHEMA from the warehouse
	$(RUN)/pelcro-sync marts

migrate: install ## bring the warehouse schema to the latest migration
	$(RUN)/pelcro-sync migrate

revision: install ## autogenerate a migration after changing the entity registry: make revision m="message"
	$(RUN)/alembic revision --autogenerate -m "$(m)"

sandbox: install ## serve the local Pelcro API emulator on 127.0.0.1:8765
	$(RUN)/pelcro-sync sandbox

clean: ## remove the environment and local data
	rm -rf $(VENV) $(TOOLS) .data .dagster_home .dagster_prod

.PHONY: help install demo test lint format bench dev marts migrate revision sandbox clean prod-local
