# Dockyard: `make run` serves a registry on embedded defaults; `make test` proves it.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
HASH   := $(shell cat pyproject.toml | sha1sum | cut -c1-12)
# Two stamps: `run` needs only Dockyard's own dependencies (a quick first start);
# tests and lint add the test extras (pytest, schemathesis, Playwright, linters).
RUN_STAMP  := $(VENV)/.installed-run-$(HASH)
TEST_STAMP := $(VENV)/.installed-test-$(HASH)

.PHONY: install run test lint unit integration soak bench system clean

$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	rm -f $(VENV)/.installed-run-* && touch $@

$(TEST_STAMP): $(RUN_STAMP)
	$(PY) -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-test-* && touch $@

install: $(TEST_STAMP)

run: $(RUN_STAMP)
	$(PY) -m dockyard serve

# System packages (clients, Distribution) and services (PostgreSQL) the tests need.
system:
	bash scripts/ensure-system.sh

lint: install
	$(VENV)/bin/ruff check dockyard tests $(wildcard bench)
	$(VENV)/bin/lint-imports

# Test files are shared out to two pytest processes per core (a file's tests stay together:
# they share module fixtures such as a live server). Most tests wait on servers and
# clients, so twice the cores halves the run without starving anyone.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) * 2 )))
test: install system lint
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

unit: install
	$(PY) -m pytest -q tests/unit tests/storage

integration: install system
	$(PY) -m pytest -q -m integration tests/integration

# Pushes, deletes and garbage collection racing for minutes (make test runs 15 s of it).
soak: install system
	SOAK_SECONDS=$${SOAK_SECONDS:-300} $(PY) -m pytest -q -p no:cacheprovider tests/integration/test_gc_soak.py

bench: install system
	command -v ab >/dev/null || apt-get install -y -qq apache2-utils
	$(PY) -m pip install --quiet -r bench/requirements.txt
	$(PY) bench/run.py --out docs/benchmarks.md

clean:
	rm -rf $(VENV) data .pytest_cache
