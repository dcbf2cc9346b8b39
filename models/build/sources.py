"""Read `models/sources.toml` into typed records."""

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from app.integrity.lockfile import Preprocessing, Role, SourceRecord


class KatSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input_shape: list[int]
    input_low: float
    input_high: float


class ModelSource(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    version: str
    role: Role
    file: str
    licence: str
    transform: str
    source: SourceRecord
    preprocessing: Preprocessing
    kat: KatSpec


def load_sources(path: Path) -> list[ModelSource]:
    with path.open("rb") as handle:
        document = tomllib.load(handle)
    return [ModelSource.model_validate(entry) for entry in document["model"]]
