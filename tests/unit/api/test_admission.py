"""Admission hands the freed heap back to the OS once the service is idle, and at least every so often under
traffic that never pauses that long; never while draining."""

import asyncio

import pytest

from app.api import admission
from app.api.admission import Admission


@pytest.fixture
def trims(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """One entry per trim that ran, with the delays scaled down to test time."""
    seen: list[bool] = []
    monkeypatch.setattr(admission, "IDLE_TRIM_S", 0.2)
    monkeypatch.setattr(admission, "MAX_TRIM_INTERVAL_S", 0.5)
    monkeypatch.setattr(admission, "release_free_heap", lambda: seen.append(True))
    return seen


async def requests(gate: Admission, count: int, gap_s: float) -> None:
    for _ in range(count):
        with gate.place():
            await asyncio.sleep(0.02)
        await asyncio.sleep(gap_s)


def test_the_heap_is_trimmed_once_idle_and_not_between_back_to_back_requests(trims: list[bool]) -> None:
    async def scenario() -> tuple[int, int]:
        gate = Admission(concurrency=1, queue=1, timeout_s=1)
        await requests(gate, 5, 0.05)  # 0.35 s in all: sooner than the idle delay after each, within the interval
        during = len(trims)
        await asyncio.sleep(0.4)
        return during, len(trims)

    assert asyncio.run(scenario()) == (0, 1)


def test_traffic_that_never_pauses_long_still_gets_its_heap_trimmed(trims: list[bool]) -> None:
    async def scenario() -> int:
        gate = Admission(concurrency=1, queue=1, timeout_s=1)
        await requests(gate, 30, 0.05)  # 2.1 s of requests 50 ms apart: never idle for 0.2 s
        return len(trims)

    assert 2 <= asyncio.run(scenario()) <= 5  # about every 0.5 s, at a moment without requests


def test_a_draining_service_schedules_no_trim(trims: list[bool]) -> None:
    async def scenario() -> int:
        gate = Admission(concurrency=1, queue=1, timeout_s=1)
        with gate.place():
            gate.drain()
        await asyncio.sleep(0.4)
        return len(trims)

    assert asyncio.run(scenario()) == 0
