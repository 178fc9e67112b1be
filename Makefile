# Dockyard: `make run` serves a registry on embedded defaults; `make test` proves it.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: install run test lint unit integration bench system clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

run: install
	$(PY) -m dockyard serve

# System packages (clients, Distribution) and services (PostgreSQL) the tests need.
system:
	bash scripts/ensure-system.sh

lint: install
	$(VENV)/bin/ruff check dockyard tests $(wildcard bench)
	$(VENV)/bin/lint-imports

test: install system lint
	$(PY) -m pytest -q

unit: install
	$(PY) -m pytest -q tests/unit tests/storage

integration: install system
	$(PY) -m pytest -q -m integration tests/integration

bench: install system
	command -v ab >/dev/null || apt-get install -y -qq apache2-utils
	$(PY) -m pip install --quiet -r bench/requirements.txt
	$(PY) bench/run.py --out docs/benchmarks.md

clean:
	rm -rf $(VENV) data .pytest_cache
