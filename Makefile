# The two commands of the README: `make run` and `make test`. Nothing else is needed but
# Python 3.11 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_CUSTOMERS ?= 3000

.PHONY: run test lint format typecheck unit bench docs messages clean assets

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# Front-end packages (htmx, axe-core) from the npm registry, pinned by frontend/package-lock.json;
# without Node.js the pages still work (search submits as a form).
ASSETS := frontend/node_modules/.installed-$(shell cat frontend/package-lock.json | cksum | cut -d' ' -f1)

$(ASSETS): frontend/package.json frontend/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix frontend --no-audit --no-fund --loglevel=error && \
	  rm -f frontend/node_modules/.installed-* && touch $(ASSETS); \
	else echo "npm not found: the web pages work without htmx (install Node.js for live search)"; fi

assets: $(ASSETS)

## run: install, create the store with demo data on first run, serve on http://$(HOST):$(PORT)
run: $(STAMP) $(ASSETS)
	$(BIN)/clientela init --demo --customers $(DEMO_CUSTOMERS)
	$(BIN)/clientela serve --host $(HOST) --port $(PORT)

## test: lint, type-check and the whole suite
test: lint typecheck $(ASSETS)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -m "not postgres" -x -q

## bench: the benchmarks of bench/ (long; not part of test)
bench: $(STAMP)
	$(BIN)/python bench/store.py

## docs: regenerate generated references
docs: $(STAMP)
	$(BIN)/clientela settings --markdown > docs/settings.md
	$(BIN)/clientela privacy bundle-schema > docs/privacy/access-bundle.schema.json

## messages: bring the pages' translation catalogues in line with the texts (then translate)
messages: $(STAMP)
	$(BIN)/python -m clientela.web.messages

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info
