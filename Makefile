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

test: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n 2 $(ARGS)

# the inner loop: no multi-process (DDP / FSDP / sharded / Ray / ranks), install, fault-injection or slow tests
FAST_SKIP := tests/faults tests/unlearn/test_ddp.py tests/unlearn/test_fsdp_unlearn.py \
	tests/unlearn/test_reference_sharding.py tests/evaluate/test_sharded.py tests/experiment/test_ray_executor.py \
	tests/experiment/test_run_ranks.py tests/unlearn/test_plugin.py tests/test_cli_startup.py
test-fast: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n 2 -m "not slow" $(addprefix --ignore=,$(FAST_SKIP)) $(ARGS)

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
