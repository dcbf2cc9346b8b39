"""YuNet's decoding, on the real sealed model and real dev images: the faces a reference route finds."""

import cv2
import numpy as np
import pytest

from app.inference.pipeline import Pipeline
from app.inference.yunet import YuNetDetector
from app.integrity.gate import SealedSet
from devkit.paths import DATA, VERIFY_IMAGES

# Portraits, a phone photo, a group photo, LFW and bbt faces: the kinds of reference the dev data holds.
IMAGES = ["img1.jpg", "img2.jpg", "img20.jpg", "img38.jpg", "couple.jpg", "selfie-many-people.jpg"]
IDENTITY_IMAGES = ["lfw10/Ariel_Sharon/Ariel_Sharon_0001.jpg", "lfw10/Tony_Blair/Tony_Blair_0001.jpg",
                   "bbt/penny/penny1.png", "bbt/sheldon/sheldon1.png"]


def rgb_of(relative: str) -> np.ndarray:
    path = VERIFY_IMAGES / relative if "/" not in relative else DATA / "verify-dev" / relative
    image = cv2.imread(str(path))
    if image is None:
        pytest.fail(f"dev image missing: {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize("name", IMAGES + IDENTITY_IMAGES)
def test_yunet_finds_the_face_with_centerfaces_landmark_order_and_boxes_inside_the_image(
    pipeline: Pipeline, name: str
) -> None:
    """YuNet's five landmarks on the largest face come in CenterFace's order (eye on the image's left
    first, other eye, nose, mouth left, mouth right) and lie close to CenterFace's on that person: the
    aligner and the quality gates read them by position."""
    rgb = rgb_of(name)
    height, width = rgb.shape[:2]
    faces = pipeline.reference_finder.detector.detect(rgb, 320)
    assert faces
    for face in faces:
        assert 0 <= face.box[0] < face.box[2] <= width and 0 <= face.box[1] < face.box[3] <= height
        assert face.score >= 0.6
    yunet = max(faces, key=lambda f: f.area)
    centre = (yunet.box[:2] + yunet.box[2:]) / 2  # the same person's face by CenterFace (in a couple, the other
    centerface = min(pipeline.finder.find(rgb),  # may be the larger by a few pixels)
                     key=lambda f: float(np.linalg.norm((f.box[:2] + f.box[2:]) / 2 - centre)))
    left_eye, right_eye, nose, mouth_left, mouth_right = yunet.landmarks
    assert left_eye[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])

    def error(order: list[int]) -> float:  # mean distance to CenterFace's landmarks, in its eye distances
        offsets = yunet.landmarks[order] - centerface.landmarks
        return float(np.linalg.norm(offsets, axis=1).mean()) / centerface.eye_distance

    assert error([0, 1, 2, 3, 4]) < 0.5  # over the 201 dev references: mean 0.13, 95th percentile 0.42
    assert error([0, 1, 2, 3, 4]) < error([1, 0, 2, 4, 3])  # not mirrored


def test_a_group_photo_gives_every_face_once(pipeline: Pipeline) -> None:
    """NMS keeps one box per person: no two kept boxes overlap by the NMS threshold."""
    faces = pipeline.reference_finder.detector.detect(rgb_of("selfie-many-people.jpg"), 320)
    assert len(faces) > 2
    for i, a in enumerate(faces):
        for b in faces[i + 1:]:
            x1, y1 = np.maximum(a.box[:2], b.box[:2])
            x2, y2 = np.minimum(a.box[2:], b.box[2:])
            inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
            assert inter / (a.area + b.area - inter) < 0.3


def test_the_score_threshold_is_honoured(sealed: SealedSet) -> None:
    """A higher threshold keeps a subset of the same faces, unchanged."""
    (model,) = sealed.by_role("reference-detector")
    rgb = rgb_of("selfie-many-people.jpg")
    loose = YuNetDetector(model.session, model.entry, 0.6).detect(rgb, 320)
    strict = YuNetDetector(model.session, model.entry, 0.9).detect(rgb, 320)
    assert 0 < len(strict) < len(loose) and all(face.score >= 0.9 for face in strict)
    assert {face.score for face in strict} <= {face.score for face in loose}


def test_the_image_is_fed_at_the_long_side_asked_for_padded_to_multiples_of_32(sealed: SealedSet) -> None:
    (model,) = sealed.by_role("reference-detector")
    shapes: list[tuple[int, ...]] = []

    class Recording:
        def run(self, names: list[str], feed: dict[str, np.ndarray]) -> list[np.ndarray]:
            (blob,) = feed.values()
            shapes.append(blob.shape)
            return model.session.run(names, feed)

    detector = YuNetDetector(Recording(), model.entry, 0.6)
    detector.detect(np.zeros((300, 500, 3), np.uint8), 320)  # resized to 320x192: already multiples of 32
    detector.detect(np.zeros((500, 333, 3), np.uint8), 320)  # resized to 213x320, padded to 224x320
    assert shapes == [(1, 3, 192, 320), (1, 3, 320, 224)]
