# latent-explorer: train, export, view, test. Each target sets up the environment it needs.
# Two virtual environments keep the viewer honest: .venv-viewer has only the viewer's dependencies
# (no torch), .venv has everything (training, export, tests).

PYTHON      ?= python3
VENV        ?= .venv
VIEWER_VENV ?= .venv-viewer
DATA_ROOT   ?= data
RUN_DIR     ?= runs/mnist-ae
BUNDLE      ?= models/mnist-ae
EPOCHS      ?= 30
TRAIN_ARGS  ?=
VIEW_ARGS   ?=
BENCH_DIR   ?= benchmarks/results
BENCH_ARGS  ?=

TRAIN_PY  := $(VENV)/bin/python
VIEWER_PY := $(VIEWER_VENV)/bin/python

.PHONY: help install install-viewer train export view test lint bench clean

help:
	@echo "make view       open the viewer on $(BUNDLE) (sets up $(VIEWER_VENV): numpy, onnxruntime, pygame-ce)"
	@echo "make test       lint, then the test suite (torch tests in $(VENV), viewer tests in torch-free $(VIEWER_VENV))"
	@echo "make train      train on MNIST in DATA_ROOT=$(DATA_ROOT) into RUN_DIR=$(RUN_DIR) (EPOCHS=$(EPOCHS))"
	@echo "make export     export RUN_DIR to BUNDLE=$(BUNDLE), replacing it"
	@echo "make bench      measure decode, frames, start-up, size, training; write $(BENCH_DIR)/bench.{json,md}"
	@echo "make install    set up $(VENV) with the train and dev extras"

install: $(VENV)/.installed
install-viewer: $(VIEWER_VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(TRAIN_PY) -m pip install --quiet --upgrade pip
	$(TRAIN_PY) -m pip install --quiet -e '.[train,dev]'
	touch $@

$(VIEWER_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VIEWER_VENV)
	$(VIEWER_PY) -m pip install --quiet --upgrade pip
	$(VIEWER_PY) -m pip install --quiet . pytest
	touch $@

train: install
	$(TRAIN_PY) -m training --data-root $(DATA_ROOT) --run-dir $(RUN_DIR) --epochs $(EPOCHS) --overwrite $(TRAIN_ARGS)

export: install
	$(TRAIN_PY) -m export $(RUN_DIR) --out $(BUNDLE) --data-root $(DATA_ROOT) --force

view: install-viewer
	$(VIEWER_PY) -m viewer $(BUNDLE) $(VIEW_ARGS)

# The viewer-side benchmarks run where torch is absent; the torch comparisons in $(VENV).
bench: install install-viewer
	$(VIEWER_PY) -m benchmarks --out $(BENCH_DIR) --torch-python $(TRAIN_PY) --data-root $(DATA_ROOT) $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff check training export viewer benchmarks tests latent_common
	$(VENV)/bin/ruff format --check training export viewer benchmarks tests latent_common

test: install install-viewer lint
	TORCH_FREE=1 $(VIEWER_PY) -m pytest -q tests/viewer
	$(TRAIN_PY) -m pytest -q tests --ignore=tests/viewer

clean:
	rm -rf $(VENV) $(VIEWER_VENV) .pytest_cache .ruff_cache *.egg-info build
