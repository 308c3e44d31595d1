# `make run` and `make test` set up .venv when it is missing or pyproject.toml changed.
VENV ?= .venv
PY := $(VENV)/bin/python
CONFIG ?= targets.toml

.PHONY: run test lint bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/monitor run -c $(CONFIG)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check monitor tests bench
	$(VENV)/bin/ruff format --check monitor tests bench
	$(VENV)/bin/mypy monitor tests/fakestore.py tests/store

test: lint
	$(PY) -m pytest

bench: $(VENV)/.installed
	$(PY) -m bench

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
