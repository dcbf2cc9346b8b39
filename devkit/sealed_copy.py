"""A private, re-signable copy of the real sealed model set for tamper tests.

Model files are hard links (read-only use); a test that tampers with one replaces the link with a
modified copy, so the real models are never touched. The signing key is generated per test run.
"""

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from app.integrity.gate import LOCK_NAME, SIGNATURE_NAME
from app.integrity.lockfile import ModelEntry, ModelLock
from app.integrity.signing import generate_private_key_pem, public_key_b64, sign
from devkit.paths import MODELS


@dataclass
class SealedCopy:
    models_dir: Path
    trust_file: Path
    key_file: Path

    @property
    def lock_path(self) -> Path:
        return self.models_dir / LOCK_NAME

    def lock(self) -> ModelLock:
        return ModelLock.model_validate_json(self.lock_path.read_bytes())

    def entry(self, name: str) -> ModelEntry:
        (entry,) = [entry for entry in self.lock().models if entry.name == name]
        return entry

    def write_lock(self, lock: ModelLock, resign: bool = True) -> None:
        self.lock_path.write_text(lock.dumps())
        if resign:
            self.sign()

    def sign(self) -> None:
        (self.models_dir / SIGNATURE_NAME).write_text(sign(self.lock_path.read_bytes(), self.key_file) + "\n")

    def replace_file(self, name: str, data: bytes) -> None:
        path = self.models_dir / name
        path.unlink()
        path.write_bytes(data)

    def trust(self, **changes: object) -> None:
        document = json.loads(self.trust_file.read_text())
        self.trust_file.write_text(json.dumps({**document, **changes}))

    @classmethod
    def create(cls, directory: Path) -> "SealedCopy":
        """Links to the real models, copies of the lock and policy, signed with a new key trusted in `directory`."""
        models_dir = directory / "models"
        models_dir.mkdir()
        lock = ModelLock.model_validate_json((MODELS / LOCK_NAME).read_bytes())
        for entry in lock.models:
            os.link(MODELS / entry.file, models_dir / entry.file)
        shutil.copy(MODELS / LOCK_NAME, models_dir / LOCK_NAME)
        shutil.copy(MODELS / lock.policy.file, models_dir / lock.policy.file)
        pem = generate_private_key_pem()
        key_file = directory / "test-signing-key.pem"
        key_file.write_bytes(pem)
        trust_file = directory / "trust.json"
        trust = {"lock_public_key": public_key_b64(pem), "min_lock_version": lock.lock_version}
        trust_file.write_text(json.dumps(trust))
        copy = cls(models_dir, trust_file, key_file)
        copy.sign()
        return copy
