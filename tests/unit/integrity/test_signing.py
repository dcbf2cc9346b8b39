"""Lock signatures: a signed lock verifies under its public key, any change to it does not."""

from pathlib import Path

from app.integrity.signing import generate_private_key_pem, public_key_b64, sign, verify


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
