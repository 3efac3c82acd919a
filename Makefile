# Every target creates .venv on first use and installs the project into it: `make run`
# only what running needs, the other targets the development tools as well.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
RUNTIME := $(VENV)/.installed-runtime
STAMP := $(VENV)/.installed-dev

.PHONY: run test faults lint bench clean browser

$(RUNTIME): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	@touch $(RUNTIME)

$(STAMP): $(RUNTIME)
	$(PIP) -e '.[dev]'
	@touch $(STAMP)

run: $(RUNTIME)
	$(BIN)/dentalcare serve --demo

# The reconnect storm's 10 s bound wants the machine to itself: it runs in `make faults`
# (all fault tests; CI runs it after `make test`) rather than on every `make test`.
test: $(STAMP) browser
	$(BIN)/python -m pytest -m "not storm" $(PYTEST_ARGS)

# The fault tests alone (kill -9 a service, restart PostgreSQL, a 5,000-client reconnect
# storm), with their figures printed; `make test` runs them too (about a minute).
faults: $(STAMP)
	$(BIN)/python -m pytest tests/faults -s $(PYTEST_ARGS)

# The browser tests drive Debian's Chromium; Playwright never downloads a browser.
browser:
	@test -x /usr/bin/chromium || { \
		SUDO=$$(test "$$(id -u)" -eq 0 || echo sudo); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

# Style, types, and the import contracts of pyproject.toml's [tool.importlinter].
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .dentalcare
