"""The PRelu rewrite (models/build/rewrites.py) changes how fast the liveness models run, never what they say."""

from pathlib import Path

import cv2
import numpy as np

from app.inference.pipeline import Pipeline
from app.integrity.digests import sha256_bytes
from app.integrity.gate import SealedSet
from app.integrity.kat import kat_input
from app.integrity.runtime import new_session
from devkit.model_build import run_build
from devkit.paths import DATA, MODELS

# The first two captures of each folder of each liveness source: real and attack, webcam, phone, print, screen.
SAMPLES = [path for folder in sorted(DATA.glob("liveness-dev*/*/*/")) for path in sorted(folder.glob("*.*g"))[:2]]


def _without_rewrite(tmp_path: Path) -> Path:
    """The models built as before the rewrite: the same sources, their transforms minus `unfused_prelu`."""
    text = (MODELS / "sources.toml").read_text()
    assert text.count("unfused_prelu") == 3
    sources = tmp_path / "sources.toml"
    sources.write_text(text.replace('"unfused_prelu"', '"none"').replace("+unfused_prelu", ""))
    lock = tmp_path / "models.lock"
    lock.write_bytes((MODELS / "models.lock").read_bytes())
    result = run_build(tmp_path / "out", "--update-lock", sources=sources, lock=lock)
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp_path / "out"


def test_liveness_models_give_the_prelu_graphs_logits_bit_for_bit(tmp_path: Path, sealed: SealedSet,
                                                                   pipeline: Pipeline) -> None:
    assert len(SAMPLES) >= 30
    frames = []
    for path in SAMPLES:
        rgb = cv2.imread(str(path), cv2.IMREAD_COLOR_RGB)
        assert rgb is not None, path
        frames += [(rgb, face) for face in pipeline.finder.find(rgb)[:1]]
    assert len(frames) >= 25
    plain_dir = _without_rewrite(tmp_path)
    for served, model in zip(sealed.by_role("liveness"), pipeline.liveness.models, strict=True):
        plain_bytes = (plain_dir / served.entry.file).read_bytes()
        assert sha256_bytes(plain_bytes) != served.entry.sha256  # another graph ...
        plain = new_session(plain_bytes, threads=1)
        crops = [model.crop(rgb, face) for rgb, face in frames]
        kat = served.entry.kat
        for feed in (model.feed(crops + [crop[:, ::-1] for crop in crops]),
                     kat_input(kat.input_shape, kat.input_low, kat.input_high)):
            name = served.entry.preprocessing.input_name
            (expected,) = plain.run(None, {name: feed})
            (actual,) = served.session.run(None, {name: feed})
            assert np.array_equal(actual, expected), served.entry.name  # ... the same numbers
