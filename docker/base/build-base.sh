#!/usr/bin/env bash
# Build the base image locally from Debian packages (no public registry is reachable here);
# docker/build-image.sh pushes it to the loopback registry and builds FROM it by digest.
#   docker/base/build-base.sh [TAG]      (default tag: faceseal-base:bookworm)
set -euo pipefail
tag=${1:-faceseal-base:bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag already present"; exit 0
fi
root=$(mktemp -d /tmp/faceseal-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
# minbase + exactly what the runtime needs: CPython 3.11 (venv for the deps stage), C++ and OpenMP runtimes.
debootstrap --variant=minbase --include=python3,python3-venv,libstdc++6,libgomp1 bookworm "$root" "$mirror"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/log/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
tar -C "$root" -c . | docker import \
  --change 'ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' - "$tag"
docker image inspect "$tag" --format '{{.Id}} {{.Size}}'
