# Every target does its own set-up from a fresh clone: see README.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUNTIME_STAMP := $(VENV)/.runtime
# Slither pins web3 < 8 (the node needs 8), so the static analyser lives in a venv of its own.
SLITHER_VENV := .venv-slither
SLITHER_STAMP := $(SLITHER_VENV)/.installed


.PHONY: setup demo test fuzz lint typecheck slither clean

setup: $(STAMP) node_modules/.installed build/contracts/.compiled $(SLITHER_STAMP)

# What a node and `make demo` need: the package and its runtime dependencies (torch==2.13.0 is
# one), without the dev tools (linters, test runners, Hugging Face, Playwright) or Slither's venv.
# --no-compile: byte-compiling every installed module (all of torch) costs more than compiling
# on first import the few a node uses.
$(RUNTIME_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --no-compile -e .
	touch $@

$(STAMP): $(RUNTIME_STAMP)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(SLITHER_STAMP):
	test -x $(SLITHER_VENV)/bin/python || $(PYTHON) -m venv $(SLITHER_VENV)
	$(SLITHER_VENV)/bin/pip install --quiet slither-analyzer==0.11.6
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

build/contracts/.compiled: $(RUNTIME_STAMP) node_modules/.installed $(shell find contracts -name '*.sol')
	$(BIN)/crowdtrain compile
	touch $@

demo: $(RUNTIME_STAMP) node_modules/.installed build/contracts/.compiled
	$(BIN)/python scripts/demo.py

test: setup lint typecheck
	$(BIN)/python -m pytest -q

# The Forge invariant suite, deeper than `make test` runs it (profile `deep` of foundry.toml).
fuzz: setup
	FOUNDRY_PROFILE=deep node_modules/.bin/forge test --match-path 'fuzz/*' --no-match-path 'fuzz/controls/*'

lint:
	$(BIN)/ruff check node verifier marketplace_api cli bench tests scripts
	$(BIN)/ruff format --check node verifier marketplace_api cli bench tests scripts

typecheck:
	$(BIN)/mypy

# Slither's untriaged High/Medium findings and stale triage entries (contracts/slither-triage.toml).
slither: $(SLITHER_STAMP)
	$(SLITHER_VENV)/bin/python scripts/slither_check.py

clean:
	rm -rf build .pytest_cache .mypy_cache
