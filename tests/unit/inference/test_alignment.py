"""Alignment on synthetic geometry with known answers."""

import cv2
import numpy as np

from app.inference.alignment import FACENET_TEMPLATE, align, similarity_matrix


def test_similarity_fit_recovers_a_known_rotation_scale_and_shift() -> None:
    angle, scale, shift = np.radians(20), 2.5, np.array([300.0, 120.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    landmarks = (FACENET_TEMPLATE @ rotation.T) * scale + shift
    matrix = similarity_matrix(landmarks)
    mapped = np.hstack([landmarks, np.ones((5, 1))]) @ matrix.T
    assert np.allclose(mapped, FACENET_TEMPLATE, atol=1e-3)


def test_align_puts_a_marked_eye_on_the_template() -> None:
    image = np.zeros((400, 400, 3), np.uint8)
    landmarks = FACENET_TEMPLATE * 2 + 20
    x, y = landmarks[0].astype(int)
    cv2.circle(image, (x, y), 4, (255, 255, 255), -1)
    crop = align(image, landmarks)
    assert crop.shape == (160, 160, 3)
    peak = np.unravel_index(np.argmax(crop[:, :, 0]), crop.shape[:2])
    assert abs(peak[1] - FACENET_TEMPLATE[0, 0]) <= 2 and abs(peak[0] - FACENET_TEMPLATE[0, 1]) <= 2
