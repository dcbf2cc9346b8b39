"""The face an image is about: the largest one found, aligned for the embedder and its capture assessed."""

from typing import Literal

import numpy as np

from app.inference.alignment import align
from app.inference.faces import Face
from app.inference.finding import Finder
from app.inference.lanes import Timings
from app.inference.policy import CaptureRules
from app.inference.quality import assess
from app.inference.results import FaceAnalysis

Kind = Literal["selfie", "reference"]


class FaceAnalyser:
    def __init__(self, finders: dict[Kind, Finder], capture: CaptureRules, dominant_face_ratio: float,
                 liveness_crop_scale: float) -> None:
        self._finders = finders  # each kind's detector route (app/inference/finding.py)
        self._capture = capture
        self._dominant_face_ratio = dominant_face_ratio
        self._liveness_crop_scale = liveness_crop_scale  # the tightest liveness crop: selfies must fit it

    def find(self, rgb: np.ndarray, kind: Kind, timings: Timings) -> list[Face]:
        """The faces found by the kind's detector route, largest first."""
        with timings.stage("detect"):
            return sorted(self._finders[kind].find(rgb), key=lambda f: f.area, reverse=True)

    def analyse(self, rgb: np.ndarray, kind: Kind, timings: Timings) -> FaceAnalysis:
        """A selfie with a second face nearly as large as the first is refused (whose liveness would it
        be?); a reference, such as a group photo, is about its largest face."""
        faces = self.find(rgb, kind, timings)
        if not faces:
            return FaceAnalysis(faces_found=0, problems=["no_face"])
        face = faces[0]
        if kind == "selfie" and len(faces) > 1 and faces[1].area >= self._dominant_face_ratio * face.area:
            return FaceAnalysis(faces_found=len(faces), face=face, problems=["multiple_faces"])
        liveness_crop_scale = self._liveness_crop_scale if kind == "selfie" else None
        with timings.stage("align"):
            aligned = align(rgb, face.landmarks)
            quality = assess(face, aligned, rgb.shape, self._capture, liveness_crop_scale)
        return FaceAnalysis(len(faces), face, quality, list(quality.failures), aligned)


Frame = tuple[np.ndarray, FaceAnalysis]  # a decoded selfie frame and what was found in it
