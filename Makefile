# `make run` and `make test` create the environment themselves (Python >= 3.11 is all they need).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test test-postgres test-sqlite lint format schema bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Migrate, load demo data into a new database, serve GraphiQL on http://$(HOST):$(PORT)/graphql
run: $(STAMP)
	$(BIN)/gotong-gql migrate
	$(BIN)/gotong-gql seed-demo --if-empty
	$(BIN)/gotong-gql serve --host $(HOST) --port $(PORT)

## Lint, then the whole suite on PostgreSQL and again on SQLite
test: $(STAMP) lint test-postgres test-sqlite

test-postgres: $(STAMP)
	GOTONG_TEST_DB=postgres $(BIN)/pytest

test-sqlite: $(STAMP)
	GOTONG_TEST_DB=sqlite $(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Regenerate the committed schema.graphql
schema: $(STAMP)
	$(BIN)/gotong-gql export-schema > schema.graphql

## Benchmarks (never part of `make test`); see bench/README.md
bench: $(STAMP)
	$(BIN)/python bench/tasks_query.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
