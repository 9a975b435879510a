# stammgast: `make run` serves the embedded default with demo data; `make test` runs the suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/postgres

.PHONY: install install-dev run test test-sqlite test-postgres lint bench browser fuzz

$(BIN)/python:
	bash scripts/install-build-deps.sh
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e .

install-dev: $(BIN)/python
	$(BIN)/pip install -q -e ".[dev]"

run: install
	$(BIN)/stammgast migrate --no-input -v0
	$(BIN)/stammgast demo
	# The demo offers the sandbox payment provider (it moves no money; docs/payments.md).
	STAMMGAST_PAYMENT_PROVIDERS=$${STAMMGAST_PAYMENT_PROVIDERS-sandbox} $(BIN)/stammgast serve

browser:
	bash scripts/install-browser.sh

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test-sqlite: install-dev browser
	env -u DATABASE_URL STAMMGAST_EXPECT_DB=sqlite $(BIN)/pytest

# Tenants on several clusters (docs/scaling.md): a second PostgreSQL cluster on port 5433,
# a streaming replica of it on 5434, and PgBouncer in transaction mode in front of it on
# 6433 (the cluster "pooled": the second cluster reached through PgBouncer).
SECOND_URL ?= postgres://postgres@127.0.0.1:5433/postgres
REPLICA_URL ?= postgres://postgres@127.0.0.1:5434/postgres
POOLED_URL ?= postgres://postgres@127.0.0.1:6433/postgres?pool_mode=transaction

# The whole suite runs with the second cluster configured; tests/tenants/test_placement.py
# places tenants on both.
test-postgres: install-dev browser
	bash scripts/clusters.sh
	DATABASE_URL=$(PG_URL) STAMMGAST_EXPECT_DB=postgresql \
		STAMMGAST_CLUSTERS="second=$(SECOND_URL),pooled=$(POOLED_URL)" \
		STAMMGAST_REPLICAS=second=$(REPLICA_URL) STAMMGAST_TEST_MIRRORS=pooled=second $(BIN)/pytest

test: lint test-sqlite test-postgres

# A longer schemathesis round over the whole API than the suite's (on SQLite, then PostgreSQL).
FUZZ_EXAMPLES ?= 200
fuzz: install-dev
	env -u DATABASE_URL STAMMGAST_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -s -q tests/core/test_fuzz_api.py
	DATABASE_URL=$(PG_URL) STAMMGAST_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -s -q tests/core/test_fuzz_api.py

# `make bench` runs every benchmark, `make bench customers exchange` the ones named.
BENCHMARKS := $(filter-out bench,$(MAKECMDGOALS))
bench: install-dev
	$(BIN)/python -m benchmarks $(BENCHMARKS)

ifeq (bench,$(firstword $(MAKECMDGOALS)))
$(BENCHMARKS):
	@:
endif
