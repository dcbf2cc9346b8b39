"""The versioned decision policy: calibrated operating points and the rule that combines them.

The policy file is sealed with the models (its SHA-256 is in the signed lock), so a lowered
threshold is a tamper the integrity gate refuses, not a configuration change.
"""

import tomllib
from typing import Literal

from pydantic import BaseModel, ConfigDict

from app.integrity.digests import sha256_bytes

Outcome = Literal["approve", "reject", "retake"]
Verdict = Literal["live", "spoof", "uncertain"]


class Preset(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    fmr_target: float
    threshold: float


class LivenessPoint(BaseModel):
    """`live` at or above `live_from`, `spoof` below `spoof_below`, `uncertain` in between.

    Two stored boundaries rather than a centre and a half-width: recomputing a boundary from
    those in floating point could move it by one ulp across a calibration sample.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    live_from: float
    spoof_below: float
    fusion: str


class MatchPoints(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    presets: dict[str, Preset]


class Policy(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    version: str
    default_preset: str
    match: MatchPoints
    liveness: LivenessPoint
    digest: str = ""

    @classmethod
    def from_bytes(cls, data: bytes) -> "Policy":
        policy = cls.model_validate({**tomllib.loads(data.decode()), "digest": sha256_bytes(data)})
        if policy.default_preset not in policy.match.presets:
            raise ValueError(f"default preset {policy.default_preset} is not defined")
        if policy.liveness.spoof_below > policy.liveness.live_from:
            raise ValueError("liveness spoof_below must not exceed live_from")
        return policy

    def preset(self, name: str | None) -> tuple[str, Preset]:
        chosen = name or self.default_preset
        return chosen, self.match.presets[chosen]

    def liveness_verdict(self, real_probability: float) -> Verdict:
        if real_probability >= self.liveness.live_from:
            return "live"
        if real_probability < self.liveness.spoof_below:
            return "spoof"
        return "uncertain"


def decide(
    selfie_problems: list[str],
    reference_problems: list[str],
    verdict: Verdict | None,
    matched: bool | None,
) -> tuple[Outcome, list[str]]:
    """Combine the evidence; a spoof overrides everything, capture problems ask for a retake."""
    if verdict == "spoof":
        return "reject", ["spoof_suspected"]
    problems = list(dict.fromkeys(selfie_problems + reference_problems))
    if problems:
        return "retake", problems
    if matched is False:
        return "reject", ["face_mismatch"]
    if verdict == "uncertain":
        return "retake", ["liveness_uncertain"]
    return "approve", []
