# Two commands: `make run` and `make test`. Both build the virtual environment first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint install chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Stamp files: reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

# Serve on HOST:PORT (default 127.0.0.1:8000). Safe to re-run: it upgrades the
# schema and loads the demo only into an empty database (a re-run says how to see the
# demo users' passwords again). The notification worker runs beside it (reminders;
# email once SMTP_HOST is set), and stops with it. The server replaces the recipe's shell (exec) and
# exits 0 on Ctrl-C, so stopping it is not reported as make's failure.
run: $(VENV)/.installed
	$(BIN)/demarche db upgrade
	$(BIN)/demarche demo --if-empty
	$(BIN)/demarche worker & exec $(BIN)/demarche serve

lint: $(VENV)/.installed-test
	$(BIN)/ruff check app tests bench migrations/env.py
	$(BIN)/mypy app

# The browser tests drive Debian's Chromium; install it when missing (root only),
# otherwise say so: those tests then skip with the reason.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium) || echo "note: could not install chromium: browser tests will skip"; \
	  else \
	    echo "note: /usr/bin/chromium is missing and installing it needs root: browser tests will skip"; \
	  fi; \
	fi

# The PostgreSQL half runs when TEST_POSTGRES_URL is set (bash .ci/run sets it). One test
# process per core (pytest-xdist; worksteal evens out the few long tests): every worker
# builds its own databases, so no test shares state with another worker's.
test: chromium lint
	@if [ -z "$$TEST_POSTGRES_URL" ]; then echo "note: TEST_POSTGRES_URL unset: SQLite only (bash .ci/run adds PostgreSQL)"; fi
	$(BIN)/python -m pytest -n auto --dist worksteal
