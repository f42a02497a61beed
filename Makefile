# `make run` and `make test` create the environment themselves (Python >= 3.11 is all they need).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

POSTGRAPHILE := bench/postgraphile/node_modules/.installed

.PHONY: run test test-postgres test-sqlite lint format schema schema-baseline bench clean graphiql-assets browser clients

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
test: $(STAMP) clients browser lint test-postgres test-sqlite

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

## Refresh GraphiQL's vendored assets (committed under gotong_gql/static/graphiql/) from npm
graphiql-assets: $(STAMP)
	$(BIN)/python -m scripts.graphiql_assets

## The npm clients and tools the tests run: exact versions in tests/clients/package.json, locked
clients: tests/clients/node_modules/.package-lock.json

tests/clients/node_modules/.package-lock.json: tests/clients/package.json tests/clients/package-lock.json
	npm ci --prefix tests/clients --no-audit --no-fund

## Headless Chromium for the browser test (Debian's package; CI runs as root)
browser:
	@command -v chromium >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) || \
	  echo "could not install chromium: the browser test will fail"

## Regenerate the committed schema.graphql
schema: $(STAMP)
	$(BIN)/gotong-gql export-schema > schema.graphql

## Accept the schema's breaking changes as released: the breaking-change check compares with this
schema-baseline: schema
	cp schema.graphql tests/clients/schema-baseline.graphql

## Benchmarks (never part of `make test`): the read comparison with PostGraphile and the floor
bench: $(STAMP) $(POSTGRAPHILE)
	@command -v wrk >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) || \
	  (echo "could not install wrk (Debian's package, as root)"; exit 1)
	$(BIN)/python bench/read_compare.py

## PostGraphile 5 and Node 22 from npm, as pinned in bench/postgraphile/package-lock.json
$(POSTGRAPHILE): bench/postgraphile/package.json bench/postgraphile/package-lock.json
	npm ci --prefix bench/postgraphile --no-audit --no-fund --silent
	touch $@

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache tests/clients/node_modules
