# Shengliang task runner. `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DATE ?=
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help demo test lint sandbox airflow-init docs marts clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'
	@echo "  (make demo DATE=2026-11-01 runs a past date)"

# `pip install -e .` builds the optional C accelerator transforms/_fastseg.c where a C compiler works; without
# one it prints a warning and the transforms run transforms/_pyfastseg.py (same results, slower).
$(STAMP): requirements.txt pyproject.toml setup.py transforms/_fastseg.c
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

demo: $(STAMP) ## run weibo_daily and wechat_daily for yesterday (Beijing) against the sandbox into DuckDB, print a summary
	$(BIN)/shengliang demo $(if $(DATE),--date $(DATE))

test: $(STAMP) ## run the tests
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP) ## ruff, the format check and mypy (the modules listed in pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

sandbox: $(STAMP) ## run the local Weibo and WeChat API sandbox in the foreground
	$(BIN)/shengliang sandbox

airflow-init: $(STAMP) ## create the local Airflow metadata DB and pools (for `airflow standalone`)
	$(BIN)/shengliang airflow-init

marts: $(STAMP) ## rebuild the metric marts of WAREHOUSE_URL (default: the demo's DuckDB file) and run their data tests
	$(BIN)/shengliang marts build
	$(BIN)/shengliang marts test

docs: $(STAMP) ## regenerate docs/warehouse.md from the schema and the mart headers
	$(BIN)/shengliang docs

clean: ## remove the local warehouse, lake and Airflow DB (keeps .venv)
	rm -rf data
