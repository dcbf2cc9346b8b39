# faceseal entry points. The two that matter:
#   make run        install, build + verify the sealed models, serve on http://127.0.0.1:8000
#   make test       install what the suite needs (devkit/prerequisites.sh: Debian packages, a Docker engine;
#                   as root), lint and type-check (make check), build + verify the models, run the whole suite
# and for development:
#   make test-fast  tests/unit, tests/repo and tests/api (in-process HTTP): no Docker, no server process, no
#                   Debian package beyond python3-venv; the models are built only when those on disk fail the gate
#   make check      ruff and mypy over app/, devkit/, bench/, models/build/, deploy/*.py and tests/ (config in pyproject.toml)
# Every step says what it does and why before doing it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BUILD_VENV := .venv-build
SHARED ?= $(abspath ../shared)
# The offline mirror of URL-pinned model files when present; otherwise the build downloads the pinned URLs.
export FACESEAL_MODEL_MIRROR ?= $(wildcard $(SHARED)/model-sources)
export FACESEAL_SHARED ?= $(SHARED)
export FACESEAL_BUILD_PYTHON ?= $(abspath $(BUILD_VENV))/bin/python
KEYS_FILE ?= .faceseal/api-keys.json
HOST ?= 127.0.0.1
PORT ?= 8000
PIP_QUIET ?= --quiet --disable-pip-version-check
CHECK_PATHS := app devkit bench tests models/build $(wildcard deploy/*.py)

.PHONY: run test test-fast check prerequisites venv build-env models dev-key image bench scale-demo clean

$(VENV)/.installed: requirements/dev.lock pyproject.toml
	@echo "==> installing Python dependencies into $(VENV) (first run, or requirements/dev.lock or pyproject.toml changed; ~1 min)"
	@$(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install $(PIP_QUIET) --require-hashes -r requirements/dev.lock
	@$(VENV)/bin/pip install $(PIP_QUIET) --no-deps --no-build-isolation -e .
	@touch $@

$(BUILD_VENV)/.installed: requirements/build.lock pyproject.toml
	@echo "==> installing the model build environment into $(BUILD_VENV) (first run, or requirements/build.lock changed)"
	@$(PYTHON) -m venv $(BUILD_VENV)
	@$(BUILD_VENV)/bin/pip install $(PIP_QUIET) --require-hashes -r requirements/build.lock
	@$(BUILD_VENV)/bin/pip install $(PIP_QUIET) --no-deps --no-build-isolation -e .
	@touch $@

venv: $(VENV)/.installed
build-env: $(BUILD_VENV)/.installed

# Rebuild only when the artifacts on disk do not pass the integrity gate.
models: venv
	@echo "==> checking the models on disk against the signed lock (models/models.lock), as the service does at start"
	@$(VENV)/bin/faceseal models verify >/dev/null 2>&1 || { \
	  echo "==> models on disk do not pass the integrity gate (first run, or changed): rebuilding them from the pinned sources (~2 min)"; \
	  $(MAKE) --no-print-directory build-env && $(VENV)/bin/faceseal models build; }
	@$(VENV)/bin/faceseal models verify

# The file holds only SHA-256 digests of 256-bit random keys, nothing a reader could authenticate with,
# so it is world-readable (writable by its owner only): the container's UID 10001 reads the bind mount.
dev-key: venv
	@if test -s $(KEYS_FILE); then echo "==> API keys from $(KEYS_FILE) (made on the first run; delete it for a new 'dev' key)"; \
	 else echo "==> first run: creating an API key for client 'dev' in $(KEYS_FILE) (shown once):"; \
	   $(VENV)/bin/faceseal keys create dev --file $(KEYS_FILE); fi
	@chmod 0644 $(KEYS_FILE)

run: models dev-key
	@echo "==> serving on http://$(HOST):$(PORT) (Ctrl-C stops)"
	@FACESEAL_API_KEYS_FILE=$(KEYS_FILE) $(VENV)/bin/faceseal serve --host $(HOST) --port $(PORT)

# Before anything else, so a machine that lacks a package stops with one line saying which, not minutes later.
prerequisites:
	@devkit/prerequisites.sh

# The build environment too: tests/build rebuilds the models from scratch with it. The checks first: seconds.
test: prerequisites
	@$(MAKE) --no-print-directory check models build-env
	@echo "==> running the whole test suite (tests/README.md: every folder, Docker included; ~10 min on 2 cores)"
	$(VENV)/bin/python -m pytest

test-fast: models
	@echo "==> running tests/unit, tests/repo and tests/api (in-process; no Docker, no server process)"
	$(VENV)/bin/python -m pytest tests/unit tests/repo tests/api

check: venv
	@echo "==> ruff: lint $(CHECK_PATHS)"
	$(VENV)/bin/ruff check $(CHECK_PATHS)
	@echo "==> mypy: type-check the same files (pydantic plugin)"
	$(VENV)/bin/mypy $(CHECK_PATHS)

# The sealed image, pushed to the loopback registry (left running: docker/registry.sh stop), signed and
# pulled back through the signature policy; see docs/OPERATIONS.md, "Release and verify".
image: models
	docker/registry.sh start
	VENV=$(VENV) docker/build-image.sh
	docker/release.sh

# Three replicas of the signed release behind Debian's HAProxy, Prometheus scraping each, under a steady load:
# one killed, all replaced one by one, a tampered one never ready (docs/KUBERNETES.md; ~2 minutes).
scale-demo: image
	$(VENV)/bin/python -m deploy.scale --image "$$(sed -n 's/^FACESEAL_IMAGE=//p' build/release/compose.env)"

bench: models
	$(VENV)/bin/python -m bench.floor
	$(VENV)/bin/python -m bench.load

clean:
	rm -rf $(VENV) $(BUILD_VENV) models/*.onnx .pytest_cache .hypothesis .mypy_cache .ruff_cache
