# Two entry points for a fresh machine with only Python 3.11+:
#   make demo   set up .venv, then check every file in derivations/
#   make test   set up .venv, then run the whole test suite
#   make bench  accuracy and speed against the baselines: bench/results.md, bench/results.json;
#               then time and memory against the size of a derivation (bench/scaling.py),
#               and the LaTeX reader against SymPy's LaTeX parser tests (bench/latex_reader.py)
#               (BENCH_ARGS=--quick for a smoke run)
#   make report report.tex and report.pdf for derivations/ (needs TeX: see the README)
#   make grade  grade the example class in examples/mlp004/ into grades/
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint fuzz report grade clean

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
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q

report: $(STAMP)
	$(VENV)/bin/derivcheck report derivations/ -o report.tex --pdf

grade: $(STAMP)
	$(VENV)/bin/derivcheck grade examples/mlp004/key.yaml examples/mlp004/submissions/ \
		-o grades/ --format gradescope

bench: $(STAMP)
	$(PY) bench/run.py $(BENCH_ARGS)
	$(PY) bench/scaling.py --markdown
	$(PY) bench/latex_reader.py

fuzz: $(STAMP)
	DERIVCHECK_FUZZ=long $(PY) -m pytest -q tests/test_fuzz.py
	$(PY) bench/mutants.py --count $(or $(MUTANTS),20000) --seed $(or $(SEED),1) --jobs 2

lint: $(STAMP)
	$(VENV)/bin/ruff check derivcheck tests bench
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
