# The two commands of the README: `make run` (the service with a demo) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The MLflow tracking server the tests start, in a venv of its own (requirements/mlflow-server.in says why).
MLFLOW_VENV ?= .venv-mlflow
CATALOG_TEST_MLFLOW_SERVER ?= $(abspath $(MLFLOW_VENV))/bin/mlflow
HOST ?= 127.0.0.1
PORT ?= 8000
# The tests run against a real PostgreSQL and a real Redis (the e2e tests start a Celery worker).
# scripts/ensure-services gives the role its password where the server asks for one (stock Debian).
TEST_DATABASE_URL ?= postgres://catalog_test:catalog-test-only@127.0.0.1:5432/catalog
TEST_BROKER_URL ?= redis://127.0.0.1:6379/1
PYTEST_ARGS ?=

.PHONY: install lock upgrade run test test-fuzz test-fast lint bench bench-smoke clean

# Exactly the versions of the lock file, each checked against its hashes (scripts/lock writes it
# from pyproject.toml); then the project itself, which brings nothing more. Beside it, the tracking
# server's venv from its own lock.
install: $(VENV)/.installed $(MLFLOW_VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements/dev-lock.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev-lock.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(MLFLOW_VENV)/.installed: requirements/mlflow-server-lock.txt
	test -x $(MLFLOW_VENV)/bin/python || $(PYTHON) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/python -m pip install --quiet --require-hashes -r requirements/mlflow-server-lock.txt
	touch $@

# After a change to the dependencies in pyproject.toml: the lock files again, keeping the versions
# already locked where they still fit.
lock: install
	UV=$(BIN)/uv scripts/lock

# Every locked package to its newest version that fits pyproject.toml.
upgrade: install
	UV=$(BIN)/uv scripts/lock --upgrade

# Embedded mode unless DATABASE_URL / CELERY_BROKER_URL are set: SQLite, tasks in-process.
run: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py load_demo
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py load_lineage_demo
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runserver $(HOST):$(PORT)

# Each run's tasks go to a queue of its own, so workers of another run (or of a server) on the same
# broker never take them. pytest exits 5 when it collected no test: said in a line.
TEST_ENV = SECRET_KEY=test-only-not-a-secret DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
	CELERY_TASK_DEFAULT_QUEUE=catalog-test-$$$$ CATALOG_TEST_MLFLOW_SERVER=$(CATALOG_TEST_MLFLOW_SERVER)
NO_TESTS = status=$$?; if [ $$status -eq 5 ]; then echo "pytest collected no tests" >&2; fi; exit $$status

# Every test but the fuzzing: in-process, end-to-end (gunicorn, Celery workers and beat), the browser,
# the fault stack and the real-data corpus; the in-process ones over TEST_PROCESSES processes, then the
# others one at a time (scripts/test-runs).
TEST_PROCESSES ?= 2
test: install
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) scripts/ensure-services
	$(TEST_ENV) TEST_PROCESSES=$(TEST_PROCESSES) scripts/test-runs $(BIN)/python $(PYTEST_ARGS)

# Schemathesis against the live schema (tests/e2e/test_fuzz_api.py): a step of its own in CI.
test-fuzz: install
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) scripts/ensure-services
	$(TEST_ENV) $(BIN)/python -m pytest -m fuzz $(PYTEST_ARGS); $(NO_TESTS)

# The quick loop: every test that starts no server, worker or browser process and reads no real-data
# corpus, spread over the cores by pytest-xdist (a test database each): about 2,000 tests in 3 min 20 s
# on the 2-core development machine while other work shared it.
test-fast: install
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) scripts/ensure-services
	SECRET_KEY=test-only-not-a-secret DATABASE_URL=$(TEST_DATABASE_URL) \
		$(BIN)/python -m pytest -m "not e2e and not realdata" -n auto $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=1 $(BIN)/mypy
	$(BIN)/lint-imports
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run
	DEBUG=1 $(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null
	DEBUG=1 $(BIN)/python manage.py check

bench: install
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) scripts/ensure-services
	DEBUG=1 DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m benchmarks
	$(BIN)/python -m benchmarks.profile_bench

bench-smoke: install
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) scripts/ensure-services
	DEBUG=1 DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m benchmarks --smoke
	$(BIN)/python -m benchmarks.profile_bench --smoke --workdir $${TMPDIR:-/tmp}/profile-bench-smoke

clean:
	rm -rf $(VENV) $(MLFLOW_VENV) .mypy_cache .ruff_cache .pytest_cache staticfiles test-artifacts
