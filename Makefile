# Two commands set everything up: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test fuzz lint format bench bench-load install clean

$(STAMP): pyproject.toml
	@python=$$(scripts/find-python) || exit 1; \
	if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
		rm -rf $(VENV); echo "creating $(VENV) with $$python"; $$python -m venv $(VENV); fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m omnisocial.static_bundle
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo
	$(PY) manage.py sync_schedules
	@echo ""
	@echo "  OmniSocial is running at http://$(HOST):$(PORT)/"
	@echo "  Demo login: demo@example.com / demo   (Ctrl-C stops the web server and the worker)"
	@echo ""
	@DEBUG=$${DEBUG:-true} PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://$(HOST):$(PORT)} \
		exec $(PY) scripts/serve.py $(HOST):$(PORT)

test: $(STAMP)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Randomised exploration: new property-test, fuzzer and API-schema examples on every run (the
# default `make test` draws the same ones each time), more of them per operation.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=explore SCHEMATHESIS_EXAMPLES=$${SCHEMATHESIS_EXAMPLES:-40} \
		$(VENV)/bin/pytest -q -m "not browser" tests/test_api_schema.py tests/security/test_webhook_fuzz.py tests/attribution/test_credit.py $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(PY) bench/run.py

# Mixed load (redirects, webhooks, dashboard reads) for 60 s on loopback, then exact checks.
bench-load: $(STAMP)
	$(PY) bench/load.py

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm staticfiles
