"""Schema of `models/models.lock` and `models/trust.json`.

The lock is the single source of model metadata at run time: file digests, I/O signatures,
preprocessing contracts, known answers and the digest of the decision policy.
"""

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict

from app.integrity.kat import KnownAnswer

# "detector" finds the selfie's faces (and a reference's when the "reference-detector" finds none).
Role = Literal["detector", "reference-detector", "embedder", "liveness"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TensorSpec(Strict):
    name: str
    type: str
    shape: list[int | str]


class Preprocessing(Strict):
    """How the runtime must feed the model: x' = (x - mean) / std in `colour` order."""

    input_name: str
    layout: Literal["NCHW", "NHWC"]
    colour: Literal["RGB", "BGR"]
    mean: float
    std: float
    size: list[int] | None = None
    crop_scale: float | None = None
    # Liveness only: how the crop treats the image border and which logit means "real" (fusion weights
    # are calibrated, so they live in the sealed policy, not here).
    crop_mode: Literal["reflect_pad", "shift_inside"] | None = None
    real_index: int | None = None
    outputs: dict[str, str]


class SourceRecord(Strict):
    kind: Literal["pypi", "url"]
    ref: str
    sha256: str
    inner_path: str | None = None
    inner_sha256: str | None = None


class ModelEntry(Strict):
    name: str
    version: str
    role: Role
    file: str
    sha256: str
    size: int
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    sources: list[SourceRecord]
    transform: str
    tools: dict[str, str]
    licence: str
    preprocessing: Preprocessing
    kat: KnownAnswer


class PolicyRef(Strict):
    file: str
    sha256: str
    version: str


class ModelLock(Strict):
    lock_version: int
    models: list[ModelEntry]
    policy: PolicyRef

    def by_role(self, role: Role) -> list[ModelEntry]:
        return [entry for entry in self.models if entry.role == role]

    def dumps(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


class Trust(Strict):
    """Anchors fixed when the service is built: who may sign the lock, how old it may be, and whether
    development mode may set them aside (the image says no)."""

    lock_public_key: str
    min_lock_version: int
    lock_sha256: str | None = None
    development_allowed: bool = True
