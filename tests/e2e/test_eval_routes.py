"""Evaluation and calibration match each pair as a verify would: the first image as the selfie, the second
as the reference, each found by that side's detector route."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from app.eval.verify import evaluate_verify
from app.inference.analysis import Kind
from app.inference.pipeline import Pipeline
from devkit.paths import DATA


def test_each_pairs_first_image_is_embedded_as_a_selfie_and_its_second_as_a_reference(
    pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lfw = DATA / "verify-dev" / "lfw10"
    (tmp_path / "images").mkdir()
    for name in ("Tony_Blair_0001.jpg", "Tony_Blair_0002.jpg"):
        shutil.copy(lfw / "Tony_Blair" / name, tmp_path / "images" / name)
    shutil.copy(lfw / "Colin_Powell" / "Colin_Powell_0001.jpg", tmp_path / "images" / "Colin_Powell_0001.jpg")
    (tmp_path / "pairs.csv").write_text("file_x,file_y,Decision\nTony_Blair_0001.jpg,Tony_Blair_0002.jpg,Yes\n"
                                        "Tony_Blair_0002.jpg,Colin_Powell_0001.jpg,No\n")
    routes: list[tuple[str, Kind]] = []
    embed_face = pipeline.embed_face

    def recorded(image: bytes, kind: Kind, label: str = "image") -> np.ndarray | None:
        routes.append((label, kind))
        return embed_face(image, kind, label)

    monkeypatch.setattr(pipeline, "embed_face", recorded)
    report, (scores,) = evaluate_verify(pipeline, tmp_path)
    assert sorted(routes) == [("Colin_Powell_0001.jpg", "reference"), ("Tony_Blair_0001.jpg", "selfie"),
                              ("Tony_Blair_0002.jpg", "reference"), ("Tony_Blair_0002.jpg", "selfie")]
    assert report["images"] == 3 and report["images_without_face"] == {"selfie": [], "reference": []}
    assert (scores.genuine.size, scores.impostor.size) == (1, 1)
    # The image on both sides gives two embeddings, one per route, of the same face.
    selfie = pipeline.embed_face((tmp_path / "images" / "Tony_Blair_0002.jpg").read_bytes(), "selfie")
    reference = pipeline.embed_face((tmp_path / "images" / "Tony_Blair_0002.jpg").read_bytes(), "reference")
    assert selfie is not None and reference is not None
    assert 0.9 < float(np.dot(selfie, reference)) < 1.0
