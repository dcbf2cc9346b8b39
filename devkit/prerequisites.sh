#!/usr/bin/env bash
# What the whole test suite needs besides the Python packages `make` installs into .venv, on Debian 12:
# the Debian packages below, installed with apt when missing, and a Docker engine, started when none answers.
# `make test` runs this first. As root it installs and starts what is missing; as any other user it changes
# nothing and, when something is missing, prints one line naming it and the command that fixes it, exit 1.
set -euo pipefail

# "command package: what needs it"
NEEDS=(
  "python3 python3: the interpreter make builds .venv with"
  "dockerd docker.io: the Docker engine (tests/container)"
  "docker-compose docker-compose: the compose stack test"
  "debootstrap debootstrap: the image's base filesystem (docker/build-image.sh)"
  "docker-registry docker-registry: the loopback registry the release is pushed to and pulled from"
  "skopeo skopeo: signing the release and pulling it through the signature policy"
  "gpg gnupg: the release keys"
  "runsc runsc: the gVisor container test"
  "haproxy haproxy: the load balancer of the three-replica test"
  "prometheus prometheus: the scrape test (promtool checks metrics and alert rules)"
  "chromium chromium: /docs rendered in a headless browser (tests/server/test_docs.py)"
  "node nodejs: the generated TypeScript client (tests/server/test_clients.py)"
  "npm npm: the TypeScript client's pinned dependencies (npm ci)"
  "curl curl: the docker/ scripts"
)

missing=()
for need in "${NEEDS[@]}"; do
  read -r command package _ <<<"$need"
  command -v "$command" >/dev/null || missing+=("${package%:}")
done
# python3 -m venv needs ensurepip, which Debian ships apart from python3.
if ! python3 -c "import ensurepip" 2>/dev/null; then
  missing+=(python3-venv)
fi

is_root() { [ "$(id -u)" -eq 0 ]; }

if [ ${#missing[@]} -gt 0 ]; then
  if ! is_root; then
    echo "faceseal tests need Debian packages that are missing: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "==> installing the Debian packages the test suite needs and this machine lacks: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# A Docker engine for the container tests. No bridge, no iptables: the containers use the host's network or none.
if ! docker info >/dev/null 2>&1; then
  if ! is_root; then
    echo "faceseal's container tests need a Docker engine and none answers to this user (docker info fails); start one with: sudo dockerd --bridge=none --iptables=false &" >&2
    exit 1
  fi
  log=/tmp/faceseal-dockerd.log
  echo "==> no Docker engine answers: starting dockerd --bridge=none --iptables=false (log: $log)"
  setsid dockerd --bridge=none --iptables=false </dev/null >"$log" 2>&1 &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  if ! docker info >/dev/null 2>&1; then
    echo "dockerd did not answer within 60 s; its log ($log) ends with:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
fi
echo "==> test prerequisites present: ${#NEEDS[@]} Debian tools and a Docker engine"
