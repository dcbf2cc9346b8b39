"""Passive liveness with MiniFASNetV2-SE, using the model's upstream preprocessing.

Square crop of `crop_scale` x the larger box side around the box centre, mirror-padded where it
leaves the image (BORDER_REFLECT_101), resized (LANCZOS4 up, AREA down), RGB / 255, NCHW.
"""

import cv2
import numpy as np
import onnxruntime as ort

from app.inference.faces import Face
from app.integrity.lockfile import ModelEntry

REAL_INDEX = 0


def liveness_crop(rgb: np.ndarray, face: Face, scale: float, size: int) -> np.ndarray:
    cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
    side = int(scale * max(face.width, face.height))
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    height, width = rgb.shape[:2]
    pad = max(0, -x0, -y0, x0 + side - width, y0 + side - height)
    if pad:
        # Reflection needs the padding smaller than the image; repeat for extreme cases.
        padded = rgb
        while pad > 0:
            step = min(pad, min(padded.shape[:2]) - 1)
            padded = cv2.copyMakeBorder(padded, step, step, step, step, cv2.BORDER_REFLECT_101)
            x0, y0, pad = x0 + step, y0 + step, pad - step
        rgb = padded
    crop = rgb[y0 : y0 + side, x0 : x0 + side]
    interpolation = cv2.INTER_LANCZOS4 if side < size else cv2.INTER_AREA
    return cv2.resize(crop, (size, size), interpolation=interpolation)


class LivenessModel:
    def __init__(self, session: ort.InferenceSession, entry: ModelEntry) -> None:
        contract = entry.preprocessing
        if not (contract.size and contract.crop_scale):
            raise ValueError(f"{entry.name}: liveness contract needs size and crop_scale")
        self._session = session
        self._input = contract.input_name
        self._size = contract.size[0]
        self._scale = contract.crop_scale
        self._inv_std = np.float32(1.0 / contract.std)

    def crop(self, rgb: np.ndarray, face: Face) -> np.ndarray:
        return liveness_crop(rgb, face, self._scale, self._size)

    def real_probability(self, crops: list[np.ndarray]) -> np.ndarray:
        """P(real) per crop, from a softmax over the two logits."""
        batch = np.stack(crops).astype(np.float32).transpose(0, 3, 1, 2) * self._inv_std
        (logits,) = self._session.run(None, {self._input: np.ascontiguousarray(batch)})
        logits = logits - logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return probabilities[:, REAL_INDEX]
