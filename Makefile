# One toolchain, the same commands locally and in CI. The README's two commands are
# `make demo` and `make test`; each installs what it needs on a fresh machine.
SHELL := /bin/bash
UV_VERSION := 0.13.9
UV := python3 -m uv
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DB ?= var/vcop.duckdb

.PHONY: help uv deps test-system demo test check lint format typecheck docs bench

help:
	@echo "make demo   - install everything, build the Demoshire demo force and run vcop on it"
	@echo "make test   - install everything the tests need (incl. Debian packages) and run them all"
	@echo "make check  - ruff + mypy + tests"
	@echo "make docs   - regenerate docs made from the definitions"
	@echo "make bench  - run the benchmarks in bench/"

uv:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv==$(UV_VERSION)" \
		|| python3 -m pip install --quiet --user --break-system-packages "uv==$(UV_VERSION)"

# Installed as pip installs a package: compiled to bytecode once, not on every start (uv does
# not compile by default, and with PYTHONDONTWRITEBYTECODE set Python never keeps what it
# compiles: each command would recompile some 1,500 modules, 2-3 s). vcop's own sources are an
# editable install, which uv leaves alone; Python recompiles any that change after this.
deps: uv
	$(UV) sync --frozen --compile-bytecode
	$(UV) run --no-sync python -m compileall -q src

# Debian packages the tests need: Java 17 for the PySpark tests, Chromium for the browser tests.
TEST_DEBS := $(if $(shell command -v java),,openjdk-17-jre-headless) $(if $(shell command -v chromium),,chromium)
test-system:
	@if [ -n "$(strip $(TEST_DEBS))" ]; then \
		echo "installing Debian packages: $(strip $(TEST_DEBS))"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(TEST_DEBS); \
	fi

demo: deps
	$(UV) run vcop demo --db $(DB)

test: deps test-system
	$(UV) run bandit --quiet --recursive src --configfile pyproject.toml --severity-level low
	# two workers (the machines have two cores); a file's tests stay on one worker, so a module's
	# fixtures are built once
	$(UV) run pytest -n 2 --dist loadfile

lint:
	$(UV) run ruff check src tests bench scripts
	$(UV) run ruff format --check src tests bench scripts

format:
	$(UV) run ruff format src tests bench scripts
	$(UV) run ruff check --fix src tests bench scripts

typecheck:
	$(UV) run mypy

docs: deps
	$(UV) run vcop docs

check: lint typecheck test

bench: deps
	$(UV) run python bench/bench_ingest.py
	$(UV) run python bench/bench_ledger.py
	$(UV) run python bench/bench_metrics.py
	$(UV) run vcop demo --db $(DB) --no-serve
	$(UV) run python bench/bench_web.py --db $(DB)
