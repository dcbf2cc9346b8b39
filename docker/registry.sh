#!/usr/bin/env bash
# A container registry on loopback for the build and the release: Debian's docker-registry (the CNCF
# distribution registry), plain HTTP, which Docker accepts for 127.0.0.0/8 and skopeo with --tls-verify=false.
#   docker/registry.sh start|stop    (REGISTRY, default 127.0.0.1:5000; storage under REGISTRY_ROOT,
#                                     default build/registry)
set -euo pipefail
cd "$(dirname "$0")/.."
address=${REGISTRY:-127.0.0.1:5000}
root=${REGISTRY_ROOT:-$PWD/build/registry}
case $address in 127.*) ;; *) echo "REGISTRY must be a loopback address, not $address" >&2; exit 2 ;; esac

case ${1:-} in
  start)
    if curl -sf "http://$address/v2/" >/dev/null; then echo "a registry already answers at $address"; exit 0; fi
    mkdir -p "$root"
    cat >"$root/config.yml" <<YAML
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $root/storage}}
http: {addr: $address}
YAML
    setsid docker-registry serve "$root/config.yml" >>"$root/registry.log" 2>&1 </dev/null &
    echo $! >"$root/pid"
    for _ in $(seq 100); do
      if curl -sf "http://$address/v2/" >/dev/null; then echo "registry on $address, storage $root/storage"; exit 0; fi
      sleep 0.1
    done
    echo "registry did not start on $address; see $root/registry.log" >&2; exit 1 ;;
  stop)
    kill "$(cat "$root/pid")" && rm "$root/pid" ;;
  *)
    echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
