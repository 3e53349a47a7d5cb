# The two commands: `make demo` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The packaged Temporal binaries (temporal, temporal-test-server) live in $(BIN).
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: demo demo-agent test lint typecheck pytest bench faults clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("agento needs Python >= 3.11" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable '.[dev]'
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

# The fault-injection suite; fewer trials with `make faults TRIALS=10`.
TRIALS ?= 50
faults: $(VENV)/.installed
	$(BIN)/python -m faults --trials $(TRIALS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
