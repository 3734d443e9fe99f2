# Two commands do all set-up on a fresh clone: `make demo` (the main job) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.musebench-installed

.PHONY: demo test install clean floors

$(STAMP): pyproject.toml scripts/bootstrap.sh
	PYTHON=$(PYTHON) VENV=$(VENV) bash scripts/bootstrap.sh
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/musebench demo $(ARGS)

test: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n 2 $(ARGS)

floors:  # optional CI step (network, a few minutes): every dependency at its declared floor
	PYTHON=$(PYTHON) bash scripts/check_floors.sh

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
