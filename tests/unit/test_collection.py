"""The suite `make test` runs is the whole suite: no test folder is skipped by a collection default."""

import subprocess
import sys

from devkit.paths import REPO


def test_every_test_folder_is_collected() -> None:
    listed = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
                            cwd=REPO, capture_output=True, text=True, timeout=120).stdout
    folders = {line.split("/")[1] for line in listed.splitlines() if line.startswith("tests/")}
    expected = {path.name for path in (REPO / "tests").iterdir() if path.is_dir() and any(path.glob("test_*.py"))}
    assert expected <= folders and "build" in folders
