"""Passive liveness: several independent models, each with its upstream preprocessing, fused.

Each model's lock contract says how to crop (a square of `crop_scale` x the larger box side,
either mirror-padded where it leaves the image or shifted to stay inside it, as each model was
trained), its colour order, normalisation and which logit means "real". Fusion rule
(`geometric_mean_of_group_means`): probabilities of models in one `fusion_group` are averaged
(Silent-Face's own rule for its two scales), then the groups are combined by geometric mean, so a
face is called live only when every independent family agrees.
"""

import cv2
import numpy as np
import onnxruntime as ort

from app.inference.faces import Face
from app.integrity.lockfile import ModelEntry

FUSION_RULE = "geometric_mean_of_group_means"


def _resize(crop: np.ndarray, size: int) -> np.ndarray:
    interpolation = cv2.INTER_LANCZOS4 if crop.shape[0] < size else cv2.INTER_AREA
    return cv2.resize(crop, (size, size), interpolation=interpolation)


def _source_span(start: int, length: int, limit: int) -> tuple[int, int, int, int] | None:
    """Image rows (or columns) [lo, hi) and the (before, after) mirror padding that yield indices
    start..start+length-1 under BORDER_REFLECT_101; None if one reflection is not enough."""
    before, after = max(0, -start), max(0, start + length - limit)
    if max(before, after) >= limit:
        return None
    lo, hi = max(start, 0), min(start + length, limit)
    if before:
        hi = max(hi, before + 1)  # the mirrored rows come from inside the image
    if after:
        lo = min(lo, limit - 1 - after)
    return lo, hi, before, after


def _folded(start: int, length: int, limit: int) -> np.ndarray:
    """Indices folded into the image as BORDER_REFLECT_101 does at any distance (repeated mirroring)."""
    period = 2 * (limit - 1) or 1
    folded = np.arange(start, start + length) % period
    return np.where(folded < limit, folded, period - folded)


def reflect_pad_crop(rgb: np.ndarray, face: Face, scale: float, size: int) -> np.ndarray:
    """Square crop centred on the box; parts outside the image mirror it (BORDER_REFLECT_101).

    Only the crop window (plus the rows and columns it mirrors) is copied, never the whole image."""
    cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
    side = int(scale * max(face.width, face.height))
    x0, y0 = round(cx - side / 2), round(cy - side / 2)
    height, width = rgb.shape[:2]
    rows, columns = _source_span(y0, side, height), _source_span(x0, side, width)
    if rows is None or columns is None:  # crop more than twice the image: fold every index
        return _resize(rgb[np.ix_(_folded(y0, side, height), _folded(x0, side, width))], size)
    (top, bottom, pad_top, pad_bottom), (left, right, pad_left, pad_right) = rows, columns
    window = rgb[top:bottom, left:right]
    if pad_top or pad_bottom or pad_left or pad_right:
        window = cv2.copyMakeBorder(window, pad_top, pad_bottom, pad_left, pad_right, cv2.BORDER_REFLECT_101)
    y, x = y0 - top + pad_top, x0 - left + pad_left
    return _resize(window[y : y + side, x : x + side], size)


def shift_inside_crop(rgb: np.ndarray, face: Face, scale: float, size: int) -> np.ndarray:
    """Silent-Face's crop: the scaled box (scale capped to fit) shifted to stay inside the image."""
    height, width = rgb.shape[:2]
    scale = min((height - 1) / max(face.height, 1), (width - 1) / max(face.width, 1), scale)
    new_w, new_h = face.width * scale, face.height * scale
    cx, cy = face.box[0] + face.width / 2, face.box[1] + face.height / 2
    left, top = cx - new_w / 2, cy - new_h / 2
    left = min(max(left, 0.0), width - 1 - new_w)
    top = min(max(top, 0.0), height - 1 - new_h)
    crop = rgb[int(top) : int(top + new_h) + 1, int(left) : int(left + new_w) + 1]
    return cv2.resize(crop, (size, size))


CROPS = {"reflect_pad": reflect_pad_crop, "shift_inside": shift_inside_crop}


class LivenessModel:
    def __init__(self, session: ort.InferenceSession, entry: ModelEntry) -> None:
        contract = entry.preprocessing
        if not (contract.size and contract.crop_scale and contract.crop_mode and contract.real_index is not None
                and contract.fusion_group):
            raise ValueError(f"{entry.name}: liveness contract is incomplete")
        self.name = entry.name
        self.group = contract.fusion_group
        self._session = session
        self._input = contract.input_name
        self._size = contract.size[0]
        self._scale = contract.crop_scale
        self._crop = CROPS[contract.crop_mode]
        self._bgr = contract.colour == "BGR"
        self._mean = np.float32(contract.mean)
        self._inv_std = np.float32(1.0 / contract.std)
        self._real = contract.real_index

    def crop(self, rgb: np.ndarray, face: Face) -> np.ndarray:
        crop = self._crop(rgb, face, self._scale, self._size)
        return crop[:, :, ::-1] if self._bgr else crop

    def real_probability(self, crops: list[np.ndarray]) -> np.ndarray:
        """P(real) per crop, from a softmax over the logits."""
        batch = (np.stack(crops).astype(np.float32).transpose(0, 3, 1, 2) - self._mean) * self._inv_std
        (logits,) = self._session.run(None, {self._input: np.ascontiguousarray(batch)})
        logits = logits - logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return probabilities[:, self._real]

    def score(self, frames: list[tuple[np.ndarray, Face]]) -> np.ndarray:
        """P(real) per frame: this model's own crop of each frame's face."""
        return self.real_probability([self.crop(rgb, face) for rgb, face in frames])


class LivenessEnsemble:
    """The fusion of independent models; each model scores on its own, so they can run in parallel."""

    def __init__(self, models: list[LivenessModel], rule: str) -> None:
        if rule != FUSION_RULE:
            raise ValueError(f"unsupported liveness fusion rule {rule!r}")
        self.models = models

    def fuse(self, per_model: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, float]]:
        """Fused P(real) per frame from each model's `score`, and each model's mean P(real) (for the audit)."""
        groups: dict[str, list[np.ndarray]] = {}
        for model in self.models:
            groups.setdefault(model.group, []).append(per_model[model.name])
        group_means = np.stack([np.mean(members, axis=0) for members in groups.values()])
        fused = np.exp(np.mean(np.log(np.clip(group_means, 1e-12, 1.0)), axis=0))
        return fused, {name: float(np.mean(scores)) for name, scores in per_model.items()}
