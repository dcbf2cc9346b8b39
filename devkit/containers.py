"""Docker, the docker/ scripts and the release they make, for the container tests (needs a Docker engine:
devkit/prerequisites.sh starts one)."""

import subprocess
from dataclasses import dataclass
from pathlib import Path

from devkit.paths import REPO

IMAGE = "faceseal:latest"  # the name the README and docker/build-image.sh use


def docker(*args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result


def run_script(script: str, *args: str, env: dict[str, str], timeout: float = 1800) -> str:
    result = subprocess.run([str(REPO / script), *args], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@dataclass(frozen=True)
class Registry:
    address: str
    env: dict[str, str]  # REGISTRY (and VENV) for the docker/ scripts


@dataclass(frozen=True)
class Release:
    reference: str  # REGISTRY/faceseal@sha256:...
    directory: Path  # policy.json, registries.d/, signatures/, release-key.gpg, compose.env
    output: str
