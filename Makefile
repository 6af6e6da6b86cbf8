# The verbs a newcomer types. Each target installs what it needs first (`install` is a no-op
# when .venv is already up to date with pyproject.toml).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STACK  ?= aws-prod
# The CPU wheel of torch lies on this machine's disk; pinning it first keeps pip from
# resolving a bare `torch` to a multi-GB CUDA build. Override for a GPU workstation.
TORCH_SPEC ?= torch==2.13.0
# checkov pins old boto3/packaging that break pulumi and pytest: it gets a virtualenv of its own.
CHECKOV_VENV := .venv-checkov
CHECKOV_SPEC ?= checkov==3.3.30
# Triton's gRPC client needs protobuf>=6.30, pulumi-policy pins 5.29: its own virtualenv too, for
# tests/workloads/inference/test_triton_grpc.py only.
TRITON_VENV := .venv-triton
TRITON_SPEC ?= tritonclient[grpc]>=2.73,<3

PIP := -q --disable-pip-version-check
# pip's exit status survives the filter that drops this machine's find-links notices
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
QUIET := 2>&1 | sed -u '/^WARNING: Location/d'

.PHONY: install system-packages test lint plan bench bench-plan bench-training bench-inference \
	pipeline clean

install: $(STAMP) $(CHECKOV_VENV)/.installed $(TRITON_VENV)/.installed

# One line per step, so a first run (about 4 minutes) is never silent.
$(CHECKOV_VENV)/.installed:
	@echo "install: checkov $(CHECKOV_SPEC) into $(CHECKOV_VENV) (its own virtualenv)"
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/pip install $(PIP) "$(CHECKOV_SPEC)" $(QUIET)
	@$(CHECKOV_VENV)/bin/checkov --version >/dev/null || { echo "checkov did not install"; exit 1; }
	@touch $@

$(TRITON_VENV)/.installed:
	@echo "install: $(TRITON_SPEC) into $(TRITON_VENV) (its own virtualenv)"
	@test -x $(TRITON_VENV)/bin/python || $(PYTHON) -m venv $(TRITON_VENV)
	@$(TRITON_VENV)/bin/pip install $(PIP) "$(TRITON_SPEC)" $(QUIET)
	@$(TRITON_VENV)/bin/python -c "import tritonclient.grpc" || { echo "tritonclient did not install"; exit 1; }
	@touch $@

$(STAMP): pyproject.toml
	@echo "install: virtualenv $(VENV) ($$($(PYTHON) --version))"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install $(PIP) --upgrade pip $(QUIET)
	@$(BIN)/python -c "import torch" 2>/dev/null || { \
		echo "install: $(TORCH_SPEC) (first, so pip never resolves a CUDA build)"; \
		$(BIN)/pip install $(PIP) "$(TORCH_SPEC)" $(QUIET); }
	@$(BIN)/python -c "import torch" 2>/dev/null || { echo "torch did not install ($(TORCH_SPEC))"; exit 1; }
	@echo "install: ascent, editable, with the train, serve, ci and dev extras"
	@# setuptools' note on editable installs is information only: keep it off the screen
	@PYTHONWARNINGS='ignore:Editable installation' $(BIN)/pip install $(PIP) -e '.[train,serve,ci,dev]' $(QUIET)
	@$(BIN)/python -c "import infra, pulumi_aws, pytest" || { echo "install failed"; exit 1; }
	@echo "install: done"
	@touch $@

system-packages:
	@bash scripts/system-packages.sh

test: install system-packages
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

plan: $(STAMP)
	$(BIN)/ascent plan --stack $(STACK)

# Each figure's script prints its table and its ratio against the baseline (benchmarks/).
bench: bench-plan bench-training bench-inference

bench-plan: $(STAMP)
	$(BIN)/python benchmarks/plan.py

bench-training: $(STAMP)
	$(BIN)/python benchmarks/training.py

bench-inference: $(STAMP)
	$(BIN)/python benchmarks/inference.py

# The workloads end to end on this machine (workloads/pipeline.py): an embedded broker and a
# file:// store unless KAFKA_BOOTSTRAP_SERVERS / OBJECT_STORE_URL point at real ones.
# PIPELINE_ARGS="--records 5000 --json" changes the run.
pipeline: $(STAMP)
	$(BIN)/python -m workloads.pipeline $(PIPELINE_ARGS)

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(TRITON_VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
