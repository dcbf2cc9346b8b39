"""Admission hands the freed heap back to the OS only once the service has stayed idle."""

import asyncio

import pytest

from app.api import admission
from app.api.admission import Admission


def test_the_heap_is_trimmed_once_idle_and_not_between_back_to_back_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    trims: list[float] = []
    monkeypatch.setattr(admission, "IDLE_TRIM_S", 0.2)
    monkeypatch.setattr(admission, "release_free_heap", lambda: trims.append(1.0))

    async def scenario() -> tuple[int, int]:
        gate = Admission(concurrency=1, queue=1, timeout_s=1)
        for _ in range(5):  # back to back, each sooner than the idle delay after the last
            with gate.place():
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.05)
        during = len(trims)
        await asyncio.sleep(0.4)
        return during, len(trims)

    assert asyncio.run(scenario()) == (0, 1)
