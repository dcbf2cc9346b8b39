"""Where the checkout, its sealed models and the shared dev data are (the data lies beside the checkout)."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
SHARED = Path(os.environ.get("FACESEAL_SHARED", REPO.parent / "shared"))
DATA = SHARED / "data"
VERIFY_IMAGES = DATA / "verify-dev" / "images"
LIVENESS = DATA / "liveness-dev"


class MissingDevData(FileNotFoundError):
    """The shared dev data is not where the suite expects it."""


def data_file(relative: str) -> bytes:
    """The bytes of one dev data file; a clear error (not a skip) when the data is missing."""
    path = DATA / relative
    if not path.exists():
        raise MissingDevData(f"dev data missing: {path} (CI always has ../shared beside the checkout)")
    return path.read_bytes()
