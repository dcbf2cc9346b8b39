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

import itertools
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import cv2
import numpy as np

from app.config import Settings
from app.inference.alignment import align
from app.inference.detector import FaceDetector
from app.inference.embedder import FaceEmbedder, cosine
from app.inference.errors import InputError, ProblemCode
from app.inference.faces import Face
from app.inference.imaging import CheckedImage, check_image, decode_checked
from app.inference.liveness import LivenessEnsemble, LivenessModel
from app.inference.policy import Evidence, Outcome, Policy, Preset, Verdict, decide
from app.inference.quality import QualityReport, assess
from app.integrity.gate import SealedSet

Kind = Literal["selfie", "reference"]
Labelled = tuple[str, CheckedImage]  # ("selfie[0]", ...): the label names the image in error messages
# Tight crops (forehead to chin) defeat CenterFace; shrinking the face inside a border cures most.
PADDED_RETRIES = ((0.5, cv2.BORDER_CONSTANT), (0.25, cv2.BORDER_REPLICATE), (1.0, cv2.BORDER_CONSTANT))


@contextmanager
def _cancelled_on_error(tasks: list[Future[Any]]) -> Iterator[None]:
    """A request that fails (an undecodable or blank image) leaves none of its queued lane tasks behind:
    they would decode and detect for an answer already sent, while its slot admits the next request."""
    try:
        yield
    except BaseException:
        for task in tasks:
            task.cancel()
        raise


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
    """Per frame: fused P(real), verdict and each model's log-odds (None where the frame's capture did not
    allow liveness to be judged). The overall verdict is the worst frame's (a frame not judged counts as
    uncertain): one frame not judged live can never be outvoted by others, so adding frames cannot turn
    a rejected spoof into an approval."""

    verdict: Verdict
    score: float  # the lowest judged frame's fused P(real)
    threshold: float
    spoof_below: float
    frame_scores: list[float | None]
    frame_verdicts: list[Verdict | None]
    model_log_odds: dict[str, list[float | None]]


@dataclass
class MatchResult:
    """Every comparable frame against the reference; the match holds only when every frame matches."""

    score: float  # the lowest frame's cosine
    threshold: float
    preset: str
    fmr_target: float
    matched: bool
    frame_scores: list[float | None] = field(default_factory=list)


@dataclass
class BindingResult:
    """Do the selfie frames show one person? Every pair of frames with a face must match."""

    consistent: bool | None  # None: fewer than two frames could be compared
    lowest_similarity: float | None
    threshold: float


@dataclass
class Side:
    """One side of a request (the selfie frames, or one reference image) and what its lane tasks found."""

    analyses: list[FaceAnalysis]
    embeddings: list[np.ndarray | None] = field(default_factory=list, repr=False)
    liveness: LivenessResult | None = None


@dataclass
class VerifyResult:
    decision: Outcome
    reasons: list[str]
    selfie: list[FaceAnalysis]
    reference: FaceAnalysis | None
    match: MatchResult | None
    liveness: LivenessResult | None
    binding: BindingResult
    timings: Timings


CompareOutcome = Literal["match", "no_match", "retake"]


@dataclass
class CompareResult:
    """Two images compared, nothing more: no liveness is judged, so the outcome is a match statement,
    never an onboarding approval."""

    outcome: CompareOutcome
    reasons: list[str]
    first: FaceAnalysis
    second: FaceAnalysis
    match: MatchResult | None
    timings: Timings


class Pipeline:
    def __init__(self, sealed: SealedSet, settings: Settings) -> None:
        (detector,), (embedder,) = sealed.by_role("detector"), sealed.by_role("embedder")
        self.policy = Policy.from_bytes(sealed.policy_bytes)
        self._settings = settings
        self._limits = settings.image_limits()
        self._detector = FaceDetector(detector.session, detector.entry, settings.detector_score)
        self._embedder = FaceEmbedder(embedder.session, embedder.entry)
        self._liveness = LivenessEnsemble(
            [LivenessModel(m.session, m.entry) for m in sealed.by_role("liveness")], self.policy.liveness
        )
        self._lanes = ThreadPoolExecutor(max_workers=settings.lanes, thread_name_prefix="faceseal-lane")

    def warm_up(self) -> None:
        """Run each model once at serving shapes so the first request does not pay for allocation."""
        size = self._settings.detector_long_side
        blank = np.full((size * 3 // 4, size, 3), 127, np.uint8)
        self._detector.detect(blank, size)
        self._embedder.embed([blank[:160, :160]])
        face = Face(np.array([100.0, 60, 260, 260]), np.zeros((5, 2)), 1.0)
        for model in self._liveness.models:
            model.score([(blank, face)], self.policy.liveness.flip_average)

    # -- stages -----------------------------------------------------------------------------

    def check_all(self, labelled: list[tuple[str, bytes]]) -> list[Labelled]:
        """Every image's header against the limits, then all of them against the request's pixel budget,
        before any lane work: a request refused by its headers (format, bytes, pixels) costs no decoding or
        inference, and no request decodes more pixels than the budget, however many frames it sends."""
        checked = []
        for label, data in labelled:
            with _labelled(label):
                checked.append((label, check_image(data, self._limits)))
        pixels, budget = sum(image.width * image.height for _, image in checked), self._settings.max_request_pixels
        if pixels > budget:
            raise InputError(ProblemCode.too_many_pixels,
                             f"the images hold {pixels} pixels together; the limit is {budget}", 413)
        return checked

    def decode(self, image: Labelled, timings: Timings) -> np.ndarray:
        label, checked = image
        with _labelled(label), timings.stage("decode"):
            return decode_checked(checked, self._limits.work_side)

    def find_faces(self, rgb: np.ndarray) -> list[Face]:
        """Normal pass; if it finds nothing, padded passes for tight crops, or for an image larger than the
        large pass, that pass for small faces instead.

        Bounded so an image without a face costs under twice one with a face, not 2.6-2.9x (README,
        Performance): four passes at the detector's size, or one and the large pass (4 normal ones at twice
        the size). Below its own size the large pass could only enlarge the image, and the normal pass finds
        faces 6 px between the eyes (40 of 40 dev faces), so 12 px on an image twice its size: fewer than a
        selfie or a reference may have. On the dev data (1,407 images) padded passes found faces only in
        images under 480 px and the large pass none: every face found is the same as before.

        Padding happens on a copy already shrunk to the detector's size: the same input the detector
        would see, without allocating a padded full-resolution image (up to 9x its pixels).
        """
        size, large = self._settings.detector_long_side, self._settings.detector_large_side
        faces = self._detector.detect(rgb, size)
        if faces or min(rgb.shape[:2]) * size < max(rgb.shape[:2]):  # under 1 px thick at the detector's size:
            return faces  # no face, and a copy shrunk to that size would have no pixels
        if max(rgb.shape[:2]) > large:
            return self._detector.detect(rgb, large)
        scale = min(1.0, size / max(rgb.shape[:2]))
        small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
        for fraction, border in PADDED_RETRIES:
            pad = int(fraction * max(small.shape[:2]))
            padded = cv2.copyMakeBorder(small, pad, pad, pad, pad, border, value=(127, 127, 127))
            found = self._detector.detect(padded, size)
            if found:
                return [face.unmapped(pad, scale) for face in found]
        return []

    def analyse(self, rgb: np.ndarray, kind: Kind, timings: Timings) -> FaceAnalysis:
        with timings.stage("detect"):
            faces = sorted(self.find_faces(rgb), key=lambda f: f.area, reverse=True)
        if not faces:
            return FaceAnalysis(faces_found=0, problems=["no_face"])
        face = faces[0]
        if kind == "selfie" and len(faces) > 1 and faces[1].area >= self._settings.dominant_face_ratio * face.area:
            return FaceAnalysis(faces_found=len(faces), face=face, problems=["multiple_faces"])
        liveness_crop_scale = self._liveness.tightest_crop_scale if kind == "selfie" else None
        with timings.stage("align"):
            aligned = align(rgb, face.landmarks)
            quality = assess(face, aligned, rgb.shape, self.policy.capture, liveness_crop_scale)
        return FaceAnalysis(len(faces), face, quality, list(quality.failures), aligned)

    def embed(self, aligned: np.ndarray, timings: Timings) -> np.ndarray:
        with timings.stage("embed"):
            (embedding,) = self._embedder.embed([aligned])
            return embedding

    def _score_with(self, model: LivenessModel, pairs: list[tuple[np.ndarray, Face]], timings: Timings) -> np.ndarray:
        with timings.stage("liveness"):
            return model.score(pairs, self.policy.liveness.flip_average)

    def score_liveness(self, frames: list[Frame], timings: Timings) -> LivenessResult | None:
        """Liveness of every frame whose capture allows it (no problem of any kind), each model in its own
        lane task; None when no frame can be judged."""
        judged = [i for i, (_, analysis) in enumerate(frames) if analysis.face and not analysis.problems]
        if not judged:
            return None
        pairs = [(frames[i][0], frames[i][1].face) for i in judged]
        futures = {m.name: self._lanes.submit(self._score_with, m, pairs, timings) for m in self._liveness.models}
        log_odds = {name: future.result() for name, future in futures.items()}
        fused = self._liveness.fuse(log_odds)
        scores: list[float | None] = [None] * len(frames)
        verdicts: list[Verdict | None] = [None] * len(frames)
        per_model: dict[str, list[float | None]] = {name: [None] * len(frames) for name in log_odds}
        for position, frame in enumerate(judged):
            scores[frame] = float(fused[position])
            verdicts[frame] = self.policy.liveness_verdict(float(fused[position]))
            for name, values in log_odds.items():
                per_model[name][frame] = float(values[position])
        # A frame that could not be judged leaves the whole selfie unproven: never "live" overall.
        worst = "spoof" if "spoof" in verdicts else "live" if all(v == "live" for v in verdicts) else "uncertain"
        point = self.policy.liveness
        return LivenessResult(worst, float(fused.min()), point.live_from, point.spoof_below, scores, verdicts, per_model)

    def examine_reference(self, image: Labelled, timings: Timings) -> Side:
        """A reference image decoded, its face found and embedded (whatever its quality); one lane task."""
        analysis = self.analyse(self.decode(image, timings), "reference", timings)
        return Side([analysis], [self.embed(analysis.aligned, timings) if analysis.aligned is not None else None])

    def _selfie_frame(self, image: Labelled, timings: Timings) -> Frame:
        rgb = self.decode(image, timings)
        return rgb, self.analyse(rgb, "selfie", timings)

    def find_selfie_faces(self, images: list[Labelled], timings: Timings) -> list[Future[Frame]]:
        """One lane task per selfie frame, started now: decode it, find and assess its face."""
        return [self._lanes.submit(self._selfie_frame, image, timings) for image in images]

    def examine_selfie(self, found: list[Future[Frame]], timings: Timings, embed: bool) -> Side:
        """Once the faces are found: each frame's embedding (to bind the frames to one person and match
        every frame) and liveness, as lane tasks; embeddings are queued first because they are the longest.
        A single frame on the liveness route needs no embedding."""
        frames = [frame.result() for frame in found]
        analyses = [analysis for _, analysis in frames]
        embed = embed or len(frames) > 1
        tasks = [self._lanes.submit(self.embed, a.aligned, timings) if embed and a.aligned is not None else None
                 for a in analyses]
        liveness = self.score_liveness(frames, timings)
        return Side(analyses, [task.result() if task else None for task in tasks], liveness)

    def resolve_preset(self, preset_name: str | None) -> tuple[str, Preset]:
        try:
            return self.policy.preset(preset_name)
        except KeyError:
            raise InputError(ProblemCode.unknown_preset, f"preset must be one of {sorted(self.policy.match.presets)}",
                             400) from None

    def bind_frames(self, selfie: Side, preset: Preset) -> BindingResult:
        """Pairwise similarity of the frames that have a face, at least as strict as the match itself."""
        threshold = self.policy.binding_threshold(preset)
        present = [e for e in selfie.embeddings if e is not None]
        similarities = [cosine(a, b) for a, b in itertools.combinations(present, 2)]
        if not similarities:
            return BindingResult(None, None, threshold)
        lowest = min(similarities)
        return BindingResult(lowest >= threshold, lowest, threshold)

    @staticmethod
    def match(first: Side, reference: Side, operating_point: tuple[str, Preset]) -> MatchResult | None:
        """Every frame of `first` that has an embedding against the reference; the lowest score decides,
        so a matching frame cannot carry one that does not match."""
        (reference_embedding,) = reference.embeddings
        scores = [cosine(e, reference_embedding) if e is not None and reference_embedding is not None else None
                  for e in first.embeddings]
        present = [score for score in scores if score is not None]
        if not present:
            return None
        name, preset = operating_point
        lowest = min(present)
        return MatchResult(lowest, preset.threshold, name, preset.fmr_target, lowest >= preset.threshold, scores)

    @staticmethod
    def labelled_selfies(selfies: list[bytes]) -> list[tuple[str, bytes]]:
        return [(f"selfie[{i}]", data) for i, data in enumerate(selfies)]

    @staticmethod
    def _evidence(selfie: Side, reference_problems: list[str], binding: BindingResult,
                  match_result: MatchResult | None) -> Evidence:
        verdicts = selfie.liveness.frame_verdicts if selfie.liveness else [None] * len(selfie.analyses)
        return Evidence([a.problems for a in selfie.analyses], reference_problems, verdicts, binding.consistent,
                        match_result.matched if match_result else None)

    # -- use cases: the sides of a request run side by side, in lane tasks ---------------------

    def verify(self, selfies: list[bytes], reference: bytes, preset: str | None = None) -> VerifyResult:
        operating_point = self.resolve_preset(preset)  # refuse an unknown preset before any work
        timings = Timings()
        *selfie_images, reference_image = self.check_all(self.labelled_selfies(selfies) + [("reference", reference)])
        selfie_faces = self.find_selfie_faces(selfie_images, timings)
        reference_task = self._lanes.submit(self.examine_reference, reference_image, timings)
        with _cancelled_on_error([*selfie_faces, reference_task]):
            selfie = self.examine_selfie(selfie_faces, timings, embed=True)
            reference_side = reference_task.result()
        binding = self.bind_frames(selfie, operating_point[1])
        match_result = self.match(selfie, reference_side, operating_point)
        (reference_analysis,) = reference_side.analyses
        decision, reasons = decide(self._evidence(selfie, reference_analysis.problems, binding, match_result))
        return VerifyResult(decision, reasons, selfie.analyses, reference_analysis, match_result, selfie.liveness,
                            binding, timings)

    def check_liveness(self, selfies: list[bytes]) -> VerifyResult:
        timings = Timings()
        selfie_faces = self.find_selfie_faces(self.check_all(self.labelled_selfies(selfies)), timings)
        with _cancelled_on_error(selfie_faces):
            selfie = self.examine_selfie(selfie_faces, timings, embed=False)
        binding = self.bind_frames(selfie, self.policy.preset(None)[1])
        decision, reasons = decide(self._evidence(selfie, [], binding, None))
        return VerifyResult(decision, reasons, selfie.analyses, None, None, selfie.liveness, binding, timings)

    def compare(self, image1: bytes, image2: bytes, preset: str | None = None) -> CompareResult:
        operating_point = self.resolve_preset(preset)
        timings = Timings()
        tasks = [self._lanes.submit(self.examine_reference, image, timings)
                 for image in self.check_all([("image1", image1), ("image2", image2)])]
        with _cancelled_on_error(tasks):
            first, second = (task.result() for task in tasks)
        match_result = self.match(first, second, operating_point)
        if match_result is None:  # a face is missing on one side or both
            return CompareResult("retake", ["no_face"], first.analyses[0], second.analyses[0], None, timings)
        outcome: CompareOutcome = "match" if match_result.matched else "no_match"
        return CompareResult(outcome, [], first.analyses[0], second.analyses[0], match_result, timings)
