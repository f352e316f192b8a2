# The README's two commands are `make demo` and `make test`; both set up first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
ARCH ?= amd64
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: setup demo test test-fast lint package layer layer-lock bench accuracy up down clean

setup:
	@bash scripts/setup.sh

demo: setup
	@bash scripts/demo.sh

test: setup
	@bash scripts/setup.sh --browser
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-fast: setup
	$(VENV)/bin/pytest -m "not slow and not layer" $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

package: setup
	npx sls package

layer: setup
	$(PY) layers/build.py --arch $(ARCH)

layer-lock: setup
	$(PY) layers/build.py --relock --arch $(ARCH)

bench: setup
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	$(PY) -m bench

# Error rates against the shared pages' ground truth, upright and altered (docs/accuracy.md); ACCURACY_ARGS=--quick for a smoke run.
accuracy: setup
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	$(PY) -m bench accuracy $(ACCURACY_ARGS)

up: setup
	$(VENV)/bin/pagesearch up

down:
	-$(VENV)/bin/pagesearch down

clean: down
	rm -rf .serverless build .pytest_cache .ruff_cache
