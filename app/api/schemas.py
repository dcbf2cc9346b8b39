"""Response bodies. Embeddings, crops and images are never part of any of them."""

from typing import Literal

from pydantic import BaseModel, Field

from app.inference.pipeline import FaceAnalysis, LivenessResult, MatchResult, VerifyResult
from app.inference.quality import QualityReport


class FaceOut(BaseModel):
    detected: int = Field(description="faces found in the image")
    box: list[float] | None = Field(None, description="x1, y1, x2, y2 in pixels of the upright image")
    landmarks: list[list[float]] | None = Field(None, description="5 points (x, y): eyes, nose, mouth corners")
    score: float | None = None
    quality: QualityReport | None = None
    problems: list[str] = []

    @classmethod
    def of(cls, analysis: FaceAnalysis) -> "FaceOut":
        face = analysis.face
        return cls(
            detected=analysis.faces_found,
            box=[round(float(v), 1) for v in face.box] if face else None,
            landmarks=[[round(float(x), 1), round(float(y), 1)] for x, y in face.landmarks] if face else None,
            score=round(face.score, 4) if face else None,
            quality=analysis.quality,
            problems=analysis.problems,
        )


class MatchOut(BaseModel):
    score: float = Field(description="cosine similarity of the two face embeddings")
    threshold: float
    preset: str
    fmr_target: float
    matched: bool

    @classmethod
    def of(cls, match: MatchResult) -> "MatchOut":
        return cls(score=round(match.score, 6), threshold=match.threshold, preset=match.preset,
                   fmr_target=match.fmr_target, matched=match.matched)


class LivenessOut(BaseModel):
    score: float = Field(description="P(real), mean over selfie frames")
    verdict: Literal["live", "spoof", "uncertain"]
    threshold: float = Field(description="live at or above this fused P(real)")
    spoof_below: float = Field(description="spoof below this; uncertain in between")
    frame_scores: list[float]
    model_scores: dict[str, float] = Field(description="each liveness model's mean P(real), before fusion")


class FacesOut(BaseModel):
    selfie: list[FaceOut] = []
    reference: FaceOut | None = None


class PolicyOut(BaseModel):
    version: str
    digest: str


class ModelOut(BaseModel):
    name: str
    version: str
    role: str
    sha256: str


class DecisionResponse(BaseModel):
    request_id: str
    decision: Literal["approve", "reject", "retake"]
    reasons: list[str]
    match: MatchOut | None = None
    liveness: LivenessOut | None = None
    faces: FacesOut
    policy: PolicyOut
    models: list[ModelOut]
    timings_ms: dict[str, float]

    @classmethod
    def of(cls, result: VerifyResult, request_id: str, policy: PolicyOut, models: list[ModelOut]) -> "DecisionResponse":
        live: LivenessResult | None = result.liveness
        return cls(
            request_id=request_id,
            decision=result.decision,
            reasons=result.reasons,
            match=MatchOut.of(result.match) if result.match else None,
            liveness=LivenessOut(score=round(live.score, 6), verdict=live.verdict, threshold=live.threshold,
                                 spoof_below=live.spoof_below,
                                 frame_scores=[round(s, 6) for s in live.frame_scores],
                                 model_scores={k: round(v, 6) for k, v in live.model_scores.items()}) if live else None,
            faces=FacesOut(selfie=[FaceOut.of(a) for a in result.selfie],
                           reference=FaceOut.of(result.reference) if result.reference else None),
            policy=policy,
            models=models,
            timings_ms={k: round(v, 2) for k, v in result.timings.stages_ms.items()},
        )


class SealedModelOut(ModelOut):
    file: str
    size: int
    licence: str
    transform: str


class ModelsResponse(BaseModel):
    lock_version: int
    lock_sha256: str
    signature_verified: bool
    known_answer_ok: bool
    integrity_ok: bool
    policy: PolicyOut
    models: list[SealedModelOut]


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str | None = None
