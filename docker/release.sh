#!/usr/bin/env bash
# Push the built image to the local registry, sign its digest, and pull it back through a policy that
# requires that signature, as a deployment would.
#   docker/release.sh [IMAGE]    (default faceseal:latest; needs a registry: docker/registry.sh start)
# GPG "simple signing" (skopeo --sign-by): skopeo 1.9 can sign with a sigstore private key but cannot make
# one (that needs cosign, which Debian does not ship), while gpg makes and keeps keys.
# SIGN_BY=FINGERPRINT signs with that key from GNUPGHOME; without it, a throw-away key is made in a
# temporary GNUPGHOME and removed afterwards (its public half stays in the release directory).
# Writes RELEASE_DIR (default build/release): release-key.gpg, policy.json, registries.d/ (where the
# signatures live), signatures/, compose.env (FACESEAL_IMAGE=REPO@DIGEST for docker-compose --env-file).
set -euo pipefail
cd "$(dirname "$0")/.."
image=${1:-faceseal:latest}
registry=${REGISTRY:-127.0.0.1:5000}
out=$(realpath -m "${RELEASE_DIR:-build/release}")
repo=$registry/faceseal
label() { docker image inspect -f "{{index .Config.Labels \"$1\"}}" "$image"; }
version=$(label org.opencontainers.image.version)

curl -sf "http://$registry/v2/" >/dev/null || { echo "no registry at $registry: run docker/registry.sh start" >&2; exit 1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if [ -z "${SIGN_BY:-}" ]; then
  export GNUPGHOME=$scratch/gnupg
  mkdir -m 0700 "$GNUPGHOME"
  trap 'gpgconf --kill gpg-agent; rm -rf "$scratch"' EXIT   # gpg starts an agent for the key
  gpg --batch --quiet --passphrase '' --quick-gen-key "faceseal release <release@faceseal.invalid>" ed25519 sign never
  SIGN_BY=$(gpg --quiet --with-colons --list-secret-keys | awk -F: '/^fpr/ {print $10; exit}')
fi

rm -rf "$out" && mkdir -p "$out/registries.d" "$out/signatures"
gpg --quiet --export "$SIGN_BY" >"$out/release-key.gpg"
cat >"$out/registries.d/faceseal.yaml" <<EOF
docker:
  $repo:
    lookaside: file://$out/signatures
    lookaside-staging: file://$out/signatures
EOF
cat >"$out/policy.json" <<EOF
{
  "default": [{"type": "reject"}],
  "transports": {
    "docker": {
      "$repo": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "$out/release-key.gpg"}]
    }
  }
}
EOF
skopeo=(skopeo --registries.d "$out/registries.d")

# docker push records the registry digest locally too, so `docker run $repo@DIGEST` needs no pull.
docker tag "$image" "$repo:$version"
digest=$(docker push "$repo:$version" | awk '/digest: sha256:/{print $3}')
: "${digest:?docker push printed no digest}"
# Registry to registry, the manifest is copied byte for byte: the signature names the digest just pushed.
"${skopeo[@]}" copy --quiet --src-tls-verify=false --dest-tls-verify=false --sign-by "$SIGN_BY" \
  "docker://$repo@$digest" "docker://$repo:$version"
# The check a deployment makes: skopeo refuses the pull unless that key signed this digest.
"${skopeo[@]}" --policy "$out/policy.json" copy --quiet --src-tls-verify=false "docker://$repo@$digest" "dir:$scratch/pulled"

echo "FACESEAL_IMAGE=$repo@$digest" >"$out/compose.env"
echo "released $repo@$digest"
echo "signed by $SIGN_BY; models.lock $(label faceseal.models.lock.sha256)"
echo "verify with: skopeo --registries.d $out/registries.d --policy $out/policy.json copy --src-tls-verify=false docker://$repo@$digest dir:DIR"
