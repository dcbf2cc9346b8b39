#!/usr/bin/env bash
# Build the sealed image hermetically: wheels and models are prepared on the host and verified,
# then `docker build --network none` runs with the lock digest pinned as a build argument.
#   docker/build-image.sh [TAG]          (default faceseal:latest; needs `make models` first)
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-faceseal:latest}
venv=${VENV:-.venv}
base=${BASE_IMAGE:-faceseal-base:bookworm}

[ "$base" = faceseal-base:bookworm ] && docker/base/build-base.sh "$base"
"$venv/bin/faceseal" models verify >/dev/null   # the host artifacts pass the gate before they are copied

mkdir -p wheelhouse build
"$venv/bin/pip" download --quiet --disable-pip-version-check --require-hashes --only-binary=:all: \
  -r requirements/runtime.lock -d wheelhouse
"$venv/bin/cyclonedx-py" requirements requirements/runtime.lock --pyproject pyproject.toml --of JSON --output-reproducible -o build/sbom.cdx.json

lock_sha256=$(sha256sum models/models.lock | cut -d' ' -f1)
min_lock_version=$("$venv/bin/python" -c 'import json; print(json.load(open("app/integrity/trust.json"))["min_lock_version"])')
DOCKER_BUILDKIT=0 docker build --network none --file docker/Dockerfile --tag "$tag" \
  --build-arg BASE_IMAGE="$base" \
  --build-arg LOCK_SHA256="$lock_sha256" \
  --build-arg MIN_LOCK_VERSION="$min_lock_version" \
  --build-arg VERSION="$("$venv/bin/python" -c 'import app; print(app.__version__)')" \
  --build-arg REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  --build-arg CREATED="$(git log -1 --format=%cI 2>/dev/null || date -u +%FT%TZ)" \
  .
echo "built $tag (models.lock $lock_sha256)"
