# The course's commands. `make lab` to learn, `make test` to check everything.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.lightnets-installed
# Notebooks run in fast mode; only cells marked NBVAL_CHECK_OUTPUT have their outputs compared.
NBVAL_OPTS := --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
              --nbval-kernel-startup-timeout=180 --nbval-cell-timeout=600

.PHONY: help install lab test test-fast lint slides refresh-notebooks sample clean

help:
	@echo "make lab      install (first time only) and open the course in JupyterLab"
	@echo "make test     install (first time only) and run every test, notebooks included, browser test last"
	@echo "make lint     ruff over the package, tests and notebooks"
	@echo "make slides   build a reveal.js slide deck per notebook into slides/"
	@echo "make refresh-notebooks   re-execute the notebooks in fast mode and store their outputs"

# Re-installs only when pyproject.toml changes, so the second run is quick.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,deploy]"
	@touch $(STAMP)

install: $(STAMP)

# JupyterLab refuses to run as root (containers, cloud machines) unless told it may.
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

lint: $(STAMP)
	$(BIN)/ruff check lightnets_course tests benchmarks scripts notebooks

# The browser test (JupyterLab in headless Chromium) runs last, once everything else has passed.
test: $(STAMP) lint
	LIGHTNETS_FAST=1 $(BIN)/python -m pytest $(NBVAL_OPTS) -m "not browser" tests notebooks
	LIGHTNETS_FAST=1 $(BIN)/python -m pytest -m browser tests/test_browser.py

slides: $(STAMP)
	$(BIN)/python -m lightnets_course.course slides --out slides

refresh-notebooks: $(STAMP)
	LIGHTNETS_FAST=1 $(BIN)/python -m lightnets_course.course refresh

# Rebuild the shipped sample from the CIFAR-10 JPEG archive: make sample ARCHIVE=path/to/cifar10-jpeg.tar.gz
sample: $(STAMP)
	@test -n "$(ARCHIVE)" || { echo "usage: make sample ARCHIVE=path/to/cifar10-jpeg.tar.gz"; exit 2; }
	$(BIN)/python scripts/build_cifar10_sample.py "$(ARCHIVE)"

clean:
	rm -rf slides .pytest_cache .ruff_cache
