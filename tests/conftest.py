"""Session fixtures on the real sealed model set (helpers live in devkit/, shared with bench and deploy)."""

from pathlib import Path

import pytest

from app.config import Settings
from app.inference.options import pipeline_options
from app.inference.pipeline import Pipeline
from app.integrity.gate import SealedSet, open_sealed_set
from app.integrity.trust import load_trust
from devkit.paths import MODELS
from devkit.sealed_copy import SealedCopy


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(models_dir=MODELS, auth_disabled=True, reverify_interval_s=0)


@pytest.fixture(scope="session")
def sealed(settings: Settings) -> SealedSet:
    return open_sealed_set(settings.models_dir, load_trust(settings.trust_file), True, settings.ort_threads)


@pytest.fixture(scope="session")
def pipeline(sealed: SealedSet, settings: Settings) -> Pipeline:
    return Pipeline(sealed, pipeline_options(settings, sealed))


@pytest.fixture
def sealed_copy(tmp_path: Path) -> SealedCopy:
    """A private, re-signable copy of the real sealed models for one tamper test."""
    return SealedCopy.create(tmp_path)
