"""The model build: bit-reproducible from scratch, and no unverified byte is ever used.

Runs the real build (pip + tf2onnx + onnx) in the build environment, as `faceseal models build` does.
"""

import re
import shutil
from pathlib import Path

from app.integrity.lockfile import ModelLock
from devkit.model_build import run_build
from devkit.paths import MODELS, SHARED


def test_two_builds_from_scratch_are_bit_identical_and_match_the_lock(tmp_path: Path) -> None:
    lock = ModelLock.model_validate_json((MODELS / "models.lock").read_bytes())
    digests = []
    for run in ("first", "second"):
        result = run_build(tmp_path / run)
        assert result.returncode == 0, result.stderr[-3000:]
        digests.append({entry.file: (tmp_path / run / entry.file).read_bytes() for entry in lock.models})
    assert digests[0] == digests[1]
    assert "models build ok" in result.stdout


def _sources_with(tmp_path: Path, old: str, new: str) -> Path:
    text = (MODELS / "sources.toml").read_text()
    assert old in text
    sources = tmp_path / "sources.toml"
    sources.write_text(text.replace(old, new, 1))
    return sources


LIVENESS_PIN = "af2381b88f38769222ed93379e12444e2a50814575de1c46170de570c55a42b6"


def test_wrong_pinned_digest_is_rejected_before_any_transform(tmp_path: Path) -> None:
    result = run_build(tmp_path / "out", sources=_sources_with(tmp_path, LIVENESS_PIN, "0" * 64))
    assert result.returncode != 0 and "0" * 64 in result.stderr
    assert not list((tmp_path / "out").glob("*.onnx"))  # nothing built: sources are all checked first


def test_tampered_mirror_file_is_never_used(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(SHARED / "model-sources", mirror)
    target = mirror / "minifasnetv2se-98.20.onnx"
    target.chmod(0o644)
    data = bytearray(target.read_bytes())
    data[1000] ^= 0x01
    target.write_bytes(bytes(data))
    result = run_build(tmp_path / "out", mirror=mirror)
    assert result.returncode != 0 and LIVENESS_PIN in result.stderr
    assert not list((tmp_path / "out").glob("*.onnx"))


def test_pypi_distribution_with_a_wrong_digest_is_rejected(tmp_path: Path) -> None:
    pinned = "c787987bf236f9f714c69eff3f641dba49b4c552590f82456d813a18ac842655"
    sources = _sources_with(tmp_path, pinned, "1" * 64)
    result = run_build(tmp_path / "out", sources=sources)
    assert result.returncode != 0
    assert re.search(r"(?i)hash", result.stderr + result.stdout)
    assert not list((tmp_path / "out").glob("*.onnx"))


def test_a_misspelt_transform_is_refused_before_anything_is_fetched_or_built(tmp_path: Path) -> None:
    sources = _sources_with(tmp_path, 'transform = "unfused_prelu"', 'transform = "unfused_prelus"')
    result = run_build(tmp_path / "out", sources=sources)
    assert result.returncode != 0 and "unknown transform ['unfused_prelus']" in result.stderr
    assert not list((tmp_path / "out").glob("*.onnx"))
