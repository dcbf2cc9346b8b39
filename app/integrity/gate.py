"""The startup integrity gate.

Each file is read once; those exact bytes are hashed, compared with the signed lock and handed
to onnxruntime, so there is no gap between checking a file and loading it. Any failure raises
`IntegrityError` naming the model, the check, the expected and the actual value.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

import onnxruntime as ort
from pydantic import ValidationError

from app.integrity.digests import sha256_bytes
from app.integrity.kat import drift, kat_input
from app.integrity.lockfile import ModelEntry, ModelLock, Role, Trust
from app.integrity.runtime import new_session, tensor_specs
from app.integrity.signing import key_id, verify

LOCK_NAME = "models.lock"
SIGNATURE_NAME = "models.lock.sig"
MODEL_SUFFIXES = (".onnx", ".ort")


class IntegrityError(RuntimeError):
    def __init__(self, subject: str, check: str, expected: object, actual: object) -> None:
        self.subject, self.check, self.expected, self.actual = subject, check, expected, actual
        super().__init__(f"integrity check failed: {subject}: {check}: expected {expected}, got {actual}")


@dataclass(frozen=True)
class LoadedModel:
    entry: ModelEntry
    session: ort.InferenceSession


@dataclass(frozen=True)
class SealedSet:
    """Everything the gate vouched for: sessions, lock, policy bytes and how long it took."""

    lock: ModelLock
    lock_sha256: str
    signature_verified: bool
    signer_key_id: str | None  # of the key that verified the signature; None when it was not checked
    models: dict[str, LoadedModel]  # by model name
    policy_bytes: bytes
    timings_s: dict[str, float] = field(default_factory=dict)

    def by_role(self, role: Role) -> list[LoadedModel]:
        return [model for model in self.models.values() if model.entry.role == role]


def _read(path: Path, subject: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise IntegrityError(subject, "present", str(path), "missing") from None


def _check_lock(models_dir: Path, trust: Trust, require_signature: bool) -> tuple[ModelLock, bytes, bool]:
    lock_bytes = _read(models_dir / LOCK_NAME, LOCK_NAME)
    lock_sha256 = sha256_bytes(lock_bytes)
    if trust.lock_sha256 and lock_sha256 != trust.lock_sha256:
        raise IntegrityError(LOCK_NAME, "sha256 (baked at build)", trust.lock_sha256, lock_sha256)
    signature_verified = False
    if require_signature:
        signature = models_dir / SIGNATURE_NAME
        if not signature.exists():
            raise IntegrityError(LOCK_NAME, "signature", "a signature file", "missing")
        if not verify(lock_bytes, signature.read_text(), trust.lock_public_key):
            raise IntegrityError(LOCK_NAME, "signature", "valid Ed25519 signature", "invalid")
        signature_verified = True
    try:
        lock = ModelLock.model_validate_json(lock_bytes)
    except ValidationError as error:
        raise IntegrityError(LOCK_NAME, "schema", "a valid lock", f"{error.error_count()} errors") from None
    if lock.lock_version < trust.min_lock_version:
        raise IntegrityError(LOCK_NAME, "lock_version (anti-downgrade)", f">= {trust.min_lock_version}",
                             lock.lock_version)
    return lock, lock_bytes, signature_verified


def _check_no_strangers(models_dir: Path, lock: ModelLock) -> None:
    known = {entry.file for entry in lock.models}
    for path in sorted(models_dir.iterdir()):
        if path.suffix in MODEL_SUFFIXES and path.name not in known:
            raise IntegrityError(path.name, "listed in lock", sorted(known), "unknown model file")


def _load_model(models_dir: Path, entry: ModelEntry, lock: ModelLock, threads: int,
                timings: dict[str, float]) -> LoadedModel:
    started = time.perf_counter()
    data = _read(models_dir / entry.file, entry.name)
    digest = sha256_bytes(data)
    timings["read_and_hash"] = timings.get("read_and_hash", 0.0) + time.perf_counter() - started
    if digest != entry.sha256:
        impostor = next((other.name for other in lock.models if other.sha256 == digest), None)
        if impostor:
            raise IntegrityError(entry.name, "sha256 (swapped file)", entry.sha256, f"the bytes of {impostor}")
        if len(data) != entry.size:
            raise IntegrityError(entry.name, "size", entry.size, len(data))
        raise IntegrityError(entry.name, "sha256", entry.sha256, digest)
    started = time.perf_counter()
    fixed_size = all(isinstance(dim, int) for spec in entry.inputs for dim in spec.shape[1:])
    session = new_session(data, threads, memory_arena=fixed_size)
    timings["create_sessions"] = timings.get("create_sessions", 0.0) + time.perf_counter() - started
    inputs, outputs = tensor_specs(session)
    if (inputs, outputs) != (entry.inputs, entry.outputs):
        raise IntegrityError(entry.name, "io_signature", entry.inputs + entry.outputs, inputs + outputs)
    return LoadedModel(entry=entry, session=session)


def run_known_answer(model: LoadedModel) -> None:
    kat = model.entry.kat
    feed = kat_input(kat.input_shape, kat.input_low, kat.input_high)
    results = model.session.run(list(kat.outputs), {model.entry.preprocessing.input_name: feed})
    for (name, expected), actual in zip(kat.outputs.items(), results, strict=True):
        problem = drift(expected, actual)
        if problem:
            raise IntegrityError(model.entry.name, f"known_answer[{name}]", "recorded output", problem)


def open_sealed_set(models_dir: Path, trust: Trust, require_signature: bool, threads: int) -> SealedSet:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    lock, lock_bytes, signature_verified = _check_lock(models_dir, trust, require_signature)
    _check_no_strangers(models_dir, lock)
    policy_bytes = _read(models_dir / lock.policy.file, lock.policy.file)
    if sha256_bytes(policy_bytes) != lock.policy.sha256:
        raise IntegrityError(lock.policy.file, "sha256", lock.policy.sha256, sha256_bytes(policy_bytes))
    timings["lock_and_signature"] = time.perf_counter() - started
    models = {entry.name: _load_model(models_dir, entry, lock, threads, timings) for entry in lock.models}
    required: tuple[tuple[Role, int], ...] = (("detector", 1), ("reference-detector", 1), ("embedder", 1))
    for role, count in required:
        if len(lock.by_role(role)) != count:
            raise IntegrityError(LOCK_NAME, f"{role} models", count, len(lock.by_role(role)))
    if not lock.by_role("liveness"):
        raise IntegrityError(LOCK_NAME, "liveness models", ">= 1", 0)
    started = time.perf_counter()
    for model in models.values():
        run_known_answer(model)
    timings["known_answer"] = time.perf_counter() - started
    signer = key_id(trust.lock_public_key) if signature_verified else None
    return SealedSet(lock, sha256_bytes(lock_bytes), signature_verified, signer, models, policy_bytes, timings)


def reverify_files(models_dir: Path, sealed: SealedSet) -> None:
    """Periodic check that the files on disk still hold the bytes that were loaded."""
    for entry in sealed.lock.models:
        digest = sha256_bytes(_read(models_dir / entry.file, entry.name))
        if digest != entry.sha256:
            raise IntegrityError(entry.name, "sha256 (re-verification)", entry.sha256, digest)
    lock_digest = sha256_bytes(_read(models_dir / LOCK_NAME, LOCK_NAME))
    if lock_digest != sealed.lock_sha256:
        raise IntegrityError(LOCK_NAME, "sha256 (re-verification)", sealed.lock_sha256, lock_digest)
