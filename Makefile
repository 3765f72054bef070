# Vigil: `make run` brings the whole stack up, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SHARED ?= $(abspath ../shared)

.PHONY: run test bench lint system-deps clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(PY) -m vision.stack

system-deps:
	bash scripts/system-deps.sh

test: $(VENV)/.installed system-deps
	$(VENV)/bin/lint-imports
	VIGIL_MODEL_DIR=$${VIGIL_MODEL_DIR:-$(SHARED)/models} VIGIL_SHARED_DIR=$(SHARED) \
	VIGIL_DATA_DIR=$${VIGIL_TEST_DATA_DIR:-$(CURDIR)/.data/test} \
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed system-deps
	VIGIL_MODEL_DIR=$${VIGIL_MODEL_DIR:-$(SHARED)/models} VIGIL_SHARED_DIR=$(SHARED) \
	VIGIL_DATA_DIR=$(CURDIR)/.data/bench $(PY) -m bench

clean:
	rm -rf $(VENV) .data/test .pytest_cache
