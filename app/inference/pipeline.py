"""The inference pipeline: decoded images in, scores and a decision out.

Data flows one way: bytes -> image -> faces -> aligned / liveness crops -> scores -> decision.
Nothing here keeps an image, crop or embedding beyond the call that made it.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

from app.config import Settings
from app.inference.alignment import align
from app.inference.detector import FaceDetector
from app.inference.embedder import FaceEmbedder, cosine
from app.inference.errors import InputError
from app.inference.faces import Face
from app.inference.imaging import decode_image
from app.inference.liveness import LivenessEnsemble, LivenessModel
from app.inference.policy import Outcome, Policy, Preset, Verdict, decide
from app.inference.quality import QualityReport, assess
from app.integrity.gate import SealedSet

Kind = Literal["selfie", "reference"]
# Tight crops (forehead to chin) defeat CenterFace; shrinking the face inside a border cures most.
PADDED_RETRIES = ((0.5, cv2.BORDER_CONSTANT), (0.25, cv2.BORDER_REPLICATE), (1.0, cv2.BORDER_CONSTANT))


@dataclass
class Timings:
    stages_ms: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stages_ms[name] = self.stages_ms.get(name, 0.0) + (time.perf_counter() - started) * 1000


@dataclass
class FaceAnalysis:
    faces_found: int
    face: Face | None = None
    quality: QualityReport | None = None
    problems: list[str] = field(default_factory=list)
    aligned: np.ndarray | None = field(default=None, repr=False)


@dataclass
class LivenessResult:
    score: float
    verdict: Verdict
    threshold: float
    spoof_below: float
    frame_scores: list[float]
    model_scores: dict[str, float]


@dataclass
class MatchResult:
    score: float
    threshold: float
    preset: str
    fmr_target: float
    matched: bool


@dataclass
class VerifyResult:
    decision: Outcome
    reasons: list[str]
    selfie: list[FaceAnalysis]
    reference: FaceAnalysis | None
    match: MatchResult | None
    liveness: LivenessResult | None
    timings: Timings


class Pipeline:
    def __init__(self, sealed: SealedSet, settings: Settings) -> None:
        (detector,), (embedder,) = sealed.by_role("detector"), sealed.by_role("embedder")
        self.policy = Policy.from_bytes(sealed.policy_bytes)
        self._settings = settings
        self._limits = settings.image_limits()
        self._quality = settings.quality_limits()
        self._detector = FaceDetector(detector.session, detector.entry, settings.detector_score)
        self._embedder = FaceEmbedder(embedder.session, embedder.entry)
        self._liveness = LivenessEnsemble(
            [LivenessModel(m.session, m.entry) for m in sealed.by_role("liveness")], self.policy.liveness.fusion
        )

    def warm_up(self) -> None:
        """Run each model once at serving shapes so the first request does not pay for allocation."""
        size = self._settings.detector_long_side
        blank = np.full((size * 3 // 4, size, 3), 127, np.uint8)
        self._detector.detect(blank, size)
        self._embedder.embed([blank[:160, :160]] * 2)
        self._liveness.score([(blank, Face(np.array([100.0, 60, 260, 260]), np.zeros((5, 2)), 1.0))])

    # -- stages -----------------------------------------------------------------------------

    def decode(self, data: bytes, timings: Timings, label: str = "image") -> np.ndarray:
        with timings.stage("decode"):
            try:
                return decode_image(data, self._limits)
            except InputError as error:
                raise InputError(error.code, f"{label}: {error.detail}", error.status) from None

    def find_faces(self, rgb: np.ndarray) -> list[Face]:
        """Normal pass; then padded passes for tight crops; then a large pass for small faces.

        Padding happens on a copy already shrunk to the detector's size: the same input the detector
        would see, without allocating a padded full-resolution image (up to 9x its pixels).
        """
        size = self._settings.detector_long_side
        faces = self._detector.detect(rgb, size)
        if faces:
            return faces
        scale = min(1.0, size / max(rgb.shape[:2]))
        small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
        for fraction, border in PADDED_RETRIES:
            pad = int(fraction * max(small.shape[:2]))
            padded = cv2.copyMakeBorder(small, pad, pad, pad, pad, border, value=(127, 127, 127))
            found = self._detector.detect(padded, size)
            if found:
                return [face.unmapped(pad, scale) for face in found]
        if max(rgb.shape[:2]) > size:
            return self._detector.detect(rgb, self._settings.detector_large_side)
        return []

    def analyse(self, rgb: np.ndarray, kind: Kind, timings: Timings) -> FaceAnalysis:
        with timings.stage("detect"):
            faces = sorted(self.find_faces(rgb), key=lambda f: f.area, reverse=True)
        if not faces:
            return FaceAnalysis(faces_found=0, problems=["no_face"])
        face = faces[0]
        if kind == "selfie" and len(faces) > 1 and faces[1].area >= self._settings.dominant_face_ratio * face.area:
            return FaceAnalysis(faces_found=len(faces), face=face, problems=["multiple_faces"])
        with timings.stage("align"):
            aligned = align(rgb, face.landmarks)
            quality = assess(face, aligned, rgb.shape, self._quality)
        return FaceAnalysis(len(faces), face, quality, list(quality.failures), aligned)

    def embed(self, analyses: list[FaceAnalysis], timings: Timings) -> np.ndarray:
        with timings.stage("embed"):
            return self._embedder.embed([a.aligned for a in analyses if a.aligned is not None])

    def score_liveness(self, frames: list[np.ndarray], analyses: list[FaceAnalysis], timings: Timings) -> LivenessResult | None:
        """Mean fused P(real) over the frames that hold exactly one usable face."""
        pairs = [(rgb, a.face) for rgb, a in zip(frames, analyses, strict=True) if a.face and "multiple_faces" not in a.problems]
        if not pairs:
            return None
        with timings.stage("liveness"):
            scores, model_scores = self._liveness.score(pairs)
        score = float(np.mean(scores))
        point = self.policy.liveness
        return LivenessResult(score, self.policy.liveness_verdict(score), point.live_from, point.spoof_below,
                              [float(s) for s in scores], model_scores)

    def resolve_preset(self, preset_name: str | None) -> tuple[str, Preset]:
        try:
            return self.policy.preset(preset_name)
        except KeyError:
            raise InputError("unknown_preset", f"preset must be one of {sorted(self.policy.match.presets)}", 400) from None

    @staticmethod
    def match(first: np.ndarray, second: np.ndarray, operating_point: tuple[str, Preset]) -> MatchResult:
        name, preset = operating_point
        score = cosine(first, second)
        return MatchResult(score, preset.threshold, name, preset.fmr_target, score >= preset.threshold)

    def decode_selfies(self, selfies: list[bytes], timings: Timings) -> list[np.ndarray]:
        return [self.decode(data, timings, f"selfie[{i}]") for i, data in enumerate(selfies)]

    def analyse_selfies(self, frames: list[np.ndarray], timings: Timings) -> tuple[list[FaceAnalysis], LivenessResult | None]:
        """Analyse every selfie frame, then score liveness over the usable ones."""
        analyses = [self.analyse(rgb, "selfie", timings) for rgb in frames]
        return analyses, self.score_liveness(frames, analyses, timings)

    # -- use cases --------------------------------------------------------------------------

    def verify(self, selfies: list[bytes], reference: bytes, preset: str | None = None) -> VerifyResult:
        operating_point = self.resolve_preset(preset)  # refuse an unknown preset before any work
        timings = Timings()
        frames = self.decode_selfies(selfies, timings)  # every image decodes before any model runs
        reference_rgb = self.decode(reference, timings, "reference")
        selfie_analyses, liveness = self.analyse_selfies(frames, timings)
        reference_analysis = self.analyse(reference_rgb, "reference", timings)
        primary = selfie_analyses[0]
        match_result = None
        if primary.aligned is not None and reference_analysis.aligned is not None and not primary.problems:
            first, second = self.embed([primary, reference_analysis], timings)
            match_result = self.match(first, second, operating_point)
        selfie_problems = [p for a in selfie_analyses for p in a.problems]
        decision, reasons = decide(
            selfie_problems,
            reference_analysis.problems,
            liveness.verdict if liveness else None,
            match_result.matched if match_result else None,
        )
        return VerifyResult(decision, reasons, selfie_analyses, reference_analysis, match_result, liveness, timings)

    def check_liveness(self, selfies: list[bytes]) -> VerifyResult:
        timings = Timings()
        analyses, liveness = self.analyse_selfies(self.decode_selfies(selfies, timings), timings)
        problems = [p for a in analyses for p in a.problems]
        decision, reasons = decide(problems, [], liveness.verdict if liveness else None, None)
        return VerifyResult(decision, reasons, analyses, None, None, liveness, timings)

    def compare(self, image1: bytes, image2: bytes, preset: str | None = None) -> VerifyResult:
        operating_point = self.resolve_preset(preset)
        timings = Timings()
        images = [self.decode(image1, timings, "image1"), self.decode(image2, timings, "image2")]
        analyses = [self.analyse(rgb, "reference", timings) for rgb in images]
        match_result = None
        if all(a.aligned is not None for a in analyses):
            first, second = self.embed(analyses, timings)
            match_result = self.match(first, second, operating_point)
        no_face = [p for a in analyses for p in a.problems if p == "no_face"]
        decision, reasons = decide(no_face, [], None, match_result.matched if match_result else None)
        return VerifyResult(decision, reasons, [analyses[0]], analyses[1], match_result, None, timings)
