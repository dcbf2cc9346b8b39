"""Every model wrapper refuses, at construction, a sealed contract value it does not implement.

Each case takes the real lock's contract and changes one field: the real one must be accepted, the
changed one refused with an error naming the model and the field.
"""

from collections.abc import Callable

import cv2
import pytest

from app.inference.contract import ContractError
from app.inference.detector import FaceDetector
from app.inference.embedder import FaceEmbedder
from app.inference.liveness import LivenessModel
from app.inference.yunet import YuNetDetector
from app.integrity.gate import LoadedModel, SealedSet
from app.integrity.lockfile import ModelEntry
from devkit.paths import VERIFY_IMAGES

WRAPPERS: dict[str, Callable[[LoadedModel, ModelEntry], object]] = {
    "detector": lambda model, entry: FaceDetector(model.session, entry, 0.5),
    "reference-detector": lambda model, entry: YuNetDetector(model.session, entry, 0.6),
    "embedder": lambda model, entry: FaceEmbedder(model.session, entry),
    "liveness": lambda model, entry: LivenessModel(model.session, entry),
}


def changed(entry: ModelEntry, **fields: object) -> ModelEntry:
    return entry.model_copy(update={"preprocessing": entry.preprocessing.model_copy(update=fields)})


@pytest.mark.parametrize(
    ("role", "field", "value"),
    [
        ("detector", "layout", "NHWC"),
        ("detector", "colour", "BGR"),
        ("detector", "mean", 127.5),
        ("detector", "std", 128.0),
        ("detector", "size", [640, 640]),
        ("detector", "input_name", "input"),
        ("detector", "outputs", {"537": "heatmap", "538": "box size", "539": "offset", "541": "landmarks"}),
        ("reference-detector", "layout", "NHWC"),
        ("reference-detector", "colour", "RGB"),
        ("reference-detector", "mean", 127.5),
        ("reference-detector", "std", 255.0),
        ("reference-detector", "size", [320, 320]),
        ("reference-detector", "crop_scale", 1.5),
        ("reference-detector", "input_name", "input.1"),
        ("reference-detector", "outputs", {**{f"{h}_{s}": h for h in ("cls", "obj", "bbox") for s in (8, 16, 32)},
                                           "kps_8": "kps", "kps_16": "kps", "landmarks_32": "kps"}),
        ("embedder", "colour", "BGR"),
        ("embedder", "layout", "NCHW"),
        ("embedder", "size", [112, 112]),
        ("embedder", "crop_mode", "reflect_pad"),
        ("embedder", "outputs", {"embeddings:0": "embedding", "extra": "another output"}),
        ("liveness", "layout", "NHWC"),
        ("liveness", "size", [80, 64]),
        ("liveness", "real_index", 3),
        ("liveness", "crop_scale", None),
    ],
)
def test_a_contract_value_the_wrapper_does_not_implement_is_refused(
    sealed: SealedSet, role: str, field: str, value: object
) -> None:
    for model in sealed.by_role(role):  # type: ignore[arg-type]
        WRAPPERS[role](model, model.entry)  # the sealed contract itself is accepted
        with pytest.raises(ContractError, match=model.entry.name) as refused:
            WRAPPERS[role](model, changed(model.entry, **{field: value}))
        assert field in str(refused.value) or "incomplete" in str(refused.value)


DETECTORS: dict[str, tuple[Callable[[LoadedModel, ModelEntry], FaceDetector | YuNetDetector], int]] = {
    "detector": (lambda model, entry: FaceDetector(model.session, entry, 0.5), 480),
    "reference-detector": (lambda model, entry: YuNetDetector(model.session, entry, 0.6), 320),
}


@pytest.mark.parametrize("role", DETECTORS)
def test_each_detector_reads_its_outputs_by_name_not_by_their_order_in_the_lock(sealed: SealedSet, role: str) -> None:
    (model,) = sealed.by_role(role)  # type: ignore[arg-type]
    wrapper, long_side = DETECTORS[role]
    reversed_outputs = dict(reversed(model.entry.preprocessing.outputs.items()))
    assert list(reversed_outputs) != list(model.entry.preprocessing.outputs)
    bgr = cv2.imread(str(VERIFY_IMAGES / "img1.jpg"))
    assert bgr is not None
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    sealed_faces = wrapper(model, model.entry).detect(rgb, long_side)
    reordered_faces = wrapper(model, changed(model.entry, outputs=reversed_outputs)).detect(rgb, long_side)
    assert len(sealed_faces) == 1
    assert [(f.box.tolist(), f.landmarks.tolist(), f.score) for f in reordered_faces] == \
        [(f.box.tolist(), f.landmarks.tolist(), f.score) for f in sealed_faces]
