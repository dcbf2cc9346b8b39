"""The suite `make test` runs is the whole suite: no test folder is skipped by a collection default."""

import re
import subprocess
import sys

import pytest

from devkit.paths import REPO


def collect(*paths: str) -> tuple[list[str], int]:
    """Test ids `pytest --collect-only` lists (from the repository, as `make test` runs it) and the count it reports."""
    listed = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *paths],
                            cwd=REPO, capture_output=True, text=True, timeout=120).stdout
    summary = re.search(r"^(\d+) tests? collected", listed, re.MULTILINE)
    assert summary, listed[-2000:]
    return [line for line in listed.splitlines() if "::" in line], int(summary.group(1))


@pytest.fixture(scope="module")
def whole_suite() -> tuple[list[str], int]:
    return collect()


def test_every_test_folder_is_collected(whole_suite: tuple[list[str], int]) -> None:
    ids, _ = whole_suite
    folders = {test_id.split("::")[0].rsplit("/", 1)[0] for test_id in ids}
    expected = {str(path.parent.relative_to(REPO)) for path in (REPO / "tests").rglob("test_*.py")
                if "node_modules" not in path.parts}
    assert expected - folders == set()
    assert {"tests/build", "tests/unit", "tests/api", "tests/server", "tests/e2e", "tests/container"} <= folders


def test_the_reported_count_includes_the_model_build(whole_suite: tuple[list[str], int]) -> None:
    ids, count = whole_suite
    build_ids, build_count = collect("tests/build")
    assert build_count > 0 and build_ids == [i for i in ids if i.startswith("tests/build/")]
    assert count == len(ids)
