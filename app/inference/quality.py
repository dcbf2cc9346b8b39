"""Capture-quality gates. A failed gate asks the user to retake; it never silently rejects."""

from dataclasses import dataclass

import cv2
import numpy as np
from pydantic import BaseModel

from app.inference.faces import Face


@dataclass(frozen=True)
class QualityLimits:
    min_eye_distance_px: float
    min_sharpness: float
    min_brightness: float
    max_brightness: float
    max_yaw: float
    max_roll_deg: float


class QualityReport(BaseModel):
    eye_distance_px: float
    sharpness: float
    brightness: float
    yaw: float
    roll_deg: float
    inside_image: bool
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


def assess(face: Face, aligned_rgb: np.ndarray, image_shape: tuple[int, ...], limits: QualityLimits) -> QualityReport:
    """Measure the face; sharpness and brightness on the aligned crop so they are scale-free."""
    gray = cv2.cvtColor(aligned_rgb, cv2.COLOR_RGB2GRAY)
    centre = gray[32:128, 32:128]
    sharpness = float(cv2.Laplacian(centre, cv2.CV_64F).var())
    brightness = float(centre.mean())
    yaw, roll = _pose(face)
    height, width = image_shape[:2]
    inside = bool(np.all((face.landmarks >= 0) & (face.landmarks < [width, height])))
    failures = []
    if face.eye_distance < limits.min_eye_distance_px:
        failures.append("low_quality:face_too_small")
    if sharpness < limits.min_sharpness:
        failures.append("low_quality:blurry")
    if brightness < limits.min_brightness:
        failures.append("low_quality:too_dark")
    if brightness > limits.max_brightness:
        failures.append("low_quality:overexposed")
    if abs(yaw) > limits.max_yaw or abs(roll) > limits.max_roll_deg:
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
        failures=failures,
    )
