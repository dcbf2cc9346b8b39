"""Response bodies. Embeddings, crops and images are never part of any of them."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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


DECISION_EXAMPLE = {
    "request_id": "016b1cbbb2db48009b385430a75b36b6",
    "decision": "approve",
    "reasons": [],
    "match": {"score": 0.73802, "threshold": 0.5796290636062623, "preset": "fmr_1e-3", "fmr_target": 0.001, "matched": True},
    "liveness": {"score": 0.941038, "verdict": "live", "threshold": 0.16748575866222384, "spoof_below": 0.16188852861523628,
                 "frame_scores": [0.941038],
                 "model_scores": {"minifasnetv2se": 0.989509, "silentface-minifasnetv2-2.7": 0.835492,
                                  "silentface-minifasnetv1se-4.0": 0.954391}},
    "faces": {"selfie": [{"detected": 1, "box": [395.7, 119.6, 1030.4, 1079.1],
                          "landmarks": [[575.1, 511.4], [878.4, 495.0], [736.5, 683.8], [596.6, 831.7], [859.6, 817.1]],
                          "score": 0.9402, "problems": []}],
              "reference": {"detected": 1, "box": [587.6, 187.1, 962.9, 688.3], "problems": []}},
    "policy": {"version": "2026.11.3", "digest": "23743dce21c9f502e28a01a76c04d94a8f5671365e58606f43975d8c3393eeae"},
    "models": [{"name": "centerface", "version": "1.0.0", "role": "detector",
                "sha256": "4bac5353bbfe6b75ad97f009b8aaa952e65d6ef1b50e1e10e543defb59907246"}],
    "timings_ms": {"decode": 88.9, "detect": 118.1, "align": 2.5, "liveness": 41.0, "embed": 73.5},
    "sealed": True,
}


class DecisionResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [DECISION_EXAMPLE]})

    request_id: str
    decision: Literal["approve", "reject", "retake"]
    reasons: list[str]
    match: MatchOut | None = None
    liveness: LivenessOut | None = None
    faces: FacesOut
    policy: PolicyOut
    models: list[ModelOut]
    timings_ms: dict[str, float] = Field(
        description="milliseconds per stage summed over the images; images run side by side, so the sum exceeds wall time"
    )
    sealed: bool = Field(description="false: a development-mode service decided, unbound by the baked trust anchors")

    @classmethod
    def of(cls, result: VerifyResult, request_id: str, policy: PolicyOut, models: list[ModelOut],
           sealed: bool) -> "DecisionResponse":
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
            sealed=sealed,
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
    sealed: bool = Field(description="signature verified against the trust anchors baked into this build")
    known_answer_ok: bool
    integrity_ok: bool
    policy: PolicyOut
    models: list[SealedModelOut]


class Problem(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "type": "urn:faceseal:problem:image_too_large", "title": "Request Entity Too Large", "status": 413,
        "detail": "selfie[0]: image is 50000x50000; limits are 12000 px a side and 40000000 pixels",
        "code": "image_too_large", "request_id": "79847e6753ce4b2ab9cadc89ebb4da13"}]})

    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str | None = None
