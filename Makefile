# Every target bootstraps .venv by itself, so a fresh machine with Python 3.11 and
# git needs nothing but `make demo` or `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

NODE_TOOLS := tools/node/node_modules/.installed

.PHONY: venv node-tools demo test lint typecheck contracts pytest bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 2; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# CPU-only torch first: the 'semantic' extra's range is then already satisfied and
	# pip does not pull the multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,semantic]'
	@touch $(STAMP)

# Independent MCP clients/peers for interop tests and benchmarks (needs npm; optional
# outside CI, where the tests that use them skip with a reason).
node-tools: $(NODE_TOOLS)

$(NODE_TOOLS): tools/node/package.json
	@if command -v npm >/dev/null 2>&1; then \
	  cd tools/node && npm install --no-audit --no-fund --loglevel=error --no-package-lock && touch node_modules/.installed; \
	else echo "npm not found: MCP interop tests will be skipped"; fi

demo: $(STAMP)
	@bash scripts/demo.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/ruff format --check src tests $(wildcard bench)

typecheck: $(STAMP)
	$(BIN)/mypy --strict src/

contracts: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP) node-tools
	$(BIN)/pytest

test: lint typecheck contracts pytest

bench: $(STAMP)
	$(BIN)/python bench/locks.py
	$(BIN)/python bench/files.py
	$(BIN)/python bench/mcp.py
	$(BIN)/python bench/pipeline.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache tools/node/node_modules
