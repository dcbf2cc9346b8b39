"""Post-detection suppression on synthetic boxes with known answers."""

import numpy as np

from app.inference.suppression import kept_faces, nms


def test_nms_keeps_the_best_of_overlapping_boxes_and_separate_ones() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], dtype=np.float32)
    scores = np.array([0.6, 0.9, 0.7], dtype=np.float32)
    assert nms(boxes, scores, 0.3) == [1, 2]


def test_kept_faces_come_best_first_in_image_pixels() -> None:
    """Found on an input half the image's width and a quarter of its height: x doubles, y quadruples."""
    boxes = np.array([[0.0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]])
    landmarks = np.arange(30, dtype=np.float64).reshape(3, 5, 2)
    faces = kept_faces(boxes, landmarks, np.array([0.6, 0.9, 0.7]), 0.3, (0.5, 0.25))
    assert [face.score for face in faces] == [0.9, 0.7]
    assert faces[0].box.tolist() == [2, 4, 22, 44]
    assert faces[1].landmarks[0].tolist() == [40, 84]  # landmark (20, 21) of the third box
    assert all(face.box.dtype == face.landmarks.dtype == np.float64 for face in faces)


def test_kept_boxes_are_clipped_to_the_input_after_suppression_when_asked() -> None:
    """Judged as predicted the two boxes barely overlap (IoU 0.06) and both stay; clipped first, the second would
    have been suppressed (IoU 0.69)."""
    boxes = np.array([[-30.0, -30, 10, 10], [0, 0, 12, 12]])
    faces = kept_faces(boxes, np.zeros((2, 5, 2)), np.array([0.9, 0.8]), 0.3, (1.0, 1.0), clip_to=(15, 12))
    assert [face.box.tolist() for face in faces] == [[0, 0, 10, 10], [0, 0, 12, 12]]
