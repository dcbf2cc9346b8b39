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
    model_config = ConfigDict(extra="forbid", frozen=True)
    threshold: float
    uncertain_band: float


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
        return policy

    def preset(self, name: str | None) -> tuple[str, Preset]:
        chosen = name or self.default_preset
        return chosen, self.match.presets[chosen]

    def liveness_verdict(self, real_probability: float) -> Verdict:
        point = self.liveness
        if real_probability >= point.threshold + point.uncertain_band:
            return "live"
        if real_probability < point.threshold - point.uncertain_band:
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
