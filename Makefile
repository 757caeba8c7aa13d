# Two entry points for a fresh machine with only Python 3.11+:
#   make demo   set up .venv, then check every file in derivations/
#   make test   set up .venv, then run the whole test suite
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint fuzz clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/derivcheck verify derivations/ --check-expected

test: $(STAMP)
	$(VENV)/bin/ruff check derivcheck tests bench
	$(VENV)/bin/mypy derivcheck
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/run.py

fuzz: $(STAMP)
	DERIVCHECK_FUZZ=long $(PY) -m pytest -q tests/test_fuzz.py

lint: $(STAMP)
	$(VENV)/bin/ruff check derivcheck tests bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
