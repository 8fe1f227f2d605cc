# motcua developer entry points. Needs only python3 (>= 3.11) and network access to PyPI.
#
#   make venv       create .venv and install the project with its dev extras
#   make run        local stack: Temporal dev server + workers + demo (`motcua dev`)
#   make test       full test suite, one process per CPU (what CI runs, through .ci/run)
#   make test-fast  skip tests marked slow
#   make browser    Debian's Chromium for the browser tests (installed when root with apt-get)
#   make pdfsig     poppler's pdfsig and NSS's certutil for the signature tests (the same way)
#   make oidc-provider  the sign-in tests' OpenID Provider (npm ci in tests/oidc; needs Node.js)
#   make lint       ruff check, ruff format --check, mypy, lint-imports (the layers contract)
#   make lock       re-resolve requirements.lock (runtime dependencies, pinned with hashes)
#   make audit      pip-audit over requirements.lock (needs a vulnerability service: exit 2 without)
#   make clean      remove local state and caches (keeps .venv)
#   make distclean  clean, and remove .venv too

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKAGES := domain infra store signatures activities workflows services api workers motcua
PYTEST_ARGS ?=
# Test processes (pytest-xdist): one more than the logical CPUs, tests handed out as each
# finishes (`make test TEST_PROCESSES=0` runs them in this one process). One more, because
# a good part of the suite waits (on worker and server processes it starts, on timeouts it
# lets run out): with one per CPU the 2-CPU machine was busy 72 % of the run (10.7-10.9
# min); with three, 85 % (8.0 and 10.1 min).
TEST_PROCESSES ?= $(shell echo $$(( $$(nproc) + 1 )))
PYTEST_PARALLEL = $(if $(filter 0,$(TEST_PROCESSES)),-p no:xdist,-n $(TEST_PROCESSES) --dist worksteal)
# pip-tools and pip-audit, in a virtualenv of their own (not the audited environment).
TOOLS := .venv-tools
LOCK := requirements.lock
# The Chromium that tests/browser drives (through Playwright); never downloaded by Playwright.
CHROMIUM := $(or $(MOTCUA_CHROMIUM),/usr/bin/chromium)
# The OpenID Provider the sign-in tests run (oidc-provider from npm, pinned by the lock).
OIDC_DIR := tests/oidc

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help venv browser oidc-provider pdfsig run test test-fast lint format lock audit clean distclean

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

venv: $(STAMP)

# Create the virtualenv. An order-only prerequisite of the stamp, so re-creating it never
# forces a reinstall by itself (but a new venv has no stamp, so it gets one).
$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "error: $(PYTHON) is $$($(PYTHON) -V 2>&1); motcua needs Python >= 3.11" >&2; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { \
	  echo "error: '$(PYTHON) -m venv' failed; on Debian/Ubuntu install python3-venv" >&2; exit 1; }

# (Re)install whenever pyproject.toml is newer than the stamp.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# Install Debian's chromium when it is missing and we can (root, apt-get); apt's output is
# shown only when it fails. Otherwise warn and go on: the browser tests then skip, or fail
# under CI=true.
browser:
	@[ -x "$(CHROMIUM)" ] && exit 0; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing Chromium (Debian package 'chromium') for the browser tests ..."; \
	  log=$$(mktemp); \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
	    >"$$log" 2>&1 || cat "$$log" >&2; \
	  rm -f "$$log"; \
	fi; \
	[ -x "$(CHROMIUM)" ] || echo "warning: no Chromium at $(CHROMIUM): install Debian's" \
	  "'chromium' (as root: make browser) or set MOTCUA_CHROMIUM; until then the browser" \
	  "tests are skipped (and fail when CI is set)" >&2

# npm ci from the committed package-lock.json (again when the lock changes). Without npm,
# warn and go on: the sign-in tests then skip, or fail under CI=true.
oidc-provider: $(OIDC_DIR)/node_modules/.package-lock.json

$(OIDC_DIR)/node_modules/.package-lock.json: $(OIDC_DIR)/package-lock.json
	@if command -v npm >/dev/null; then \
	  npm ci --prefix $(OIDC_DIR) --no-audit --no-fund --loglevel=error; \
	else \
	  echo "warning: no npm: the sign-in tests' OpenID Provider (tests/oidc) is not" \
	    "installed; install Node.js 20+ and npm, until then those tests are skipped" \
	    "(and fail when CI is set)" >&2; \
	fi

# poppler's pdfsig (Debian poppler-utils) checks the long-term signatures in
# tests/unit/test_pades.py against the development root, which NSS's certutil (Debian
# libnss3-tools) puts in a throwaway NSS database. Installed like Chromium above; otherwise
# those checks are skipped (and fail when CI is set).
pdfsig:
	@missing=""; \
	command -v pdfsig >/dev/null || missing="$$missing poppler-utils"; \
	command -v certutil >/dev/null || missing="$$missing libnss3-tools"; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing$$missing (pdfsig, certutil) for the signature tests ..."; \
	  log=$$(mktemp); \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; } \
	    >"$$log" 2>&1 || cat "$$log" >&2; \
	  rm -f "$$log"; \
	fi; \
	{ command -v pdfsig && command -v certutil; } >/dev/null || echo "warning: no pdfsig or" \
	  "certutil: install Debian's poppler-utils and libnss3-tools (as root: make pdfsig);" \
	  "until then the pdfsig test is skipped (and fails when CI is set)" >&2

run: venv
	$(BIN)/motcua dev

test: venv browser oidc-provider pdfsig
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest $(PYTEST_PARALLEL) --durations=15 $(PYTEST_ARGS)

test-fast: venv browser oidc-provider pdfsig
	$(BIN)/pytest $(PYTEST_PARALLEL) -m "not slow" $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(PACKAGES)
	$(BIN)/lint-imports --no-cache

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

$(TOOLS)/.installed:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet 'pip-tools>=7.4' 'pip-audit>=2.7'
	@touch $@

# The runtime dependencies of pyproject.toml (no extras), every version pinned and every
# file hashed, resolved for CPython 3.11 on Linux (the image's and CI's). Regenerate after
# changing the dependencies; tests/infra/test_lock.py checks it covers them.
lock: $(TOOLS)/.installed
	$(TOOLS)/bin/pip-compile --quiet --generate-hashes --strip-extras --no-emit-index-url \
	  --no-emit-find-links --output-file $(LOCK) pyproject.toml

# Known vulnerabilities of the locked versions (PyPI's advisory data, the default service).
# --strict: a package the service cannot answer for fails the audit, so an unreachable
# service (this workplace reaches PyPI's package index but not its JSON API, nor OSV) can
# never pass as "No known vulnerabilities found". Exit 1: vulnerabilities; exit 2: the
# audit could not run.
audit: $(TOOLS)/.installed
	@out=$$(mktemp); \
	if $(TOOLS)/bin/pip-audit -r $(LOCK) --disable-pip --strict --progress-spinner off \
	    >"$$out" 2>&1; then \
	  grep -v '^WARNING: Location' "$$out"; rm -f "$$out"; \
	elif grep -q -e 'could not be audited' -e 'ConnectionError' -e 'Max retries exceeded' \
	    -e 'Failed to resolve' "$$out"; then \
	  grep -v '^WARNING: Location' "$$out" | tail -n 3 >&2; rm -f "$$out"; \
	  echo "error: NOT AUDITED: the vulnerability service did not answer for every package" \
	    "of $(LOCK) (pip-audit needs PyPI's JSON API or OSV)" >&2; \
	  exit 2; \
	else \
	  grep -v '^WARNING: Location' "$$out"; rm -f "$$out"; exit 1; \
	fi

clean:
	rm -rf .state .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist
	find . -path ./$(VENV) -prune -o \
	  \( -name __pycache__ -o -name '*.egg-info' \) -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(TOOLS)
