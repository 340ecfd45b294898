# xigua-tasks. `make run` starts the whole system; `make test` runs every check.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | cksum | cut -d' ' -f1)

.PHONY: install bytecode run demo books worker test lint typecheck pytest chaos lock clean \
	bench bench-scale bench-square bench-prereview screenshots

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		--constraint requirements.lock --editable '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

# The worker's sandbox imports workflows/order.py afresh for every order it starts; without a
# current .pyc (PYTHONDONTWRITEBYTECODE, or a file just edited) each import compiles the source.
# Only stale files are compiled again, so this costs nothing when they are current.
SOURCES := activities adapters api bench db scripts services workflows *.py
bytecode: install
	$(BIN)/python -m compileall -q $(SOURCES)

## The whole system: Temporal dev server + Web UI, migrations, demo data, worker.
## The API's metrics on a local port of their own, unless XIGUA_API_METRICS_ADDRESS says else.
run: bytecode
	XIGUA_API_METRICS_ADDRESS=$${XIGUA_API_METRICS_ADDRESS-127.0.0.1:9465} $(BIN)/python -m scripts.run

## One order through its whole life on the running system, with short durations.
demo: install
	$(BIN)/python -m scripts.demo

## Balances, ledger invariants and the latest order's timeline.
books: install
	$(BIN)/python -m scripts.books

worker: bytecode
	$(BIN)/python worker.py

## Every check CI runs: lint, types, the whole test suite.
test: lint typecheck pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy .

pytest: bytecode
	bash scripts/ensure_docker_compose.sh
	bash scripts/ensure_chromium.sh
	$(BIN)/python -m scripts.pytest_exit $(PYTEST_ARGS)

## Only the fault-injection tests (tests/chaos, also part of `make test`): worker killed
## mid-settlement, dev server restarted, app database cut off, duplicate requests.
chaos: bytecode
	$(BIN)/python -m scripts.pytest_exit -m chaos tests/chaos

## The web app's main pages in both languages, into docs/screenshots/ (the README shows two).
screenshots: bytecode
	bash scripts/ensure_chromium.sh
	XIGUA_WEB_SCREENSHOTS=docs/screenshots $(BIN)/python -m scripts.pytest_exit -q \
		tests/web/test_web_pages.py -k every_page

## Benchmarks (figures in docs/PERFORMANCE.md); each starts its own throw-away system.
## Orders through the HTTP API vs two bare-SDK baselines (the same shape, a minimal workflow);
## BENCH_ARGS passes options
## (python -m bench.orders --help), e.g. BENCH_ARGS='--orders 400 --concurrency 40'.
bench: bytecode
	$(BIN)/python -m bench.orders $(BENCH_ARGS)

## 10,000 open orders waiting on timers; 1,000 of them firing at once.
bench-scale: bytecode
	$(BIN)/python -m bench.scale $(BENCH_ARGS)

## The creator square with 100,000 creators, with and without its indexes.
bench-square: install
	$(BIN)/python -m bench.square $(BENCH_ARGS)

## The machine pre-review (B2) of a 100,000-character script, against a loop of str.find.
bench-prereview: install
	$(BIN)/python -m bench.prereview $(BENCH_ARGS)

lock: install
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' > requirements.lock.new
	{ sed -n '1,2p' requirements.lock; cat requirements.lock.new; } > requirements.lock.tmp
	mv requirements.lock.tmp requirements.lock && rm requirements.lock.new

clean:
	rm -rf .data .pytest_cache .mypy_cache .ruff_cache
	find $(SOURCES) -name __pycache__ -type d -prune -exec rm -rf {} +
