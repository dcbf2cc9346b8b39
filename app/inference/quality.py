"""Capture-quality gates. A failed gate asks the user to retake; it never silently rejects.

Selfie frames carry two more gates, because liveness can only be judged on what its models were
trained on: a face large enough for the liveness crops to hold real detail, and enough image around
the face for the tightest liveness crop (a forehead-to-chin crop leaves the model mostly padding).
The limits are part of the sealed policy, so no setting can loosen them.
"""

import cv2
import numpy as np
from pydantic import BaseModel

from app.inference.faces import Face
from app.inference.policy import CaptureRules


class QualityReport(BaseModel):
    eye_distance_px: float
    sharpness: float
    brightness: float
    yaw: float
    roll_deg: float
    inside_image: bool
    context: float | None  # share of the tightest liveness crop inside the image (selfie frames only)
    failures: list[str]


def _pose(face: Face) -> tuple[float, float]:
    """Yaw proxy: nose offset from the eye midpoint in eye distances; roll: eye-line angle."""
    left, right, nose = face.landmarks[0], face.landmarks[1], face.landmarks[2]
    eye_vector = right - left
    distance = max(float(np.linalg.norm(eye_vector)), 1e-6)
    midpoint = (left + right) / 2
    yaw = float(np.dot(nose - midpoint, eye_vector) / distance**2)
    roll = float(np.degrees(np.arctan2(eye_vector[1], eye_vector[0])))
    return yaw, roll


def context_share(face: Face, image_shape: tuple[int, ...], crop_scale: float) -> float:
    """Share of the square crop of side `crop_scale` x the larger box side, centred on the box, that lies
    inside the image (1.0 when the whole crop is real pixels)."""
    height, width = image_shape[:2]
    side = crop_scale * max(face.width, face.height, 1e-6)
    cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
    inside_x = max(0.0, min(width, cx + side / 2) - max(0.0, cx - side / 2))
    inside_y = max(0.0, min(height, cy + side / 2) - max(0.0, cy - side / 2))
    return float(inside_x * inside_y / side**2)


def assess(
    face: Face, aligned_rgb: np.ndarray, image_shape: tuple[int, ...], rules: CaptureRules,
    liveness_crop_scale: float | None,
) -> QualityReport:
    """Measure the face; sharpness and brightness on the aligned crop so they are scale-free.

    `liveness_crop_scale` (the smallest crop scale of the liveness models) is given for selfie frames
    only: a reference photo is matched, never judged for liveness, so it may be a tight portrait."""
    gray = cv2.cvtColor(aligned_rgb, cv2.COLOR_RGB2GRAY)
    centre = gray[32:128, 32:128]
    sharpness = float(cv2.Laplacian(centre, cv2.CV_64F).var())
    brightness = float(centre.mean())
    yaw, roll = _pose(face)
    height, width = image_shape[:2]
    inside = bool(np.all((face.landmarks >= 0) & (face.landmarks < [width, height])))
    context = context_share(face, image_shape, liveness_crop_scale) if liveness_crop_scale else None
    min_eye_distance = rules.liveness_min_eye_distance_px if liveness_crop_scale else rules.min_eye_distance_px
    failures = []
    if face.eye_distance < min_eye_distance:
        failures.append("low_quality:face_too_small")
    if context is not None and context < rules.min_context:
        failures.append("low_quality:too_close")
    if sharpness < rules.min_sharpness:
        failures.append("low_quality:blurry")
    if brightness < rules.min_brightness:
        failures.append("low_quality:too_dark")
    if brightness > rules.max_brightness:
        failures.append("low_quality:overexposed")
    if abs(yaw) > rules.max_yaw or abs(roll) > rules.max_roll_deg:
        failures.append("low_quality:extreme_pose")
    if not inside:
        failures.append("low_quality:face_cut_off")
    return QualityReport(
        eye_distance_px=round(face.eye_distance, 2),
        sharpness=round(sharpness, 2),
        brightness=round(brightness, 2),
        yaw=round(yaw, 3),
        roll_deg=round(roll, 2),
        inside_image=inside,
        context=round(context, 3) if context is not None else None,
        failures=failures,
    )
