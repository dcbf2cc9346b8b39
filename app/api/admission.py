"""Bounded admission: a fixed number of inferences run, a bounded queue waits, the rest get 429.

Waiting longer than the queue timeout gives 503; both carry Retry-After. Nothing queues without
bound, so latency of accepted requests stays bounded under any load.
"""

import asyncio
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.api.errors import ApiError
from app.telemetry.metrics import IN_FLIGHT, QUEUE_DEPTH, REJECTIONS


class Admission:
    def __init__(self, concurrency: int, queue: int, timeout_s: float) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._queue_limit = queue
        self._timeout_s = timeout_s
        self._waiting = 0
        self._draining = False

    def drain(self) -> None:
        """Refuse new work (shutdown) while in-flight requests finish."""
        self._draining = True

    def refuse_if_full(self) -> None:
        """Turn a request away before its body is read, so overload costs no upload parsing."""
        if self._draining:
            REJECTIONS.labels("draining").inc()
            raise ApiError(503, "shutting_down", "the service is shutting down", {"Retry-After": "1"})
        if self._slots.locked() and self._waiting >= self._queue_limit:
            REJECTIONS.labels("queue_full").inc()
            raise ApiError(429, "overloaded", "too many requests in flight; retry shortly", {"Retry-After": "1"})

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        self.refuse_if_full()  # again: the queue may have filled while the body was read
        self._waiting += 1
        QUEUE_DEPTH.set(self._waiting)
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=self._timeout_s)
        except TimeoutError:
            REJECTIONS.labels("queue_timeout").inc()
            raise ApiError(
                503, "queue_timeout", "no inference slot became free in time",
                {"Retry-After": str(math.ceil(self._timeout_s))},
            ) from None
        finally:
            self._waiting -= 1
            QUEUE_DEPTH.set(self._waiting)
        IN_FLIGHT.inc()
        try:
            yield
        finally:
            IN_FLIGHT.dec()
            self._slots.release()
