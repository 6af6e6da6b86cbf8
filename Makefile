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

.PHONY: install test lint plan bench pipeline clean

install: $(STAMP) $(CHECKOV_VENV)/.installed

$(CHECKOV_VENV)/.installed:
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/pip install -q --disable-pip-version-check "$(CHECKOV_SPEC)" 2>&1 | grep -v '^WARNING: Location' || true
	@$(CHECKOV_VENV)/bin/checkov --version >/dev/null || { echo "checkov did not install"; exit 1; }
	@touch $@

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip 2>/dev/null
	@$(BIN)/python -c "import torch" 2>/dev/null || \
		$(BIN)/pip install -q --disable-pip-version-check "$(TORCH_SPEC)" 2>&1 | grep -v '^WARNING: Location' || true
	@$(BIN)/python -c "import torch" 2>/dev/null || { echo "torch did not install ($(TORCH_SPEC))"; exit 1; }
	@$(BIN)/pip install -q --disable-pip-version-check -e '.[infra,torch,train,serve,ci,dev]' 2>&1 | grep -v '^WARNING: Location' || true
	@$(BIN)/python -c "import infra, pulumi_aws, pytest" || { echo "install failed"; exit 1; }
	@touch $@

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

plan: $(STAMP)
	$(BIN)/ascent plan --stack $(STACK)

bench: $(STAMP)
	$(BIN)/python benchmarks/plan.py

# The workloads end to end on this machine (workloads/pipeline.py): an embedded broker and a
# file:// store unless KAFKA_BOOTSTRAP_SERVERS / OBJECT_STORE_URL point at real ones.
# PIPELINE_ARGS="--records 5000 --json" changes the run.
pipeline: $(STAMP)
	$(BIN)/python -m workloads.pipeline $(PIPELINE_ARGS)

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
