"""bandit finds nothing in the service or the model build (exceptions are annotated in place)."""

import subprocess
import sys
from pathlib import Path

from devkit.paths import REPO


def test_bandit_is_clean() -> None:
    bandit = Path(sys.executable).with_name("bandit")
    result = subprocess.run([str(bandit), "-q", "-r", "app", "models"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
