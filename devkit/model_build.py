"""The real model build (`python -m models.build`) run in the build environment, as `faceseal models build` runs it."""

import os
import subprocess
from pathlib import Path

from devkit.paths import MODELS, REPO, SHARED

BUILD_PYTHON = Path(os.environ.get("FACESEAL_BUILD_PYTHON", REPO / ".venv-build/bin/python"))


def run_build(models_dir: Path, *extra: str, sources: Path | None = None, mirror: Path = SHARED / "model-sources",
              lock: Path = MODELS / "models.lock") -> subprocess.CompletedProcess[str]:
    """Build every model into `models_dir` from the offline mirror; checked against `lock` unless `extra` says
    `--update-lock`."""
    if not BUILD_PYTHON.exists():
        raise FileNotFoundError(f"build environment missing at {BUILD_PYTHON}: `make build-env` creates it")
    command = [str(BUILD_PYTHON), "-m", "models.build", "--models-dir", str(models_dir), "--mirror", str(mirror),
               "--lock", str(lock), *extra]
    if sources is not None:
        command += ["--sources", str(sources)]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
