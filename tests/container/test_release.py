"""The signed release: skopeo pulls through the release's policy.json only an image whose digest the
release key signed. docker/release.sh pushed, signed and verified once (the session's `release`)."""

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from devkit.containers import Registry, Release, docker
from devkit.paths import MODELS

MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"  # what docker push writes
pytestmark = pytest.mark.docker


def skopeo(release: Release, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["skopeo", "--registries.d", str(release.directory / "registries.d"), *args],
                          capture_output=True, text=True, timeout=300)


def pull_through_policy(release: Release, reference: str, into: Path) -> subprocess.CompletedProcess[str]:
    return skopeo(release, "--policy", str(release.directory / "policy.json"), "copy", "--quiet",
                  "--src-tls-verify=false", f"docker://{reference}", f"dir:{into}")


def variant(registry: Registry, image: str, name: str) -> str:
    """The release image with one more label, pushed: the same files under a digest nobody signed."""
    tag = f"{registry.address}/faceseal:{name}"
    build = subprocess.run(["docker", "build", "--quiet", "--tag", tag, "-"],
                           input=f"FROM {image}\nLABEL variant={name}\n",
                           env={**os.environ, "DOCKER_BUILDKIT": "0"}, capture_output=True, text=True, timeout=120)
    assert build.returncode == 0, build.stderr
    docker("push", tag)
    return tag


def test_the_release_pulls_through_the_policy_and_pins_the_models(release: Release, registry: Registry,
                                                                 tmp_path: Path) -> None:
    assert release.reference.startswith(f"{registry.address}/faceseal@sha256:")
    assert f"released {release.reference}" in release.output
    policy = json.loads((release.directory / "policy.json").read_text())
    assert policy["default"] == [{"type": "reject"}]
    assert [r["type"] for r in policy["transports"]["docker"][f"{registry.address}/faceseal"]] == ["signedBy"]
    pulled = pull_through_policy(release, release.reference, tmp_path / "pulled")
    assert pulled.returncode == 0, pulled.stderr
    # The signed manifest names the config, whose label pins the model lock: one signature for code and models.
    manifest = json.loads((tmp_path / "pulled/manifest.json").read_text())
    config = json.loads((tmp_path / "pulled" / manifest["config"]["digest"].split(":")[1]).read_text())
    lock_sha256 = hashlib.sha256((MODELS / "models.lock").read_bytes()).hexdigest()
    assert config["config"]["Labels"]["faceseal.models.lock.sha256"] == lock_sha256
    # Docker knows the pushed digest, so compose and `docker run` use it without a pull.
    docker("image", "inspect", release.reference)


def test_an_unsigned_image_is_refused(release: Release, registry: Registry, image: str, tmp_path: Path) -> None:
    refused = pull_through_policy(release, variant(registry, image, "unsigned"), tmp_path / "pulled")
    assert refused.returncode != 0
    assert "A signature was required, but no signature exists" in refused.stderr


def test_an_image_signed_by_another_key_is_refused(release: Release, registry: Registry, image: str,
                                                   tmp_path: Path) -> None:
    tag = variant(registry, image, "other-key")
    gnupg = tmp_path / "gnupg"
    gnupg.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(gnupg)}
    try:
        subprocess.run(["gpg", "--batch", "--quiet", "--passphrase", "", "--quick-gen-key",
                        "someone else <other@faceseal.invalid>", "ed25519", "sign", "never"], env=env, check=True)
        listing = subprocess.run(["gpg", "--quiet", "--with-colons", "--list-secret-keys"], env=env, check=True,
                                 capture_output=True, text=True).stdout
        fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
        signed = subprocess.run(["skopeo", "--registries.d", str(release.directory / "registries.d"), "copy", "--quiet",
                                 "--src-tls-verify=false", "--dest-tls-verify=false", "--sign-by", fingerprint,
                                 f"docker://{tag}", f"docker://{tag}"], env=env, capture_output=True, text=True)
        assert signed.returncode == 0, signed.stderr
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False)
    refused = pull_through_policy(release, tag, tmp_path / "pulled")
    assert refused.returncode != 0 and "Invalid GPG signature" in refused.stderr


def test_a_manifest_changed_after_signing_is_refused(release: Release, registry: Registry, image: str,
                                                     tmp_path: Path) -> None:
    """Someone who can write to the registry and to the signature store points the released tag at a
    manifest naming another config (entrypoint, environment, labels), and copies the signature to its
    digest: the signature names the original digest, so the pull is refused."""
    other = variant(registry, image, "swapped-config")
    version = docker("image", "inspect", "-f", '{{index .Config.Labels "org.opencontainers.image.version"}}',
                     image).stdout.strip()
    api = f"http://{registry.address}/v2/faceseal/manifests"
    signed_digest = release.reference.split("@")[1]
    manifest = httpx.get(f"{api}/{signed_digest}", headers={"Accept": MANIFEST}).json()
    manifest["config"] = httpx.get(f"{api}/{other.split(':')[-1]}", headers={"Accept": MANIFEST}).json()["config"]
    put = httpx.put(f"{api}/{version}", content=json.dumps(manifest), headers={"Content-Type": MANIFEST})
    assert put.status_code == 201, put.text
    signatures = release.directory / "signatures"
    forged = signatures / f"faceseal@{put.headers['Docker-Content-Digest'].replace(':', '=')}"
    forged.mkdir()
    shutil.copy(signatures / f"faceseal@{signed_digest.replace(':', '=')}" / "signature-1", forged / "signature-1")
    refused = pull_through_policy(release, f"{registry.address}/faceseal:{version}", tmp_path / "pulled")
    assert refused.returncode != 0
    assert f"Signature for digest {signed_digest} does not match" in refused.stderr
