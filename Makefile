# The two commands: `make run` (the app with the demo study) and `make test` (the whole suite).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# The suite runs on PostgreSQL and Redis; override these for other servers.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/triangulate
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
export DEBUG ?= 1
# Test processes for the tests that need neither a worker nor a browser (pytest-xdist; each has
# its own test database). Two suit the two cores these machines have.
TEST_WORKERS ?= 2

.PHONY: run test install install-dev lint format chromium screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: $(VENV)/.installed
	$(BIN)/python bin/run-demo

# Debian's Chromium for the browser tests (Playwright cannot download its own browser here).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "Install Chromium (apt-get install chromium) to run the browser tests."; fi; \
	fi

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: $(VENV)/.installed-dev chromium lint
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/pytest -n $(TEST_WORKERS) -m "not integration and not browser"
	@echo "== a real Celery worker on Redis, and Chromium (one at a time: they share Redis and ports) =="
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/pytest -m "integration or browser"
	@echo "== the embedded default: SQLite, no Redis =="
	DATABASE_URL= REDIS_URL= CELERY_BROKER_URL= $(BIN)/pytest -n $(TEST_WORKERS) -m "not integration and not browser" -q
	@echo "== check_integrity over the demo study, in a throwaway SQLite database =="
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  export DATABASE_URL= REDIS_URL= CELERY_BROKER_URL= VAR_DIR="$$tmp" && \
	  $(BIN)/python manage.py migrate --no-input -v0 && \
	  $(BIN)/python manage.py seed_demo >/dev/null && \
	  $(BIN)/python manage.py check_integrity

screenshots: $(VENV)/.installed-dev chromium
	$(BIN)/python bin/screenshots

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
