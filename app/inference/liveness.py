"""Passive liveness: several independent models, each with its upstream preprocessing, fused.

Each model's lock contract says how to crop (a square of `crop_scale` x the larger box side,
either mirror-padded where it leaves the image or shifted to stay inside it, as each model was
trained), its colour order, normalisation and which logit means "real". Each model gives the
log-odds of "real", optionally averaged with its mirrored crop's (measured to halve held-out retakes:
docs/CALIBRATION.md); the policy's sealed weights combine them (`weighted_logit`: a logistic model
over the models' log-odds, chosen and fitted with leave-one-source-out validation, app/eval/fusion.py).
"""

import math
from collections.abc import Mapping

import cv2
import numpy as np
import onnxruntime as ort

from app.inference.contract import ContractError, require, require_input, single_output
from app.inference.faces import Face
from app.inference.policy import LivenessPoint
from app.integrity.lockfile import ModelEntry


def _sample(rgb: np.ndarray, left: float, top: float, width: float, height: float, out: tuple[int, int],
            interpolation: int, border: int) -> np.ndarray:
    """The window [left, left + width) x [top, top + height) resampled to `out` (columns, rows) pixels with
    sub-pixel accuracy, pixel centres placed as `cv2.resize` places them; only the window is computed,
    and `border` fills what lies outside the image.

    The window moves continuously with the face box. Cutting it at integer pixel edges, or resampling
    through an intermediate whose size is rounded from the box, makes a liveness score jump when a box
    coordinate that differs by 1e-4 px between CPUs crosses an edge (measured: one model's P(real) 0.35
    vs 0.19 for one dev face between two onnxruntime optimisation levels).
    """
    step_x, step_y = width / out[0], height / out[1]
    to_source = np.array([[step_x, 0.0, left + step_x / 2 - 0.5], [0.0, step_y, top + step_y / 2 - 0.5]])
    return cv2.warpAffine(rgb, to_source, out, flags=interpolation | cv2.WARP_INVERSE_MAP, borderMode=border)


def reflect_pad_crop(rgb: np.ndarray, face: Face, scale: float, size: int) -> np.ndarray:
    """Square crop of side `scale` x the larger box side, centred on the box; parts outside the image
    mirror it (BORDER_REFLECT_101). Enlarged with LANCZOS4; shrunk by area averaging, through a sampling
    at a whole multiple of the output size, so the averaging blocks never depend on a rounded box size."""
    cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
    side = scale * max(face.width, face.height, 1.0)
    left, top = cx - side / 2, cy - side / 2
    if side <= size:
        return _sample(rgb, left, top, side, side, (size, size), cv2.INTER_LANCZOS4, cv2.BORDER_REFLECT_101)
    fine = size * math.ceil(side / size)
    window = _sample(rgb, left, top, side, side, (fine, fine), cv2.INTER_LINEAR, cv2.BORDER_REFLECT_101)
    return cv2.resize(window, (size, size), interpolation=cv2.INTER_AREA)


def shift_inside_crop(rgb: np.ndarray, face: Face, scale: float, size: int) -> np.ndarray:
    """Silent-Face's crop: the scaled box (scale capped to fit) shifted to stay inside the image, resized
    bilinearly to the model's square input as upstream does (in one sampling step)."""
    height, width = rgb.shape[:2]
    scale = min((height - 1) / max(face.height, 1), (width - 1) / max(face.width, 1), scale)
    new_w, new_h = face.width * scale, face.height * scale
    cx, cy = face.box[0] + face.width / 2, face.box[1] + face.height / 2
    left = min(max(cx - new_w / 2, 0.0), width - 1 - new_w)
    top = min(max(cy - new_h / 2, 0.0), height - 1 - new_h)
    return _sample(rgb, left, top, new_w, new_h, (size, size), cv2.INTER_LINEAR, cv2.BORDER_REPLICATE)


CROPS = {"reflect_pad": reflect_pad_crop, "shift_inside": shift_inside_crop}


class LivenessModel:
    def __init__(self, session: ort.InferenceSession, entry: ModelEntry) -> None:
        """Feeds its own square crop, NCHW, in RGB or BGR, normalised as the contract says; refuses a
        contract that is incomplete or asks for anything else."""
        contract = entry.preprocessing
        if not (contract.size and contract.crop_scale and contract.crop_mode and contract.real_index is not None):
            raise ContractError(f"{entry.name}: liveness contract is incomplete")
        require(entry, "layout", ["NCHW"])
        require(entry, "colour", ["RGB", "BGR"])
        require(entry, "crop_mode", list(CROPS))
        side = contract.size[0]
        require(entry, "size", [[side, side]])  # square crops only
        output = single_output(entry)
        (classes,) = [spec.shape[-1] for spec in entry.outputs if spec.name == output]
        if isinstance(classes, int) and not 0 <= contract.real_index < classes:
            raise ContractError(f"{entry.name}: preprocessing.real_index is {contract.real_index}; "
                                f"the model has {classes} logits")
        self.name = entry.name
        self.crop_scale = contract.crop_scale
        self._session = session
        self._input = require_input(entry)
        self._output = output
        self._size = side
        self._crop = CROPS[contract.crop_mode]
        self._bgr = contract.colour == "BGR"
        self._mean = np.float32(contract.mean)
        self._inv_std = np.float32(1.0 / contract.std)
        self._real = contract.real_index

    def crop(self, rgb: np.ndarray, face: Face) -> np.ndarray:
        crop = self._crop(rgb, face, self.crop_scale, self._size)
        return crop[:, :, ::-1] if self._bgr else crop

    def feed(self, crops: list[np.ndarray]) -> np.ndarray:
        """The model's input for these crops: one NCHW batch, normalised as the contract says."""
        batch = (np.stack(crops).astype(np.float32).transpose(0, 3, 1, 2) - self._mean) * self._inv_std
        return np.ascontiguousarray(batch)

    def real_log_odds(self, crops: list[np.ndarray]) -> np.ndarray:
        """log(P(real) / P(not real)) per crop, straight from the logits (no softmax to saturate):
        the real logit minus the log-sum-exp of the others."""
        (logits,) = self._session.run([self._output], {self._input: self.feed(crops)})
        logits = logits.astype(np.float64)
        others = np.delete(logits, self._real, axis=1)
        peak = others.max(axis=1, keepdims=True)
        log_odds: np.ndarray = logits[:, self._real] - (peak[:, 0] + np.log(np.exp(others - peak).sum(axis=1)))
        return log_odds

    def score(self, frames: list[tuple[np.ndarray, Face]], flip_average: bool) -> np.ndarray:
        """Log-odds of real per frame from this model's own crop of each frame's face, averaged with the
        mirrored crop's when `flip_average` (one batch either way)."""
        crops = [self.crop(rgb, face) for rgb, face in frames]
        if not flip_average:
            return self.real_log_odds(crops)
        both = self.real_log_odds(crops + [crop[:, ::-1] for crop in crops])
        averaged: np.ndarray = (both[: len(crops)] + both[len(crops) :]) / 2
        return averaged


def fused_real_probability(weights: Mapping[str, float], bias: float, log_odds: Mapping[str, np.ndarray]) -> np.ndarray:
    """sigmoid(bias + sum of weight x log-odds), summed in the weights' order: the service and calibration
    share this one formula, so their scores agree to the last bit."""
    z = bias + sum(weight * log_odds[name] for name, weight in weights.items())
    return 1.0 / (1.0 + np.exp(-z))


class LivenessEnsemble:
    """The fusion of independent models; each model scores on its own, so they can run in parallel."""

    def __init__(self, models: list[LivenessModel], point: LivenessPoint) -> None:
        names = sorted(model.name for model in models)
        if sorted(point.weights) != names:
            raise ValueError(f"policy fusion weights name {sorted(point.weights)}; the lock's liveness models: {names}")
        self.models = models
        self.point = point
        # The tightest crop decides whether a capture leaves the liveness models enough context.
        self.tightest_crop_scale = min(model.crop_scale for model in models)

    def fuse(self, per_model: dict[str, np.ndarray]) -> np.ndarray:
        """Fused P(real) per frame from each model's log-odds (`score`)."""
        return fused_real_probability(self.point.weights, self.point.bias, per_model)
