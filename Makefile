# The two commands: `make demo` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The packaged Temporal binaries (temporal, temporal-test-server) live in $(BIN).
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: demo demo-agent test lint typecheck pytest bench differential conformance faults clean

# The differential tests' oracle: OPA v1.20.2's own evaluator. Its wheel says Python >= 3.14
# but runs on 3.11 (docs/policies.md, "Choosing the engine"); it is a dev tool, not a dependency.
ORACLE := opa-golib-python-bindings==0.4.4

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -c 'import sys; sys.exit("agento needs Python >= 3.11" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps --ignore-requires-python '$(ORACLE)'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/python -m examples.commissioning

# An agent's tool calls governed: a scripted model (offline), a deny, a signed approval, the audit.
demo-agent: $(VENV)/.installed
	$(BIN)/python -m examples.agent_refunds

test: lint typecheck pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed
	$(BIN)/mypy

pytest: $(VENV)/.installed
	$(BIN)/python -m pytest

bench: $(VENV)/.installed
	$(BIN)/python -m benchmarks

# The embedded engine against OPA on the policy corpus, with many inputs; fewer with EXAMPLES=100.
EXAMPLES ?= 2000
differential: $(VENV)/.installed
	$(BIN)/python -m tests.policy.differential --examples $(EXAMPLES)

# OPA's own conformance cases, from a checkout of OPA (the project keeps no copies of OPA's files):
# make conformance AGENTO_OPA_CASES=/path/to/opa/v1/test/cases/testdata/v1
conformance: $(VENV)/.installed
	AGENTO_OPA_CASES=$(AGENTO_OPA_CASES) $(BIN)/python -m tests.policy.opa_conformance

# The fault-injection suite; fewer trials with `make faults TRIALS=10`.
TRIALS ?= 50
faults: $(VENV)/.installed
	$(BIN)/python -m faults --trials $(TRIALS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
