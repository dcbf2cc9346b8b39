"""The inference pipeline: decoded images in, scores and a decision out.

Data flows one way: bytes -> image -> faces -> aligned / liveness crops -> scores -> decision.
Nothing here keeps an image, crop or embedding beyond the call that made it.

Every image's header is checked before any lane work. Work then runs in a small pool of lanes shared
by all requests (one per core) with single-threaded sessions: the reference is decoded and examined
in one lane task while the selfie is decoded and its faces found in another, and then the selfie's
embedding and each liveness model are lane tasks of their own, so the lane that finished the
reference takes a share of the selfie's work. That beats splitting every operator over the cores
(measured in bench/), and under load the lanes are never oversubscribed. Only request threads wait
on lane tasks; a lane never waits on another.
"""

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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
from app.inference.imaging import CheckedImage, check_image, decode_checked
from app.inference.liveness import LivenessEnsemble, LivenessModel
from app.inference.policy import Outcome, Policy, Preset, Verdict, decide
from app.inference.quality import QualityReport, assess
from app.integrity.gate import SealedSet

Kind = Literal["selfie", "reference"]
Labelled = tuple[str, CheckedImage]  # ("selfie[0]", ...): the label names the image in error messages
# Tight crops (forehead to chin) defeat CenterFace; shrinking the face inside a border cures most.
PADDED_RETRIES = ((0.5, cv2.BORDER_CONSTANT), (0.25, cv2.BORDER_REPLICATE), (1.0, cv2.BORDER_CONSTANT))


@contextmanager
def _labelled(label: str) -> Iterator[None]:
    """Name the image an input error is about (`selfie[1]: image is empty`)."""
    try:
        yield
    except InputError as error:
        raise InputError(error.code, f"{label}: {error.detail}", error.status) from None


@dataclass
class Timings:
    """Milliseconds per stage, summed over the images (and lanes) that ran it."""

    stages_ms: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            with self._lock:
                self.stages_ms[name] = self.stages_ms.get(name, 0.0) + elapsed_ms


@dataclass
class FaceAnalysis:
    faces_found: int
    face: Face | None = None
    quality: QualityReport | None = None
    problems: list[str] = field(default_factory=list)
    aligned: np.ndarray | None = field(default=None, repr=False)


Frame = tuple[np.ndarray, FaceAnalysis]  # a decoded selfie frame and what was found in it


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
class Side:
    """One side of a request (the selfie frames, or one reference image) and what its lane tasks found."""

    analyses: list[FaceAnalysis]
    embedding: np.ndarray | None = field(default=None, repr=False)
    liveness: LivenessResult | None = None


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
        self._lanes = ThreadPoolExecutor(max_workers=settings.lanes, thread_name_prefix="faceseal-lane")

    def warm_up(self) -> None:
        """Run each model once at serving shapes so the first request does not pay for allocation."""
        size = self._settings.detector_long_side
        blank = np.full((size * 3 // 4, size, 3), 127, np.uint8)
        self._detector.detect(blank, size)
        self._embedder.embed([blank[:160, :160]])
        for model in self._liveness.models:
            model.score([(blank, Face(np.array([100.0, 60, 260, 260]), np.zeros((5, 2)), 1.0))])

    # -- stages -----------------------------------------------------------------------------

    def check_all(self, labelled: list[tuple[str, bytes]]) -> list[Labelled]:
        """Every image's header against the limits, before any lane work: an image refused by its header
        (format, bytes, pixels) costs no decoding or inference."""
        checked = []
        for label, data in labelled:
            with _labelled(label):
                checked.append((label, check_image(data, self._limits)))
        return checked

    def decode(self, image: Labelled, timings: Timings) -> np.ndarray:
        label, checked = image
        with _labelled(label), timings.stage("decode"):
            return decode_checked(checked, self._limits.work_side)

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

    def embed(self, aligned: np.ndarray, timings: Timings) -> np.ndarray:
        with timings.stage("embed"):
            (embedding,) = self._embedder.embed([aligned])
            return embedding

    def _score_with(self, model: LivenessModel, pairs: list[tuple[np.ndarray, Face]], timings: Timings) -> np.ndarray:
        with timings.stage("liveness"):
            return model.score(pairs)

    def score_liveness(self, frames: list[Frame], timings: Timings) -> LivenessResult | None:
        """Mean fused P(real) over the frames that hold exactly one usable face; each model in its own lane task."""
        pairs = [(rgb, a.face) for rgb, a in frames if a.face and "multiple_faces" not in a.problems]
        if not pairs:
            return None
        futures = {m.name: self._lanes.submit(self._score_with, m, pairs, timings) for m in self._liveness.models}
        scores, model_scores = self._liveness.fuse({name: future.result() for name, future in futures.items()})
        score = float(np.mean(scores))
        point = self.policy.liveness
        return LivenessResult(score, self.policy.liveness_verdict(score), point.live_from, point.spoof_below,
                              [float(s) for s in scores], model_scores)

    def examine_reference(self, image: Labelled, timings: Timings) -> Side:
        """A reference image decoded, its face found and embedded (whatever its quality); one lane task."""
        analysis = self.analyse(self.decode(image, timings), "reference", timings)
        return Side([analysis], self.embed(analysis.aligned, timings) if analysis.aligned is not None else None)

    def _selfie_frame(self, image: Labelled, timings: Timings) -> Frame:
        rgb = self.decode(image, timings)
        return rgb, self.analyse(rgb, "selfie", timings)

    def find_selfie_faces(self, images: list[Labelled], timings: Timings) -> list[Future[Frame]]:
        """One lane task per selfie frame, started now: decode it, find and assess its face."""
        return [self._lanes.submit(self._selfie_frame, image, timings) for image in images]

    def examine_selfie(self, found: list[Future[Frame]], timings: Timings, embed: bool) -> Side:
        """Once the faces are found: the first frame's embedding (a selfie with a problem is not matched)
        and liveness, as lane tasks; the embedding is queued first because it is the longest."""
        frames = [frame.result() for frame in found]
        analyses = [analysis for _, analysis in frames]
        primary = analyses[0]
        aligned = primary.aligned if embed and not primary.problems else None
        embedding = self._lanes.submit(self.embed, aligned, timings) if aligned is not None else None
        liveness = self.score_liveness(frames, timings)
        return Side(analyses, embedding.result() if embedding else None, liveness)

    def resolve_preset(self, preset_name: str | None) -> tuple[str, Preset]:
        try:
            return self.policy.preset(preset_name)
        except KeyError:
            raise InputError("unknown_preset", f"preset must be one of {sorted(self.policy.match.presets)}", 400) from None

    @staticmethod
    def match(first: Side, second: Side, operating_point: tuple[str, Preset]) -> MatchResult | None:
        if first.embedding is None or second.embedding is None:
            return None
        name, preset = operating_point
        score = cosine(first.embedding, second.embedding)
        return MatchResult(score, preset.threshold, name, preset.fmr_target, score >= preset.threshold)

    @staticmethod
    def labelled_selfies(selfies: list[bytes]) -> list[tuple[str, bytes]]:
        return [(f"selfie[{i}]", data) for i, data in enumerate(selfies)]

    # -- use cases: the sides of a request run side by side, in lane tasks ---------------------

    def verify(self, selfies: list[bytes], reference: bytes, preset: str | None = None) -> VerifyResult:
        operating_point = self.resolve_preset(preset)  # refuse an unknown preset before any work
        timings = Timings()
        *selfie_images, reference_image = self.check_all(self.labelled_selfies(selfies) + [("reference", reference)])
        selfie_faces = self.find_selfie_faces(selfie_images, timings)
        reference_task = self._lanes.submit(self.examine_reference, reference_image, timings)
        selfie = self.examine_selfie(selfie_faces, timings, embed=True)
        reference_side = reference_task.result()
        match_result = self.match(selfie, reference_side, operating_point)
        (reference_analysis,) = reference_side.analyses
        decision, reasons = decide(
            [p for a in selfie.analyses for p in a.problems],
            reference_analysis.problems,
            selfie.liveness.verdict if selfie.liveness else None,
            match_result.matched if match_result else None,
        )
        return VerifyResult(decision, reasons, selfie.analyses, reference_analysis, match_result, selfie.liveness, timings)

    def check_liveness(self, selfies: list[bytes]) -> VerifyResult:
        timings = Timings()
        selfie_faces = self.find_selfie_faces(self.check_all(self.labelled_selfies(selfies)), timings)
        selfie = self.examine_selfie(selfie_faces, timings, embed=False)
        problems = [p for a in selfie.analyses for p in a.problems]
        decision, reasons = decide(problems, [], selfie.liveness.verdict if selfie.liveness else None, None)
        return VerifyResult(decision, reasons, selfie.analyses, None, None, selfie.liveness, timings)

    def compare(self, image1: bytes, image2: bytes, preset: str | None = None) -> VerifyResult:
        operating_point = self.resolve_preset(preset)
        timings = Timings()
        tasks = [self._lanes.submit(self.examine_reference, image, timings)
                 for image in self.check_all([("image1", image1), ("image2", image2)])]
        first, second = (task.result() for task in tasks)
        match_result = self.match(first, second, operating_point)
        no_face = [p for a in first.analyses + second.analyses for p in a.problems if p == "no_face"]
        decision, reasons = decide(no_face, [], None, match_result.matched if match_result else None)
        return VerifyResult(decision, reasons, first.analyses, second.analyses[0], match_result, None, timings)
