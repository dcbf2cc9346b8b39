"""Every test the documentation cites as evidence exists where it says: a file moved or a test renamed would
otherwise leave the threat model pointing at nothing."""

import re

from devkit.paths import REPO

DOCS = [REPO / "README.md", REPO / "tests" / "README.md", *sorted((REPO / "docs").glob("*.md"))]
CITED = re.compile(r"(tests/[\w/]+\.py)(?:::(test_\w+))?")
BARE = re.compile(r"`(test_\w+)`")  # a test named without its file


def defined_tests() -> dict[str, set[str]]:
    """Test function name -> the files (relative to the repository) that define it."""
    where: dict[str, set[str]] = {}
    for path in (REPO / "tests").rglob("test_*.py"):
        for name in re.findall(r"^(?:async )?def (test_\w+)", path.read_text(), re.MULTILINE):
            where.setdefault(name, set()).add(str(path.relative_to(REPO)))
    return where


def test_every_cited_test_file_and_function_exists() -> None:
    where = defined_tests()
    missing = []
    for doc in DOCS:
        text = doc.read_text()
        for path, name in CITED.findall(text):
            if not (REPO / path).is_file() or (name and path not in where.get(name, set())):
                missing.append(f"{doc.relative_to(REPO)}: {path}{'::' + name if name else ''}")
        missing += [f"{doc.relative_to(REPO)}: {name}" for name in BARE.findall(text) if name not in where]
    assert missing == []
