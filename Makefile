# erdv: two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run serve test test-sqlite lint typecheck check migration demo clean bench bench-quick bench-login-bound

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed-run

## run: migrate the SQLite database, seed the demo and serve on http://$(HOST):$(PORT)
run: $(VENV)/.installed-run
	$(BIN)/erdv migrate
	$(BIN)/erdv demo
	@echo ""
	@echo "  erdv is starting on http://$(HOST):$(PORT)  (Ctrl-C to stop)"
	@echo ""
	$(BIN)/erdv serve --host $(HOST) --port $(PORT)

## test: the whole suite on SQLite, and on PostgreSQL too when ERDV_TEST_POSTGRES_URL is set, one
## process per core (at most 4; TEST_WORKERS=0 runs it in this process), each test file in one process
TEST_WORKERS ?= auto
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --maxprocesses 4 --dist loadfile $(PYTEST_ARGS)

## lint: ruff, and the layers of app/ (.importlinter: layers, core imports no domain, no cycles)
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check app tests migrations bench
	$(BIN)/ruff format --check app tests migrations bench
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

check: lint typecheck test

## migration m="what changed": autogenerate a revision from the models
migration: $(VENV)/.installed-dev
	@test -n "$(m)" || (echo 'usage: make migration m="what changed"' && exit 2)
	$(BIN)/alembic revision --autogenerate -m "$(m)"

## bench: erdv against this machine's own limits (PostgreSQL, wrk, pgbench); see bench/README.md
bench: $(VENV)/.installed-dev
	bench/tools
	$(BIN)/python -m bench.run

## bench-quick: the same, smaller and shorter (about 7 minutes, no 10^7 dataset)
bench-quick: $(VENV)/.installed-dev
	bench/tools
	$(BIN)/python -m bench.run --quick

## bench-login-bound: B7's ceiling here: erdv's logins beside a bare server doing the same work
bench-login-bound: $(VENV)/.installed-dev
	bench/tools
	$(BIN)/python -m bench.login_bound

demo: $(VENV)/.installed-run
	$(BIN)/erdv migrate
	$(BIN)/erdv demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
