#!/usr/bin/env bash
# Build the sealed image hermetically: wheels and models are prepared on the host and verified, the base
# image is pushed to the local registry and named by its digest, then `docker build --network none` runs
# with the lock digest pinned as a build argument. Prints the image's digest (its ID: the SHA-256 of its
# config, which names every layer); docker/release.sh pushes and signs it.
#   docker/build-image.sh [TAG]    (default faceseal:latest; needs `make models` and a registry:
#                                   docker/registry.sh start, at REGISTRY, default 127.0.0.1:5000)
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-faceseal:latest}
venv=${VENV:-.venv}
registry=${REGISTRY:-127.0.0.1:5000}

curl -sf "http://$registry/v2/" >/dev/null || { echo "no registry at $registry: run docker/registry.sh start" >&2; exit 1; }
docker/base/build-base.sh faceseal-base:bookworm >/dev/null
"$venv/bin/faceseal" models verify >/dev/null   # the host artifacts pass the gate before they are copied

mkdir -p wheelhouse build
"$venv/bin/pip" download --quiet --disable-pip-version-check --require-hashes --only-binary=:all: \
  -r requirements/runtime.lock -d wheelhouse
"$venv/bin/cyclonedx-py" requirements requirements/runtime.lock --pyproject pyproject.toml --of JSON --output-reproducible -o build/sbom.cdx.json

# docker push prints the manifest digest; the push also records it locally, so FROM needs no pull.
docker tag faceseal-base:bookworm "$registry/faceseal-base:bookworm"
base_digest=$(docker push "$registry/faceseal-base:bookworm" | awk '/digest: sha256:/{print $3}')
: "${base_digest:?docker push printed no digest}"

previous=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
lock_sha256=$(sha256sum models/models.lock | cut -d' ' -f1)
min_lock_version=$("$venv/bin/python" -c 'import json; print(json.load(open("app/integrity/trust.json"))["min_lock_version"])')
DOCKER_BUILDKIT=0 docker build --quiet --force-rm --network none --file docker/Dockerfile --tag "$tag" \
  --build-arg BASE_IMAGE="$registry/faceseal-base" \
  --build-arg BASE_DIGEST="$base_digest" \
  --build-arg LOCK_SHA256="$lock_sha256" \
  --build-arg MIN_LOCK_VERSION="$min_lock_version" \
  --build-arg VERSION="$("$venv/bin/python" -c 'import app; print(app.__version__)')" \
  --build-arg REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  --build-arg CREATED="$(git log -1 --format=%cI 2>/dev/null || date -u +%FT%TZ)" \
  . >/dev/null
# The legacy builder keeps each stage's last image untagged; only the tagged runtime image stays.
docker image prune --force --filter label=faceseal.build-stage=intermediate >/dev/null
# The image the tag named before is now untagged too: remove it, unless a container or another name uses it.
id=$(docker image inspect -f '{{.Id}}' "$tag")
[ -z "$previous" ] || [ "$previous" = "$id" ] || docker rmi "$previous" >/dev/null 2>&1 || true
echo "built $tag $id from $registry/faceseal-base@$base_digest (models.lock $lock_sha256)"
