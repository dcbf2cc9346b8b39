"""API keys, rate limits, signatures and known-answer fingerprints."""

import json
from pathlib import Path

import pytest

from app.api.auth import Client, KeyRing, RateLimiter, create_key, load_keys
from app.cli import main


def test_keys_are_stored_hashed_and_resolve_to_their_client(tmp_path: Path) -> None:
    file = tmp_path / "keys.json"
    first, second = create_key(file, "bank-a"), create_key(file, "bank-b")
    stored = file.read_text()
    assert first not in stored and second not in stored
    assert oct(file.stat().st_mode & 0o777) == "0o600"
    ring = KeyRing(load_keys(file))
    assert ring.client_for(first) == Client("bank-a", details=False)
    assert ring.client_for(second) == Client("bank-b", details=False)
    assert ring.client_for(first + "x") is None and ring.client_for("") is None
    assert len(json.loads(stored)["keys"]) == 2


def test_keys_create_details_grants_that_key_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "keys.json"
    assert main(["keys", "create", "bank", "--file", str(file)]) == 0
    assert main(["keys", "create", "back-office", "--file", str(file), "--details"]) == 0
    bank, back_office = capsys.readouterr().out.split()
    assert [entry["details"] for entry in json.loads(file.read_text())["keys"]] == [False, True]
    ring = KeyRing(load_keys(file))
    assert ring.client_for(bank) == Client("bank", details=False)
    assert ring.client_for(back_office) == Client("back-office", details=True)


def test_a_lost_key_is_revoked_by_fingerprint_and_replaced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's lost-key procedure: list, revoke the lost key by its fingerprint, create a new one;
    the other client's key and the new key work, the lost one no longer does."""
    file = tmp_path / "keys.json"
    lost, other = create_key(file, "bank"), create_key(file, "shop")
    assert main(["keys", "list", "--file", str(file)]) == 0
    listed = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [row[0] for row in listed] == ["bank", "shop"] and all(len(row[1]) == 12 for row in listed)
    assert main(["keys", "revoke", "bank", "--fingerprint", "0" * 12 if listed[0][1] != "0" * 12 else "1" * 12,
                 "--file", str(file)]) == 1  # a fingerprint that matches nothing revokes nothing
    assert main(["keys", "revoke", "bank", "--fingerprint", listed[0][1], "--file", str(file)]) == 0
    assert main(["keys", "create", "bank", "--file", str(file)]) == 0
    replacement = capsys.readouterr().out.split()[-1]
    ring = KeyRing(load_keys(file))
    assert ring.client_for(lost) is None
    assert ring.client_for(replacement) == Client("bank", details=False)
    assert ring.client_for(other) == Client("shop", details=False)
    assert oct(file.stat().st_mode & 0o777) == "0o600"


def test_a_keys_file_without_details_grants_none_and_a_non_boolean_refuses_to_load(tmp_path: Path) -> None:
    """Keys files written before the flag keep working; a string "false" must not grant details by being truthy."""
    file = tmp_path / "keys.json"
    entry = {"client_id": "bank", "sha256": "0" * 64}
    file.write_text(json.dumps({"keys": [entry]}))
    assert load_keys(file)[0].details is False
    file.write_text(json.dumps({"keys": [{**entry, "details": "false"}]}))
    with pytest.raises(ValueError, match="details"):
        load_keys(file)


def test_rate_limiter_refuses_past_the_budget_per_client() -> None:
    limiter = RateLimiter(per_minute=3)
    assert [limiter.retry_after("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.retry_after("a") > 0
    assert limiter.retry_after("b") == 0.0
