"""Every tampering the gate must refuse, each with its own check name, plus the clean set that opens."""

import re

import pytest

from app.integrity.gate import SIGNATURE_NAME, IntegrityError, SealedSet, open_sealed_set
from app.integrity.kat import OutputFingerprint
from app.integrity.lockfile import ModelLock
from app.integrity.trust import load_trust
from devkit.paths import MODELS
from devkit.sealed_copy import SealedCopy

MODEL_NAMES = [entry.name for entry in ModelLock.model_validate_json((MODELS / "models.lock").read_bytes()).models]


def open_copy(copy: SealedCopy, require_signature: bool = True) -> SealedSet:
    return open_sealed_set(copy.models_dir, load_trust(copy.trust_file), require_signature, threads=1)


def refused(copy: SealedCopy) -> IntegrityError:
    with pytest.raises(IntegrityError) as caught:
        open_copy(copy)
    return caught.value


def test_clean_copy_opens_with_signature_and_known_answers(sealed_copy: SealedCopy) -> None:
    sealed = open_copy(sealed_copy)
    assert sealed.signature_verified and list(sealed.models) == MODEL_NAMES
    assert {m.entry.role for m in sealed.models.values()} == {"detector", "reference-detector", "embedder", "liveness"}
    assert set(sealed.timings_s) == {"lock_and_signature", "read_and_hash", "create_sessions", "known_answer"}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_one_flipped_byte_in_each_model(sealed_copy: SealedCopy, name: str) -> None:
    entry = sealed_copy.entry(name)
    data = bytearray((sealed_copy.models_dir / entry.file).read_bytes())
    data[len(data) // 2] ^= 0x01
    sealed_copy.replace_file(entry.file, bytes(data))
    error = refused(sealed_copy)
    assert (error.subject, error.check, error.expected) == (entry.name, "sha256", entry.sha256)


def test_truncated_model(sealed_copy: SealedCopy) -> None:
    entry = sealed_copy.entry("facenet-20180408")
    sealed_copy.replace_file(entry.file, (sealed_copy.models_dir / entry.file).read_bytes()[:1000])
    error = refused(sealed_copy)
    assert (error.subject, error.check, error.expected, error.actual) == (entry.name, "size", entry.size, 1000)


def test_two_models_swapped(sealed_copy: SealedCopy) -> None:
    detector, liveness = sealed_copy.entry("centerface"), sealed_copy.entry("minifasnetv2se")
    detector_bytes = (sealed_copy.models_dir / detector.file).read_bytes()
    sealed_copy.replace_file(detector.file, (sealed_copy.models_dir / liveness.file).read_bytes())
    sealed_copy.replace_file(liveness.file, detector_bytes)
    error = refused(sealed_copy)
    assert error.check == "sha256 (swapped file)" and error.actual == f"the bytes of {liveness.name}"


def test_another_valid_onnx_in_place(sealed_copy: SealedCopy) -> None:
    """The upstream INT8 liveness model is a perfectly valid ONNX, just not the sealed one."""
    from devkit.paths import SHARED

    entry = sealed_copy.entry("minifasnetv2se")
    sealed_copy.replace_file(entry.file, (SHARED / "model-sources" / "minifasnetv2se-98.20-int8.onnx").read_bytes())
    error = refused(sealed_copy)
    assert error.subject == entry.name and error.check == "size"


def test_extra_unknown_model_file(sealed_copy: SealedCopy) -> None:
    (sealed_copy.models_dir / "backdoor.onnx").write_bytes(b"\x08\x07")
    error = refused(sealed_copy)
    assert (error.subject, error.check, error.actual) == ("backdoor.onnx", "listed in lock", "unknown model file")


def test_missing_model(sealed_copy: SealedCopy) -> None:
    entry = sealed_copy.entry("centerface")
    (sealed_copy.models_dir / entry.file).unlink()
    error = refused(sealed_copy)
    assert (error.subject, error.check, error.actual) == (entry.name, "present", "missing")


def test_edited_lock_breaks_the_signature(sealed_copy: SealedCopy) -> None:
    lock = sealed_copy.lock()
    forged = [m.model_copy(update={"sha256": "0" * 64}) if m.name == "minifasnetv2se" else m for m in lock.models]
    sealed_copy.write_lock(lock.model_copy(update={"models": forged}), resign=False)
    error = refused(sealed_copy)
    assert (error.check, error.actual) == ("signature", "invalid")


def test_lock_with_bad_signature(sealed_copy: SealedCopy) -> None:
    (sealed_copy.models_dir / SIGNATURE_NAME).write_text("c2lnbmF0dXJl\n")
    assert (refused(sealed_copy).check, refused(sealed_copy).actual) == ("signature", "invalid")


def test_lock_with_missing_signature(sealed_copy: SealedCopy) -> None:
    (sealed_copy.models_dir / SIGNATURE_NAME).unlink()
    error = refused(sealed_copy)
    assert (error.check, error.actual) == ("signature", "missing")
    assert open_copy(sealed_copy, require_signature=False).signature_verified is False  # explicit dev opt-out


def test_older_lock_version_is_a_downgrade(sealed_copy: SealedCopy) -> None:
    lock = sealed_copy.lock()
    sealed_copy.write_lock(lock.model_copy(update={"lock_version": lock.lock_version - 1}))
    error = refused(sealed_copy)
    assert error.check == "lock_version (anti-downgrade)" and error.actual == lock.lock_version - 1


def test_lock_not_matching_the_digest_baked_at_build(sealed_copy: SealedCopy) -> None:
    sealed_copy.trust(lock_sha256="f" * 64)
    assert refused(sealed_copy).check == "sha256 (baked at build)"


def test_output_drift_in_known_answers(sealed_copy: SealedCopy) -> None:
    lock = sealed_copy.lock()
    embedder = sealed_copy.entry("facenet-20180408")
    name, recorded = next(iter(embedder.kat.outputs.items()))
    drifted = OutputFingerprint(**{**recorded.model_dump(), "values": [v * 1.05 + 0.01 for v in recorded.values]})
    new_kat = embedder.kat.model_copy(update={"outputs": {name: drifted}})
    models = [m.model_copy(update={"kat": new_kat}) if m.name == embedder.name else m for m in lock.models]
    sealed_copy.write_lock(lock.model_copy(update={"models": models}))
    error = refused(sealed_copy)
    assert error.subject == embedder.name and error.check == f"known_answer[{name}]"


def test_policy_edited_after_sealing(sealed_copy: SealedCopy) -> None:
    """Lowering a threshold is tampering: the policy digest is in the signed lock."""
    policy = sealed_copy.models_dir / sealed_copy.lock().policy.file
    lowered, count = re.subn(r"threshold = [0-9.]+", "threshold = 0.1", policy.read_text(), count=1)
    assert count == 1
    policy.write_text(lowered)
    error = refused(sealed_copy)
    assert error.subject == "policy.toml" and error.check == "sha256"
