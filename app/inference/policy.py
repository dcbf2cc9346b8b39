"""The versioned decision policy: calibrated operating points, capture rules and the decision rule.

The policy file is sealed with the models (its SHA-256 is in the signed lock), so a lowered
threshold, a loosened capture rule or re-weighted liveness fusion is a tamper the integrity gate
refuses, not a configuration change. Values are validated when the policy is loaded, so a policy
that could never have come out of `faceseal calibrate` (crossed bounds, unordered presets) cannot
start the service even when signed.
"""

import itertools
import math
import tomllib
from dataclasses import dataclass
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.integrity.digests import sha256_bytes

Outcome = Literal["approve", "reject", "retake"]
Verdict = Literal["live", "spoof", "uncertain"]
Probability = float


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Preset(Strict):
    fmr_target: float = Field(gt=0, lt=1)
    threshold: float = Field(gt=-1, lt=1, description="cosine similarity; match at or above")


class LivenessPoint(Strict):
    """Fused P(real) = sigmoid(bias + sum of weight x logit P(real) of each model); `live` at or
    above `live_from`, `spoof` below `spoof_below`, `uncertain` in between.

    Two stored boundaries rather than a centre and a half-width: recomputing a boundary from
    those in floating point could move it by one ulp across a calibration sample. `drift` is the
    largest score change measured across execution settings (`bench/drift.py`); every dev sample
    lies at least `margin` + `drift` from both boundaries when calibrated, so at least `margin` on any
    machine.
    """

    fusion: Literal["weighted_logit"]
    weights: dict[str, float] = Field(min_length=1)
    bias: float
    flip_average: bool = Field(description="average each model's logit over the crop and its mirror image")
    live_from: float = Field(gt=0, lt=1)
    spoof_below: float = Field(gt=0, lt=1)
    drift: float = Field(ge=0, lt=0.5)
    margin: float = Field(ge=0, lt=0.5)

    @model_validator(mode="after")
    def _bounds_ordered(self) -> Self:
        if self.spoof_below > self.live_from:
            raise ValueError("liveness spoof_below must not exceed live_from")
        if self.margin < self.drift:
            raise ValueError("liveness margin must not be below the measured drift")
        if not all(math.isfinite(w) for w in [*self.weights.values(), self.bias]):
            raise ValueError("liveness fusion weights must be finite")
        return self


class CaptureRules(Strict):
    """What a selfie frame must show before liveness is judged on it (else: retake, with the reason)."""

    min_eye_distance_px: float = Field(gt=0, description="any face: below this it is too small to match")
    liveness_min_eye_distance_px: float = Field(gt=0, description="selfie frames: below this liveness cannot be judged")
    min_context: float = Field(gt=0, le=1,
                               description="share of the tightest liveness crop that must lie inside the image")
    min_sharpness: float = Field(ge=0)
    min_brightness: float = Field(ge=0, le=255)
    max_brightness: float = Field(ge=0, le=255)
    max_yaw: float = Field(gt=0)
    max_roll_deg: float = Field(gt=0, le=180)

    @model_validator(mode="after")
    def _ranges_ordered(self) -> Self:
        if self.min_brightness >= self.max_brightness:
            raise ValueError("capture min_brightness must be below max_brightness")
        if self.liveness_min_eye_distance_px < self.min_eye_distance_px:
            raise ValueError("capture liveness_min_eye_distance_px must not be below min_eye_distance_px")
        return self


class MatchPoints(Strict):
    presets: dict[str, Preset] = Field(min_length=1)
    drift: float = Field(ge=0, lt=0.5, description="largest cosine change measured across execution settings")
    margin: float = Field(ge=0, lt=0.5, description="least distance of any dev pair from a preset, on any machine")

    @model_validator(mode="after")
    def _presets_ordered(self) -> Self:
        """A stricter FMR target must never come with a lower threshold; the margin covers the drift."""
        if self.margin < self.drift:
            raise ValueError("match margin must not be below the measured drift")
        ordered = sorted(self.presets.values(), key=lambda p: -p.fmr_target)
        if any(a.threshold >= b.threshold for a, b in itertools.pairwise(ordered)):
            raise ValueError("match presets must have strictly higher thresholds for lower fmr targets")
        return self


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str
    default_preset: str
    calibration: dict[str, object] = {}  # provenance of the numbers below; not used to decide
    match: MatchPoints
    capture: CaptureRules
    liveness: LivenessPoint
    digest: str = ""

    @classmethod
    def from_bytes(cls, data: bytes) -> "Policy":
        policy = cls.model_validate({**tomllib.loads(data.decode()), "digest": sha256_bytes(data)})
        if policy.default_preset not in policy.match.presets:
            raise ValueError(f"default preset {policy.default_preset} is not defined")
        return policy

    def preset(self, name: str | None) -> tuple[str, Preset]:
        chosen = name or self.default_preset
        return chosen, self.match.presets[chosen]

    def binding_threshold(self, preset: Preset) -> float:
        """Selfie frames must show one person: pairwise at least as strict as the requested preset and
        never looser than the default one."""
        return max(preset.threshold, self.match.presets[self.default_preset].threshold)

    def liveness_verdict(self, real_probability: Probability) -> Verdict:
        return three_way_verdict(real_probability, self.liveness.live_from, self.liveness.spoof_below)


def three_way_verdict(real_probability: Probability, live_from: float, spoof_below: float) -> Verdict:
    """`live` at or above `live_from`, `spoof` below `spoof_below`, `uncertain` in between."""
    if real_probability >= live_from:
        return "live"
    if real_probability < spoof_below:
        return "spoof"
    return "uncertain"


@dataclass(frozen=True)
class Evidence:
    """Everything the decision rests on, already reduced to booleans and verdicts.

    `frame_problems` and `frame_verdicts` are per selfie frame (a verdict is None where the frame's
    capture did not allow liveness to be judged); `frames_consistent` is None when fewer than two
    frames could be compared; `matched` is None when there was nothing to match.
    """

    frame_problems: list[list[str]]
    reference_problems: list[str]
    frame_verdicts: list[Verdict | None]
    frames_consistent: bool | None
    matched: bool | None


def decide(evidence: Evidence) -> tuple[Outcome, list[str]]:
    """The decision order (README, Decisions): evidence of an attack first, then capture problems, then
    the match, then doubt. A frame that is not judged live can never be outvoted by other frames."""
    attack = []
    if "spoof" in evidence.frame_verdicts:
        attack.append("spoof_suspected")
    if evidence.frames_consistent is False:
        attack.append("frames_mismatch")
    if attack:
        return "reject", attack
    frame_problems = [p for frame in evidence.frame_problems for p in frame]
    problems = list(dict.fromkeys(frame_problems + evidence.reference_problems))
    if problems:
        return "retake", problems
    if evidence.matched is False:
        return "reject", ["face_mismatch"]
    if "uncertain" in evidence.frame_verdicts:
        return "retake", ["liveness_uncertain"]
    return "approve", []
