"""Wrong API keys are throttled per client address, in-process: the ASGI client sets the peer address
(tests/server/test_auth_throttle.py shows no header stands in for it on a real server)."""

import asyncio
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

import app.api.throttle
from app.api.app import create_app
from app.api.auth import create_key
from app.api.service import Service
from app.config import Settings
from app.integrity.gate import SealedSet
from devkit.paths import MODELS

GUESSER, NEIGHBOUR = "203.0.113.7", "203.0.113.8"


class Clock:
    """The throttle's clock, moved by hand: the test must not depend on how fast 700 requests run."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(app.api.throttle, "time", SimpleNamespace(monotonic=fake.monotonic))
    return fake


@pytest.fixture
def service(sealed: SealedSet, tmp_path_factory: pytest.TempPathFactory) -> tuple[FastAPI, str]:
    keys = tmp_path_factory.mktemp("throttle") / "keys.json"
    key = create_key(keys, "bank")
    settings = Settings(models_dir=MODELS, api_keys_file=keys, reverify_interval_s=0,
                        auth_failure_limit=10, auth_failure_window_s=60)
    return create_app(Service.start(settings, sealed)), key


def send(application: FastAPI, peer: str, key: str | None, count: int = 1) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=application, client=(peer, 50000))
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        async with httpx.AsyncClient(transport=transport, base_url="http://faceseal.test") as client:
            return [await client.get("/v1/models", headers=headers) for _ in range(count)]

    return asyncio.run(run())


def throttled_total() -> float:
    return REGISTRY.get_sample_value("faceseal_auth_throttled_total") or 0.0


def test_700_wrong_keys_from_one_address_are_slowed_down_while_others_are_served(
    service: tuple[FastAPI, str], clock: Clock, caplog: pytest.LogCaptureFixture,
) -> None:
    application, key = service
    before = throttled_total()
    answers = send(application, GUESSER, "fs_guessed", 700)
    assert [a.status_code for a in answers] == [403] * 10 + [429] * 690
    refused = answers[-1]
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "auth_throttled" and refused.headers["retry-after"] == "6"  # 60 s / 10 keys
    assert throttled_total() - before == 690
    warnings = [r for r in caplog.records if r.getMessage() == "wrong API keys: address throttled"]
    assert [r.fields["peer"] for r in warnings] == [GUESSER]  # type: ignore[attr-defined]

    assert send(application, GUESSER, key)[0].status_code == 429  # refused before any key is compared
    assert send(application, NEIGHBOUR, key)[0].status_code == 200
    assert send(application, NEIGHBOUR, "fs_typo")[0].status_code == 403  # an allowance of its own

    clock.now += 6  # one more attempt refilled
    assert [a.status_code for a in send(application, GUESSER, "fs_guessed", 2)] == [403, 429]
    clock.now += 60
    assert send(application, GUESSER, key)[0].status_code == 200


def test_requests_without_a_key_do_not_use_the_allowance(service: tuple[FastAPI, str], clock: Clock) -> None:
    application, _ = service
    assert {a.status_code for a in send(application, GUESSER, None, 30)} == {401}
    assert [a.status_code for a in send(application, GUESSER, "fs_guessed", 11)] == [403] * 10 + [429]
