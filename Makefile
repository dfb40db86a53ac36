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
GPU_OUT     ?= gpu_results

TRAIN_PY  := $(VENV)/bin/python
VIEWER_PY := $(VIEWER_VENV)/bin/python

.PHONY: help install install-viewer train export view test test-all lint bench clean data-emoji gpu-check

help:
	@echo "make view       open the viewer on $(BUNDLE) (sets up $(VIEWER_VENV): numpy, onnxruntime, pygame-ce)"
	@echo "make test       lint, then the test suite but its slow soak and scale tests (viewer tests in torch-free $(VIEWER_VENV))"
	@echo "make test-all   lint, then every test, the slow ones too (what CI runs)"
	@echo "make train      train on MNIST in DATA_ROOT=$(DATA_ROOT) into RUN_DIR=$(RUN_DIR) (EPOCHS=$(EPOCHS))"
	@echo "make export     export RUN_DIR to BUNDLE=$(BUNDLE), replacing it"
	@echo "make bench      measure decode, frames, start-up, size, training; write $(BENCH_DIR)/bench.{json,md}"
	@echo "make gpu-check  on an NVIDIA machine: viewer on CUDA, CUDA training (bf16), 2-GPU NCCL; writes $(GPU_OUT)/gpu_check.json"
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

# TEST_MARK selects the tests: make test leaves out the slow soak and scale tests, make test-all runs them too.
TEST_MARK ?= not slow

test: install install-viewer lint
	TORCH_FREE=1 $(VIEWER_PY) -m pytest -q -m "$(TEST_MARK)" tests/viewer
	$(TRAIN_PY) -m pytest -q -m "$(TEST_MARK)" tests --ignore=tests/viewer

test-all:
	$(MAKE) test TEST_MARK=

# The colour demo's pictures into $(DATA_ROOT)/emoji-google/: npm fetches the package by name (Noto Emoji
# images, Apache-2.0; the package's own files, MIT). Only the index files and the 64x64 PNGs are kept.
data-emoji:
	@command -v npm >/dev/null 2>&1 || { echo "make data-emoji needs npm: install Node.js (npm comes with it), then run it again" >&2; exit 1; }
	@dest="$(abspath $(DATA_ROOT))/emoji-google"; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	(cd "$$tmp" && npm pack --silent emoji-datasource-google@16.0.0 >/dev/null && tar xzf emoji-datasource-google-16.0.0.tgz) && \
	mkdir -p "$$dest/img/google" && rm -rf "$$dest/img/google/64" && \
	cp "$$tmp/package/LICENSE" "$$tmp/package/README.md" "$$tmp/package/emoji.json" "$$tmp/package/categories.json" "$$dest/" && \
	cp -R "$$tmp/package/img/google/64" "$$dest/img/google/" && \
	echo "$$dest: $$(ls "$$dest/img/google/64" | wc -l | tr -d ' ') emoji; train with --dataset emoji --data-root $(DATA_ROOT)"

clean:
	rm -rf $(VENV) $(VIEWER_VENV) .pytest_cache .ruff_cache *.egg-info build

# Needs no venv: uses $(PYTHON) as the GPU machine has it and installs only what is missing (WHEELS=DIR offline).
gpu-check:
	PYTHON=$(PYTHON) DATA_ROOT=$(DATA_ROOT) OUT=$(GPU_OUT) bash benchmarks/gpu_check.sh
