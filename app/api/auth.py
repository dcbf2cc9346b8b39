"""API keys: stored as SHA-256 digests, compared in constant time, each bound to a client id.

Keys are 256-bit random tokens, so a fast hash is enough (no password stretching needed). A key may
be granted `details` (scores, thresholds, face geometry): an oracle to hill-climb against, so only
for keys that need them (a fraud back office, an integration under test), never by default.
"""

import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from app.integrity.digests import sha256_bytes

KEY_PREFIX = "fs_"


@dataclass(frozen=True)
class ApiKey:
    client_id: str
    sha256: str
    details: bool


@dataclass(frozen=True)
class Client:
    """Who is calling, and whether their answers may carry details."""

    id: str
    details: bool


ANONYMOUS = Client("anonymous", details=False)  # authentication disabled (development): no details either


def _details(entry: dict[str, object]) -> bool:
    """Only a JSON `true` grants details: a string such as "false" must not grant them by being truthy."""
    details = entry.get("details", False)
    if not isinstance(details, bool):
        raise ValueError(f"keys file: 'details' of client {entry['client_id']} must be true or false")
    return details


def load_keys(path: Path) -> list[ApiKey]:
    document = json.loads(path.read_text())
    return [ApiKey(entry["client_id"], entry["sha256"], _details(entry)) for entry in document["keys"]]


def _write_keys(path: Path, keys: list[ApiKey]) -> None:
    """Replace the file atomically (created 0600): a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        entries = [{"client_id": k.client_id, "sha256": k.sha256, "details": k.details} for k in keys]
        json.dump({"keys": entries}, handle, indent=2)
    temporary.replace(path)


def create_key(path: Path, client_id: str, details: bool = False) -> str:
    """Append a new key for `client_id` to the file and return the plaintext once."""
    token = KEY_PREFIX + secrets.token_urlsafe(32)
    keys = load_keys(path) if path.exists() else []
    keys.append(ApiKey(client_id, sha256_bytes(token.encode()), details))
    _write_keys(path, keys)
    return token


def revoke_keys(path: Path, client_id: str, fingerprint: str = "") -> list[ApiKey]:
    """Remove the client's keys (only those whose digest starts with `fingerprint`, when given) and return
    them. The plaintext of a lost key cannot be recovered, only its entry removed and a new key created."""
    keys = load_keys(path)
    revoked = [k for k in keys if k.client_id == client_id and k.sha256.startswith(fingerprint)]
    if revoked:
        _write_keys(path, [k for k in keys if k not in revoked])
    return revoked


class KeyRing:
    def __init__(self, keys: list[ApiKey]) -> None:
        self._keys = keys

    def client_for(self, presented: str) -> Client | None:
        """The key's client, checking every stored key so timing does not reveal which matched."""
        digest = sha256_bytes(presented.encode())
        found = None
        for key in self._keys:
            if hmac.compare_digest(digest, key.sha256):
                found = Client(key.client_id, key.details)
        return found


class RateLimiter:
    """Token bucket per client: `per_minute` requests, bursts up to the same number."""

    def __init__(self, per_minute: int) -> None:
        self._rate = per_minute / 60.0
        self._capacity = float(per_minute)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client_id: str) -> float:
        """0 when the request may proceed, else seconds until a token is available."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client_id, (self._capacity, now))
            tokens = min(self._capacity, tokens + (now - last) * self._rate)
            if tokens >= 1:
                self._buckets[client_id] = (tokens - 1, now)
                return 0.0
            self._buckets[client_id] = (tokens, now)
            return (1 - tokens) / self._rate
