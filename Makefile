# `make run` and `make test` create the environment themselves (Python >= 3.11 is all they need).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

POSTGRAPHILE := bench/postgraphile/node_modules/.installed
GRAPHIQL_DIR := gotong_gql/static/graphiql
GRAPHIQL_NPM := react@18.2.0 react-dom@18.2.0 graphiql@3.8.3 @graphiql/plugin-explorer@1.0.2

.PHONY: run test test-postgres test-sqlite lint format schema bench clean graphiql browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Migrate, load demo data into a new database, serve GraphiQL on http://$(HOST):$(PORT)/graphql
run: $(STAMP) graphiql
	$(BIN)/gotong-gql migrate
	$(BIN)/gotong-gql seed-demo --if-empty
	$(BIN)/gotong-gql serve --host $(HOST) --port $(PORT)

## Lint, then the whole suite on PostgreSQL and again on SQLite
test: $(STAMP) graphiql browser lint test-postgres test-sqlite

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

## GraphiQL's assets from the npm registry, served same-origin (without npm: the CDN fallback)
graphiql: $(GRAPHIQL_DIR)/.installed

$(GRAPHIQL_DIR)/.installed: $(STAMP)
	@if command -v npm >/dev/null 2>&1; then \
	  mkdir -p var/npm-graphiql $(GRAPHIQL_DIR) && \
	  npm install --prefix var/npm-graphiql --no-audit --no-fund --silent $(GRAPHIQL_NPM) && \
	  $(BIN)/python -c 'import shutil, gotong_gql.graphiql as g; \
	    [shutil.copy(f"var/npm-graphiql/node_modules/{src}", g.ASSET_DIR / dst) \
	     for dst, src in g.ASSETS.items()]' && \
	  touch $@; \
	else echo "npm not found: GraphiQL will load from its CDN"; fi

## Headless Chromium for the browser test (Debian's package; CI runs as root)
browser:
	@command -v chromium >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) || \
	  echo "could not install chromium: the browser test will fail"

## Regenerate the committed schema.graphql
schema: $(STAMP)
	$(BIN)/gotong-gql export-schema > schema.graphql

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
	rm -rf $(VENV) var .pytest_cache .ruff_cache
