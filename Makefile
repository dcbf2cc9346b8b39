# faceseal entry points. The two that matter:
#   make run    install, build + verify the sealed models, serve on http://127.0.0.1:8000
#   make test   install, build + verify the models, run the whole test suite
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

.PHONY: run test venv build-env models verify-models dev-key wheelhouse image bench scale-demo clean

$(VENV)/.installed: requirements/dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_QUIET) --require-hashes -r requirements/dev.lock
	$(VENV)/bin/pip install $(PIP_QUIET) --no-deps --no-build-isolation -e .
	touch $@

$(BUILD_VENV)/.installed: requirements/build.lock pyproject.toml
	$(PYTHON) -m venv $(BUILD_VENV)
	$(BUILD_VENV)/bin/pip install $(PIP_QUIET) --require-hashes -r requirements/build.lock
	$(BUILD_VENV)/bin/pip install $(PIP_QUIET) --no-deps --no-build-isolation -e .
	touch $@

venv: $(VENV)/.installed
build-env: $(BUILD_VENV)/.installed

# Rebuild only when the artifacts on disk do not pass the integrity gate.
models: venv
	@$(VENV)/bin/faceseal models verify >/dev/null 2>&1 || { $(MAKE) build-env && $(VENV)/bin/faceseal models build; }
	$(VENV)/bin/faceseal models verify

# The file holds only SHA-256 digests of 256-bit random keys, nothing a reader could authenticate with,
# so it is world-readable (writable by its owner only): the container's UID 10001 reads the bind mount.
dev-key: venv
	@test -s $(KEYS_FILE) || { echo "API key for client 'dev' (shown once):"; $(VENV)/bin/faceseal keys create dev --file $(KEYS_FILE); }
	@chmod 0644 $(KEYS_FILE)

run: models dev-key
	FACESEAL_API_KEYS_FILE=$(KEYS_FILE) $(VENV)/bin/faceseal serve --host $(HOST) --port $(PORT)

test: models build-env
	$(VENV)/bin/python -m pytest

# The sealed image, pushed to the loopback registry (left running: docker/registry.sh stop), signed and
# pulled back through the signature policy; see README "Release and verify".
image: models
	docker/registry.sh start
	VENV=$(VENV) docker/build-image.sh
	docker/release.sh

# Three replicas of the signed release behind Debian's HAProxy, Prometheus scraping each, under a steady load:
# one killed, all replaced one by one, a tampered one never ready (README "Run on Kubernetes"; ~2 minutes).
scale-demo: image
	$(VENV)/bin/python -m deploy.scale --image "$$(sed -n 's/^FACESEAL_IMAGE=//p' build/release/compose.env)"

bench: models
	$(VENV)/bin/python -m bench.floor
	$(VENV)/bin/python -m bench.load

clean:
	rm -rf $(VENV) $(BUILD_VENV) models/*.onnx .pytest_cache .hypothesis
