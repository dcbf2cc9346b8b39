"""API keys, rate limits, signatures and known-answer fingerprints."""

import json
from pathlib import Path

import numpy as np

from app.api.auth import KeyRing, RateLimiter, create_key, load_keys
from app.integrity.kat import drift, fingerprint, kat_input
from app.integrity.signing import generate_private_key_pem, public_key_b64, sign, verify


def test_keys_are_stored_hashed_and_resolve_to_their_client(tmp_path: Path) -> None:
    file = tmp_path / "keys.json"
    first, second = create_key(file, "bank-a"), create_key(file, "bank-b")
    stored = file.read_text()
    assert first not in stored and second not in stored
    assert oct(file.stat().st_mode & 0o777) == "0o600"
    ring = KeyRing(load_keys(file))
    assert ring.client_for(first) == "bank-a" and ring.client_for(second) == "bank-b"
    assert ring.client_for(first + "x") is None and ring.client_for("") is None
    assert len(json.loads(stored)["keys"]) == 2


def test_rate_limiter_refuses_past_the_budget_per_client() -> None:
    limiter = RateLimiter(per_minute=3)
    assert [limiter.retry_after("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.retry_after("a") > 0
    assert limiter.retry_after("b") == 0.0


def test_signature_round_trip_and_tamper(tmp_path: Path) -> None:
    pem = generate_private_key_pem()
    key = tmp_path / "key.pem"
    key.write_bytes(pem)
    signature = sign(b"lock bytes", key)
    public = public_key_b64(pem)
    assert verify(b"lock bytes", signature, public)
    assert not verify(b"lock bytes!", signature, public)
    assert not verify(b"lock bytes", "not base64!", public)
    assert not verify(b"lock bytes", signature, public_key_b64(generate_private_key_pem()))


def test_known_answer_fingerprint_detects_drift() -> None:
    output = kat_input([2, 512], -1, 1)
    recorded = fingerprint(output)
    assert drift(recorded, output) is None
    assert drift(recorded, output + 1e-7) is None  # within tolerance: CPU code-path noise
    assert drift(recorded, output * 1.01) is not None
    assert drift(recorded, output[:1]) is not None
    assert np.array_equal(kat_input([3, 4], 0, 1), kat_input([3, 4], 0, 1))
