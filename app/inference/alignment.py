"""4-DoF similarity alignment of the 5 landmarks to the embedder's template.

A full affine fit (6-DoF) shears faces and measured far worse (ROC-AUC 0.95 vs 1.00).
"""

import cv2
import numpy as np

# FaceNet 160x160 template: eyes, nose, mouth corners. Measured with this checkpoint on the dev pairs:
# ROC-AUC 1.000 on deepface pairs and pairs-pivot, 0.998 on lfw10; the ArcFace 112 template scaled by
# 160/112 and zoomed 0.9 about its centre came close, and BGR input cost accuracy.
ALIGNED_SIDE = 160  # the template's square, and so the embedder's input
FACENET_TEMPLATE = np.array(
    [[48.0, 67.7], [112.0, 67.7], [80.0, 93.7], [52.6, 112.4], [107.4, 112.4]], dtype=np.float32
)


def similarity_matrix(landmarks: np.ndarray, template: np.ndarray = FACENET_TEMPLATE) -> np.ndarray:
    matrix, _ = cv2.estimateAffinePartial2D(landmarks.astype(np.float32), template, method=cv2.LMEDS)
    if matrix is None:
        raise ValueError("landmarks are degenerate")
    return matrix


def align(rgb: np.ndarray, landmarks: np.ndarray, size: int = ALIGNED_SIDE) -> np.ndarray:
    return cv2.warpAffine(rgb, similarity_matrix(landmarks), (size, size), flags=cv2.INTER_LINEAR, borderValue=0.0)
