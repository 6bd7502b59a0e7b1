# Two entry points: `make run` and `make test`. Both install what they need into .venv first,
# and do nothing more when it is already there.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint lock clean

run: $(VENV)/.installed .env
	$(BIN)/chorus run

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Chorus needs Python 3.11 or newer: run make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

# A first `make run` writes .env with a fresh secret key; an existing .env is never touched.
.env:
	@key=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))'); \
	sed "s|^CHORUS_SECRET_KEY=.*|CHORUS_SECRET_KEY=$$key|" .env.example > $@
	@chmod 600 $@
	@echo "Wrote .env with a new CHORUS_SECRET_KEY. Keep it secret and back it up: it links answers to people."

# Refresh constraints.txt from a clean environment after changing dependencies in pyproject.toml.
lock:
	rm -rf /tmp/chorus-lock && $(PYTHON) -m venv /tmp/chorus-lock
	/tmp/chorus-lock/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	/tmp/chorus-lock/bin/python -m pip freeze --exclude-editable > constraints.txt

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
