# Two commands do all set-up on a fresh clone: `make demo` (the main job) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.musebench-installed

.PHONY: demo test test-fast lint docs install clean floors

$(STAMP): pyproject.toml scripts/bootstrap.sh
	PYTHON=$(PYTHON) VENV=$(VENV) bash scripts/bootstrap.sh
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/musebench demo $(ARGS)

# PYTHONDONTWRITEBYTECODE= : each test worker reuses the compiled modules instead of compiling every import again
# (about 5 s per worker per run where the shell sets it)
test: $(STAMP)
	PYTHONDONTWRITEBYTECODE= OMP_NUM_THREADS=1 $(PY) -m pytest -q -n 2 $(ARGS)

# the inner loop: everything but the tests marked slow (tests/conftest.py's SLOW list and @pytest.mark.slow:
# several processes, installs, the browser, fault injection, the heaviest model builds and trainings)
test-fast: $(STAMP)
	PYTHONDONTWRITEBYTECODE= OMP_NUM_THREADS=1 $(PY) -m pytest -q -n 2 --dist worksteal -m "not slow" $(ARGS)

# one style: ruff's formatter and linter ([tool.ruff] in pyproject.toml)
lint: $(STAMP)
	$(VENV)/bin/ruff format --check src tests benchmarks scripts
	$(VENV)/bin/ruff check src tests benchmarks scripts

# the documentation site (mkdocs.yml): built strictly, so a broken link or a page outside the nav fails
docs: $(STAMP)
	$(PY) -m pip install --quiet -e ".[docs]"
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

floors:  # optional CI step (network, a few minutes): every dependency at its declared floor
	PYTHON=$(PYTHON) bash scripts/check_floors.sh

clean:
	rm -rf $(VENV) build site *.egg-info src/*.egg-info
