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


def reflect_pad_crop(rgb: np.ndarray, face: Face, scale: float, size: int) -> np.ndarray:
    """Square crop centred on the box; parts outside the image mirror it (BORDER_REFLECT_101)."""
    cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
    side = int(scale * max(face.width, face.height))
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    height, width = rgb.shape[:2]
    pad = max(0, -x0, -y0, x0 + side - width, y0 + side - height)
    while pad > 0:  # reflection needs padding smaller than the image: repeat for extreme cases
        step = min(pad, min(rgb.shape[:2]) - 1)
        rgb = cv2.copyMakeBorder(rgb, step, step, step, step, cv2.BORDER_REFLECT_101)
        x0, y0, pad = x0 + step, y0 + step, pad - step
    return _resize(rgb[y0 : y0 + side, x0 : x0 + side], size)


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


class LivenessEnsemble:
    def __init__(self, models: list[LivenessModel], rule: str) -> None:
        if rule != FUSION_RULE:
            raise ValueError(f"unsupported liveness fusion rule {rule!r}")
        self.models = models

    def score(self, frames: list[tuple[np.ndarray, Face]]) -> tuple[np.ndarray, dict[str, float]]:
        """Fused P(real) per frame, and each model's mean P(real) over the frames (for the audit)."""
        per_model = {m.name: m.real_probability([m.crop(rgb, face) for rgb, face in frames]) for m in self.models}
        groups: dict[str, list[np.ndarray]] = {}
        for model in self.models:
            groups.setdefault(model.group, []).append(per_model[model.name])
        group_means = np.stack([np.mean(members, axis=0) for members in groups.values()])
        fused = np.exp(np.mean(np.log(np.clip(group_means, 1e-12, 1.0)), axis=0))
        return fused, {name: float(np.mean(scores)) for name, scores in per_model.items()}
