# The two commands: `make run` and `make test`. Both install what is missing first.
SHELL := /bin/bash
PY := .venv/bin/python
SEED_SCALE ?= 0.02
TEST_WORKERS ?= 2
export DATABASE_URL ?= postgis://postgres@127.0.0.1:5432/imis
export REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test bench setup lint messages clean-db

setup:
	@scripts/setup.sh run

run: setup
	@$(PY) manage.py seed_demo --scale $(SEED_SCALE)
	@scripts/run.sh

test:
	@scripts/setup.sh test
	@echo "==> ruff"; .venv/bin/ruff check imis tests scripts
	@echo "==> makemigrations --check"; DJANGO_SETTINGS_MODULE=imis.platform.settings.test $(PY) manage.py makemigrations --check --dry-run >/dev/null
	@echo "==> pytest"; DJANGO_SETTINGS_MODULE=imis.platform.settings.test .venv/bin/pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench:
	@scripts/setup.sh test
	@DJANGO_SETTINGS_MODULE=imis.platform.settings.test .venv/bin/pytest tests/bench -p no:cacheprovider -q -s $(PYTEST_ARGS)

lint:
	.venv/bin/ruff check imis tests scripts && .venv/bin/ruff format --check imis tests scripts

messages:
	$(PY) manage.py makemessages -l bn --ignore=.venv --ignore=frontend --ignore=tests --ignore=var
