"""YuNet detection (OpenCV Zoo, 2023mar): boxes + 5 landmarks in original image coordinates.

Decoded as OpenCV's `FaceDetectorYN` decodes it (checked to 2e-5 px on the dev data): per cell of each
stride, score = sqrt(class x objectness), box centre and landmarks in strides from the cell, box size
as log strides. About an eighth of CenterFace's search on a reference image (issue 18), with the same
landmark order.
"""

import cv2
import numpy as np
import onnxruntime as ort

from app.inference.contract import require_input, require_outputs, require_raw_detector
from app.inference.faces import Face
from app.inference.suppression import kept_faces
from app.integrity.lockfile import ModelEntry

STRIDES = (8, 16, 32)
ALIGN = 32  # the largest stride: padded sides are multiples of it
NMS_IOU = 0.3
HEADS = ("cls", "obj", "bbox", "kps")
OUTPUTS = [f"{head}_{stride}" for head in HEADS for stride in STRIDES]


class YuNetDetector:
    def __init__(self, session: ort.InferenceSession, entry: ModelEntry, score_threshold: float) -> None:
        """Feeds raw 0-255 BGR pixels, NCHW, at any size; refuses a contract that asks for anything else."""
        require_raw_detector(entry, "BGR")
        require_outputs(entry, OUTPUTS)
        self._session = session
        self._input = require_input(entry)
        self._score_threshold = score_threshold

    def detect(self, rgb: np.ndarray, long_side: int) -> list[Face]:
        """Detect with the image's long side resized to `long_side` (aspect kept), padded right and bottom
        with zeros to multiples of 32, as YuNet was trained and as OpenCV feeds it."""
        height, width = rgb.shape[:2]
        ratio = long_side / max(height, width)
        new_w, new_h = max(1, round(width * ratio)), max(1, round(height * ratio))
        interpolation = cv2.INTER_AREA if ratio < 1 else cv2.INTER_LINEAR
        resized = cv2.resize(rgb, (new_w, new_h), interpolation=interpolation)
        padded_w, padded_h = -(-new_w // ALIGN) * ALIGN, -(-new_h // ALIGN) * ALIGN
        blob = np.zeros((1, 3, padded_h, padded_w), np.float32)
        blob[0, :, :new_h, :new_w] = resized[:, :, ::-1].transpose(2, 0, 1)  # RGB -> BGR planes
        outputs = dict(zip(OUTPUTS, self._session.run(OUTPUTS, {self._input: blob}), strict=True))
        return self._decode(outputs, padded_w, (new_w / width, new_h / height), (new_w, new_h))

    def _decode(self, outputs: dict[str, np.ndarray], padded_w: int, factors: tuple[float, float],
                size: tuple[int, int]) -> list[Face]:
        boxes, scores, marks = [], [], []
        for stride in STRIDES:
            cls = np.clip(outputs[f"cls_{stride}"][0, :, 0], 0, 1)
            obj = np.clip(outputs[f"obj_{stride}"][0, :, 0], 0, 1)
            score = np.sqrt(cls * obj)
            cells = np.nonzero(score >= self._score_threshold)[0]
            if cells.size == 0:
                continue
            rows, cols = np.divmod(cells, padded_w // stride)
            box = outputs[f"bbox_{stride}"][0, cells]
            points = outputs[f"kps_{stride}"][0, cells]
            cx, cy = (cols + box[:, 0]) * stride, (rows + box[:, 1]) * stride
            w, h = np.exp(box[:, 2]) * stride, np.exp(box[:, 3]) * stride
            boxes.append(np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1))
            marks.append(np.stack([(points[:, 0::2] + cols[:, None]) * stride,
                                   (points[:, 1::2] + rows[:, None]) * stride], axis=2))
            scores.append(score[cells])
        if not boxes:
            return []
        # Clipped to the image, as CenterFace's are, after NMS (which compares the boxes as predicted).
        return kept_faces(np.concatenate(boxes), np.concatenate(marks), np.concatenate(scores), NMS_IOU, factors,
                          clip_to=size)
