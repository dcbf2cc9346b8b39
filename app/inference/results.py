"""What the pipeline answers: one result type per use case, and the parts they share."""

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from app.inference.faces import Face
from app.inference.lanes import Timings
from app.inference.policy import Outcome, Verdict
from app.inference.quality import QualityReport


@dataclass
class FaceAnalysis:
    faces_found: int
    face: Face | None = None
    quality: QualityReport | None = None
    problems: list[str] = field(default_factory=list)
    aligned: np.ndarray | None = field(default=None, repr=False)


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
class VerifyResult:
    """`verify` and `check_liveness` (which has no reference and no match)."""

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
