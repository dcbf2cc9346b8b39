"""Wrong API keys on a real server, where uvicorn would take X-Forwarded-For from a local peer as the client's
address: no header may stand in for the peer's address."""

from pathlib import Path

import httpx

from app.api.auth import create_key
from devkit.server import running


def test_a_forwarded_for_header_gives_a_guesser_no_new_address(tmp_path: Path) -> None:
    """A real server: uvicorn would take X-Forwarded-For from a local peer as the client's address."""
    keys = tmp_path / "keys.json"
    key = create_key(keys, "bank")
    with running(tmp_path, {"FACESEAL_AUTH_DISABLED": "false", "FACESEAL_API_KEYS_FILE": str(keys)}) as server:
        statuses = [httpx.get(server.url + "/v1/models", headers={
            "Authorization": "Bearer fs_guessed", "X-Forwarded-For": f"198.51.100.{attempt}"}).status_code
            for attempt in range(1, 13)]
        assert statuses[-1] == 429 and statuses.count(403) <= 11  # 10, plus one if a refill came in between
        with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2")) as neighbour:
            served = neighbour.get(server.url + "/v1/models", headers={"Authorization": f"Bearer {key}"})
        assert served.status_code == 200
