"""Load the trust anchors fixed when faceseal was built."""

from pathlib import Path

from app.integrity.lockfile import Trust

DEFAULT_TRUST_FILE = Path(__file__).with_name("trust.json")


def load_trust(path: Path) -> Trust:
    return Trust.model_validate_json(path.read_bytes())
