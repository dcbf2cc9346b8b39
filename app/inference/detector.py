"""CenterFace detection: any input size, boxes + 5 landmarks in original image coordinates."""

import cv2
import numpy as np
import onnxruntime as ort

from app.inference.contract import require_input, require_outputs, require_raw_detector
from app.inference.faces import Face
from app.inference.suppression import kept_faces
from app.integrity.lockfile import ModelEntry

STRIDE = 4
ALIGN = 32
NMS_IOU = 0.3
# CenterFace's outputs, by the names its ONNX export gives them: read by name, so a lock listing them in
# another order cannot swap them.
HEATMAP = "537"  # face centre score (0-1) at stride 4
BOX_SIZE = "538"  # log box size (h, w)
OFFSET = "539"  # centre offset (dy, dx)
LANDMARKS = "540"  # 5 landmarks (y, x) relative to the box


class FaceDetector:
    def __init__(self, session: ort.InferenceSession, entry: ModelEntry, score_threshold: float) -> None:
        """Feeds raw 0-255 RGB pixels, NCHW, at any size; refuses a contract that asks for anything else."""
        require_raw_detector(entry, "RGB")
        require_outputs(entry, [HEATMAP, BOX_SIZE, OFFSET, LANDMARKS])
        self._session = session
        self._input = require_input(entry)
        self._score_threshold = score_threshold

    def detect(self, rgb: np.ndarray, long_side: int) -> list[Face]:
        """Detect at `long_side` (each side rounded up to a multiple of 32)."""
        height, width = rgb.shape[:2]
        ratio = long_side / max(height, width)
        new_w = int(np.ceil(width * ratio / ALIGN) * ALIGN)
        new_h = int(np.ceil(height * ratio / ALIGN) * ALIGN)
        interpolation = cv2.INTER_AREA if ratio < 1 else cv2.INTER_LINEAR
        resized = cv2.resize(rgb, (new_w, new_h), interpolation=interpolation)
        blob = np.ascontiguousarray(resized.transpose(2, 0, 1)[None], dtype=np.float32)
        heat, scale, offset, marks = self._session.run([HEATMAP, BOX_SIZE, OFFSET, LANDMARKS], {self._input: blob})
        return self._decode(heat[0, 0], scale[0], offset[0], marks[0], (new_w / width, new_h / height), (new_w, new_h))

    def _decode(
        self,
        heat: np.ndarray,
        scale: np.ndarray,
        offset: np.ndarray,
        marks: np.ndarray,
        factors: tuple[float, float],
        size: tuple[int, int],
    ) -> list[Face]:
        rows, cols = np.nonzero(heat > self._score_threshold)
        if rows.size == 0:
            return []
        h = np.exp(scale[0, rows, cols]) * STRIDE
        w = np.exp(scale[1, rows, cols]) * STRIDE
        x1 = np.clip((cols + offset[1, rows, cols] + 0.5) * STRIDE - w / 2, 0, size[0])
        y1 = np.clip((rows + offset[0, rows, cols] + 0.5) * STRIDE - h / 2, 0, size[1])
        boxes = np.stack([x1, y1, np.minimum(x1 + w, size[0]), np.minimum(y1 + h, size[1])], axis=1)
        lm_x = marks[1::2, rows, cols].T * w[:, None] + x1[:, None]
        lm_y = marks[0::2, rows, cols].T * h[:, None] + y1[:, None]
        return kept_faces(boxes, np.stack([lm_x, lm_y], axis=2), heat[rows, cols], NMS_IOU, factors)
