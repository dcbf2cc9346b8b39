"""Shared fixtures: the real sealed model set and the dev data beside the checkout."""

import os
from pathlib import Path

import pytest

from app.config import Settings
from app.inference.options import pipeline_options
from app.inference.pipeline import Pipeline
from app.integrity.gate import SealedSet, open_sealed_set
from app.integrity.trust import load_trust

pytest_plugins = ["tests.sealed_copy"]

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FACESEAL_SHARED", REPO.parent / "shared"))
DATA = SHARED / "data"
VERIFY_IMAGES = DATA / "verify-dev" / "images"
LIVENESS = DATA / "liveness-dev"
MODELS = REPO / "models"


def data_file(relative: str) -> bytes:
    path = DATA / relative
    if not path.exists():
        pytest.fail(f"dev data missing: {path} (CI always has ../shared beside the checkout)")
    return path.read_bytes()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(models_dir=MODELS, auth_disabled=True, reverify_interval_s=0)


@pytest.fixture(scope="session")
def sealed(settings: Settings) -> SealedSet:
    return open_sealed_set(settings.models_dir, load_trust(settings.trust_file), True, settings.ort_threads)


@pytest.fixture(scope="session")
def pipeline(sealed: SealedSet, settings: Settings) -> Pipeline:
    return Pipeline(sealed, pipeline_options(settings, sealed))

