#!/usr/bin/env bash
# Package Debian's prometheus binary on the local base image for the compose stack (no registry needed).
#   docker/build-prometheus-image.sh [TAG]     (default faceseal-prometheus:local)
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-faceseal-prometheus:local}
binary=$(command -v prometheus) || { echo "install Debian's prometheus package first" >&2; exit 1; }
docker/base/build-base.sh >/dev/null
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$binary" "$context/prometheus"
DOCKER_BUILDKIT=0 docker build --quiet --network none --file docker/prometheus.Dockerfile --tag "$tag" "$context"
