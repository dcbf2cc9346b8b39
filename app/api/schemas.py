"""Response bodies. Embeddings, crops and images are never part of any of them.

A default answer is a decision, its reasons and verdicts, and nothing to hill-climb: at 600 requests
a minute, scores, thresholds and face geometry would let an attacker tune a print, a replay or a morph
until it passes. Those numbers sit in `details`, which is null unless the API key is granted them
(docs/API.md); the audit line always records them.
"""

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypeAliasType

from app.inference.lanes import Timings
from app.inference.policy import Outcome, Policy
from app.inference.policy import Verdict as VerdictValues
from app.inference.quality import QualityReport
from app.inference.results import (
    BindingResult,
    CompareOutcome,
    CompareResult,
    FaceAnalysis,
    LivenessResult,
    MatchResult,
    VerifyResult,
)
from app.integrity.gate import SealedSet
from app.integrity.lockfile import ModelEntry

# Named in the document, so a generated client has one type for each rather than one per field that uses it.
Decision = TypeAliasType("Decision", Outcome)
CompareDecision = TypeAliasType("CompareDecision", CompareOutcome)
Verdict = TypeAliasType("Verdict", VerdictValues)
DETAILS = "scores, thresholds and face geometry; null unless the API key is granted details"
TIMINGS = "milliseconds per stage summed over the images; images run side by side, so the sum exceeds wall time"


def _rounded(values: list[float | None]) -> list[float | None]:
    return [round(v, 6) if v is not None else None for v in values]


def _milliseconds(timings: Timings) -> dict[str, float]:
    return {stage: round(ms, 2) for stage, ms in timings.stages_ms.items()}


class FaceOut(BaseModel):
    detected: int = Field(description="faces found in the image")
    problems: list[str] = Field(description="why this image needs a retake; empty when it does not")

    @classmethod
    def of(cls, analysis: FaceAnalysis) -> "FaceOut":
        return cls(detected=analysis.faces_found, problems=analysis.problems)


class FaceDetail(BaseModel):
    box: list[float] = Field(description="x1, y1, x2, y2 in pixels of the upright image")
    landmarks: list[list[float]] = Field(description="5 points (x, y): eyes, nose, mouth corners")
    score: float = Field(description="detector confidence")
    quality: QualityReport | None = Field(description="capture measurements; null when the face was not assessed")

    @classmethod
    def of(cls, analysis: FaceAnalysis) -> "FaceDetail | None":
        face = analysis.face
        if face is None:
            return None
        return cls(box=[round(float(v), 1) for v in face.box],
                   landmarks=[[round(float(x), 1), round(float(y), 1)] for x, y in face.landmarks],
                   score=round(face.score, 4), quality=analysis.quality)


class MatchOut(BaseModel):
    matched: bool = Field(description="every compared frame matches at the preset's threshold")
    preset: str
    fmr_target: float

    @classmethod
    def of(cls, match: MatchResult) -> "MatchOut":
        return cls(matched=match.matched, preset=match.preset, fmr_target=match.fmr_target)


class MatchDetail(BaseModel):
    score: float = Field(description="cosine similarity of the lowest-scoring frame; it decides")
    threshold: float = Field(description="match at or above")
    frame_scores: list[float | None] = Field(description="each selfie frame (compare: image1) against the reference; "
                                                          "null where the frame has no usable face")

    @classmethod
    def of(cls, match: MatchResult) -> "MatchDetail":
        return cls(score=round(match.score, 6), threshold=match.threshold, frame_scores=_rounded(match.frame_scores))


class LivenessOut(BaseModel):
    verdict: Verdict = Field(
        description="the worst frame's (one not judged counts as uncertain): a frame not judged live is never outvoted"
    )
    frame_verdicts: list[Verdict | None] = Field(description="per selfie frame; null where the capture did "
                                                             "not allow liveness to be judged (its problems "
                                                             "say why)")

    @classmethod
    def of(cls, liveness: LivenessResult) -> "LivenessOut":
        return cls(verdict=liveness.verdict, frame_verdicts=liveness.frame_verdicts)


class LivenessDetail(BaseModel):
    score: float = Field(description="fused P(real) of the lowest judged frame")
    live_from: float = Field(description="live at or above this fused P(real)")
    spoof_below: float = Field(description="spoof below this; uncertain in between")
    frame_scores: list[float | None] = Field(description="fused P(real) per selfie frame; null where not judged")
    model_log_odds: dict[str, list[float | None]] = Field(description="each model's log-odds of a real face per frame, "
                                                                      "before fusion")

    @classmethod
    def of(cls, liveness: LivenessResult) -> "LivenessDetail":
        return cls(score=round(liveness.score, 6), live_from=liveness.threshold, spoof_below=liveness.spoof_below,
                   frame_scores=_rounded(liveness.frame_scores),
                   model_log_odds={name: _rounded(values) for name, values in liveness.model_log_odds.items()})


class FramesOut(BaseModel):
    consistent: bool | None = Field(description="the selfie frames show one person; null when fewer than two frames "
                                                "had a face to compare")


class FramesDetail(BaseModel):
    lowest_similarity: float | None = Field(description="lowest cosine similarity between two selfie frames")
    threshold: float = Field(description="every pair of frames must reach this")

    @classmethod
    def of(cls, binding: BindingResult) -> "FramesDetail":
        lowest = binding.lowest_similarity
        return cls(lowest_similarity=round(lowest, 6) if lowest is not None else None, threshold=binding.threshold)


class FacesOut(BaseModel):
    selfie: list[FaceOut]
    reference: FaceOut | None = Field(description="null on /v1/liveness")


class FacesDetail(BaseModel):
    selfie: list[FaceDetail | None] = Field(description="per selfie frame; null where no face was found")
    reference: FaceDetail | None


class Details(BaseModel):
    """The numbers behind a decision, for API keys granted them."""

    match: MatchDetail | None
    liveness: LivenessDetail | None
    frames: FramesDetail
    faces: FacesDetail

    @classmethod
    def of(cls, result: VerifyResult) -> "Details":
        return cls(
            match=MatchDetail.of(result.match) if result.match else None,
            liveness=LivenessDetail.of(result.liveness) if result.liveness else None,
            frames=FramesDetail.of(result.binding),
            faces=FacesDetail(selfie=[FaceDetail.of(a) for a in result.selfie],
                              reference=FaceDetail.of(result.reference) if result.reference else None),
        )


class PolicyOut(BaseModel):
    version: str
    digest: str

    @classmethod
    def of(cls, policy: Policy) -> "PolicyOut":
        return cls(version=policy.version, digest=policy.digest)


class ModelOut(BaseModel):
    name: str
    version: str
    role: str
    sha256: str

    @classmethod
    def of(cls, model: ModelEntry) -> "ModelOut":
        return cls(name=model.name, version=model.version, role=model.role, sha256=model.sha256)


@dataclass(frozen=True)
class Stamp:
    """What every answer names besides its findings: the request, the policy and models that decided, the seal."""

    request_id: str
    policy: PolicyOut
    models: list[ModelOut]
    sealed: bool

    @classmethod
    def of(cls, request_id: str, sealed: SealedSet, policy: Policy, is_sealed: bool) -> "Stamp":
        return cls(request_id, PolicyOut.of(policy), [ModelOut.of(m) for m in sealed.lock.models], is_sealed)


POLICY_EXAMPLE = {"version": "2026.11.5", "digest": "7c37efeeeaa9d7f77c9fd21ae561dc130094b913c321670df006d94ee3ff4061"}
MODELS_EXAMPLE = [{"name": "centerface", "version": "1.0.0", "role": "detector",
                   "sha256": "4bac5353bbfe6b75ad97f009b8aaa952e65d6ef1b50e1e10e543defb59907246"}]
DECISION_EXAMPLE: dict[str, Any] = {
    "request_id": "6711fe21e7db41689619366195b97031",
    "decision": "approve",
    "reasons": [],
    "sealed": True,
    "match": {"matched": True, "preset": "fmr_1e-3", "fmr_target": 0.001},
    "liveness": {"verdict": "live", "frame_verdicts": ["live", "live"]},
    "frames": {"consistent": True},
    "faces": {"selfie": [{"detected": 1, "problems": []}, {"detected": 1, "problems": []}],
              "reference": {"detected": 1, "problems": []}},
    "details": None,
    "policy": POLICY_EXAMPLE,
    "models": MODELS_EXAMPLE,
    "timings_ms": {"decode": 142.2, "detect": 190.55, "align": 11.45, "embed": 113.29, "liveness": 142.87},
}
DETAILS_EXAMPLE: dict[str, Any] = {  # selfie = verify-dev img1.jpg + img5.jpg, reference = img2.jpg, policy 2026.11.5
    "match": {"score": 0.733851, "threshold": 0.5768185596389771, "frame_scores": [0.733851, 0.876613]},
    "liveness": {"score": 0.919864, "live_from": 0.8241251154322238, "spoof_below": 0.715451645456574,
                 "frame_scores": [0.943457, 0.919864],
                 "model_log_odds": {"minifasnetv2se": [4.387023, 7.646127],
                                    "silentface-minifasnetv2-2.7": [1.356737, -1.940231],
                                    "silentface-minifasnetv1se-4.0": [2.699865, 1.615605]}},
    "frames": {"lowest_similarity": 0.710926, "threshold": 0.5768185596389771},
    "faces": {
        "selfie": [
            {"box": [395.7, 119.6, 1030.4, 1079.1],
             "landmarks": [[575.1, 511.4], [878.4, 495.0], [736.5, 683.8], [596.6, 831.7], [859.6, 817.1]],
             "score": 0.9402,
             "quality": {"eye_distance_px": 303.81, "sharpness": 1761.74, "brightness": 138.23, "yaw": -0.0,
                         "roll_deg": -3.1, "inside_image": True, "context": 0.88, "failures": []}},
            {"box": [83.5, 90.5, 275.4, 357.5],
             "landmarks": [[142.5, 210.5], [230.8, 203.8], [193.3, 261.4], [149.2, 297.4], [224.8, 291.6]],
             "score": 0.9179,
             "quality": {"eye_distance_px": 88.53, "sharpness": 670.97, "brightness": 152.7, "yaw": 0.028,
                         "roll_deg": -4.38, "inside_image": True, "context": 0.824, "failures": []}},
        ],
        "reference": {"box": [580.7, 182.0, 965.6, 697.4],
                      "landmarks": [[672.9, 397.2], [849.6, 397.3], [748.8, 496.8], [686.1, 563.6], [840.0, 564.6]],
                      "score": 0.9332,
                      "quality": {"eye_distance_px": 176.67, "sharpness": 1161.89, "brightness": 167.54, "yaw": -0.07,
                                  "roll_deg": 0.0, "inside_image": True, "context": None, "failures": []}},
    },
}
DETAILED_EXAMPLE = {**DECISION_EXAMPLE, "details": DETAILS_EXAMPLE}  # the same answer to a key granted details


class DecisionResponse(BaseModel):
    """The decision of /v1/verify and /v1/liveness."""

    model_config = ConfigDict(json_schema_extra={"examples": [DECISION_EXAMPLE, DETAILED_EXAMPLE]})

    request_id: str
    decision: Decision
    reasons: list[str]
    sealed: bool = Field(description="false: a development-mode service decided, unbound by the baked trust anchors")
    match: MatchOut | None = Field(description="null on /v1/liveness, or when no frame had a face to match")
    liveness: LivenessOut | None = Field(description="null when no selfie frame could be judged")
    frames: FramesOut
    faces: FacesOut
    details: Details | None = Field(description=DETAILS)
    policy: PolicyOut
    models: list[ModelOut]
    timings_ms: dict[str, float] = Field(description=TIMINGS)

    @classmethod
    def of(cls, result: VerifyResult, stamp: Stamp) -> "DecisionResponse":
        """The full answer, details included: withhold them from a key not granted them."""
        return cls(
            request_id=stamp.request_id,
            decision=result.decision,
            reasons=result.reasons,
            sealed=stamp.sealed,
            match=MatchOut.of(result.match) if result.match else None,
            liveness=LivenessOut.of(result.liveness) if result.liveness else None,
            frames=FramesOut(consistent=result.binding.consistent),
            faces=FacesOut(selfie=[FaceOut.of(a) for a in result.selfie],
                           reference=FaceOut.of(result.reference) if result.reference else None),
            details=Details.of(result),
            policy=stamp.policy,
            models=stamp.models,
            timings_ms=_milliseconds(result.timings),
        )


class CompareFacesOut(BaseModel):
    image1: FaceOut
    image2: FaceOut


class CompareFacesDetail(BaseModel):
    image1: FaceDetail | None = Field(description="null where no face was found")
    image2: FaceDetail | None = Field(description="null where no face was found")


class CompareDetails(BaseModel):
    """The numbers behind a comparison, for API keys granted them."""

    match: MatchDetail | None
    faces: CompareFacesDetail

    @classmethod
    def of(cls, result: CompareResult) -> "CompareDetails":
        return cls(match=MatchDetail.of(result.match) if result.match else None,
                   faces=CompareFacesDetail(image1=FaceDetail.of(result.first), image2=FaceDetail.of(result.second)))


COMPARE_EXAMPLE: dict[str, Any] = {
    "request_id": "eaffa7c455844695958ef23aac9c733a",
    "decision": "match",
    "liveness_checked": False,
    "reasons": [],
    "sealed": True,
    "match": {"matched": True, "preset": "fmr_1e-3", "fmr_target": 0.001},
    "faces": {"image1": {"detected": 1, "problems": []}, "image2": {"detected": 1, "problems": []}},
    "details": None,
    "policy": POLICY_EXAMPLE,
    "models": MODELS_EXAMPLE,
    "timings_ms": {"decode": 77.42, "detect": 119.46, "align": 9.19, "embed": 59.07},
}


class CompareResponse(BaseModel):
    """Are two images the same person? A match statement only: no liveness is judged, so `match` is never an
    onboarding approval and must not be used alone to onboard anyone (a printed photo matches its original)."""

    model_config = ConfigDict(json_schema_extra={"examples": [COMPARE_EXAMPLE]})

    request_id: str
    decision: CompareDecision = Field(description="match, no_match, or retake when a face is missing")
    liveness_checked: Literal[False] = Field(description="always false: compare makes no liveness claim")
    reasons: list[str]
    sealed: bool = Field(description="false: a development-mode service decided, unbound by the baked trust anchors")
    match: MatchOut | None = Field(description="null when an image has no face to match")
    faces: CompareFacesOut
    details: CompareDetails | None = Field(description=DETAILS)
    policy: PolicyOut
    models: list[ModelOut]
    timings_ms: dict[str, float] = Field(description=TIMINGS)

    @classmethod
    def of(cls, result: CompareResult, stamp: Stamp) -> "CompareResponse":
        """The full answer, details included: withhold them from a key not granted them."""
        return cls(
            request_id=stamp.request_id,
            decision=result.outcome,
            liveness_checked=False,
            reasons=result.reasons,
            sealed=stamp.sealed,
            match=MatchOut.of(result.match) if result.match else None,
            faces=CompareFacesOut(image1=FaceOut.of(result.first), image2=FaceOut.of(result.second)),
            details=CompareDetails.of(result),
            policy=stamp.policy,
            models=stamp.models,
            timings_ms=_milliseconds(result.timings),
        )


class SealedModelOut(ModelOut):
    file: str
    size: int
    licence: str
    transform: str


    @classmethod
    def of(cls, model: ModelEntry) -> "SealedModelOut":
        return cls(**ModelOut.of(model).model_dump(), file=model.file, size=model.size, licence=model.licence,
                   transform=model.transform)


class ModelsResponse(BaseModel):
    lock_version: int
    lock_sha256: str
    signature_verified: bool
    sealed: bool = Field(description="signature verified against the trust anchors baked into this build")
    known_answer_ok: bool
    integrity_ok: bool
    policy: PolicyOut
    models: list[SealedModelOut]

    @classmethod
    def of(cls, sealed: SealedSet, policy: Policy, is_sealed: bool, integrity_ok: bool) -> "ModelsResponse":
        return cls(
            lock_version=sealed.lock.lock_version,
            lock_sha256=sealed.lock_sha256,
            signature_verified=sealed.signature_verified,
            sealed=is_sealed,
            known_answer_ok=True,  # a service exists only after every known-answer test passed
            integrity_ok=integrity_ok,
            policy=PolicyOut.of(policy),
            models=[SealedModelOut.of(model) for model in sealed.lock.models],
        )


class Health(BaseModel):
    status: Literal["alive"]


class Readiness(BaseModel):
    status: Literal["ready"]
    lock_version: int
    sealed: bool = Field(description="signature verified against the trust anchors baked into this build")
