"""One loopback registry, one image build and one signed release shared by every container test.

devkit/prerequisites.sh installs docker.io, docker-registry, skopeo and gnupg and starts dockerd; these
fixtures start the registry themselves (a free 127.0.0.1 port, storage in a temporary directory) and remove it after.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.containers import IMAGE, Registry, Release, docker, run_script
from devkit.server import free_port


@pytest.fixture(scope="session")
def registry() -> Iterator[Registry]:
    if shutil.which("docker") is None or subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        pytest.fail("no Docker engine: devkit/prerequisites.sh installs docker.io and starts dockerd")
    address = f"127.0.0.1:{free_port()}"
    root = tempfile.mkdtemp(prefix="faceseal-registry-")
    env = {**os.environ, "REGISTRY": address, "REGISTRY_ROOT": root, "VENV": str(Path(sys.executable).parents[1])}
    run_script("docker/registry.sh", "start", env=env, timeout=60)
    yield Registry(address, env)
    run_script("docker/registry.sh", "stop", env=env, timeout=60)
    shutil.rmtree(root)
    # The pushes left local names for this registry (REGISTRY/faceseal:0.1.0, its digest...): drop the names only.
    names = docker("image", "ls", "--digests", "--format", "{{.Repository}}:{{.Tag}} {{.Repository}}@{{.Digest}}",
                   "--filter", f"reference={address}/*").stdout.split()
    docker("rmi", *sorted({n for n in names if "<none>" not in n}), check=False)


@pytest.fixture(scope="session")
def image(registry: Registry) -> str:
    started = time.monotonic()
    output = run_script("docker/build-image.sh", IMAGE, env=registry.env)
    print(f"\nimage build {time.monotonic() - started:.1f} s: {output.strip()}")
    return IMAGE


@pytest.fixture(scope="session")
def release(registry: Registry, image: str) -> Iterator[Release]:
    directory = Path(tempfile.mkdtemp(prefix="faceseal-release-"))
    started = time.monotonic()
    output = run_script("docker/release.sh", image, env={**registry.env, "RELEASE_DIR": str(directory)})
    print(f"\nrelease {time.monotonic() - started:.1f} s")
    reference = (directory / "compose.env").read_text().strip().removeprefix("FACESEAL_IMAGE=")
    yield Release(reference, directory, output)
    shutil.rmtree(directory)
