"""Bounded admission: a fixed number of inferences run, a bounded queue waits, the rest get 429.

A request takes a place before its body is read and keeps it until answered; there are
MAX_CONCURRENCY + MAX_QUEUE places, so no more bodies than that are ever buffered, whatever arrives at
once, and the rest are refused without reading theirs. Waiting longer than the queue timeout for an
inference slot gives 503; both carry Retry-After. Nothing queues without bound, so latency of accepted
requests stays bounded under any load.
"""

import asyncio
import math
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TypeVar

from app.api.errors import ApiError
from app.api.memory import release_free_heap
from app.inference.errors import ProblemCode
from app.telemetry.metrics import IN_FLIGHT, QUEUE_DEPTH, REJECTIONS

Result = TypeVar("Result")
# The freed heap goes back to the OS once no request has held a place for IDLE_TRIM_S: a request that follows
# sooner finds it mapped (app/api/memory.py). Traffic that never pauses that long still has it returned at a
# moment without requests, at most every MAX_TRIM_INTERVAL_S.
IDLE_TRIM_S = 1.0
MAX_TRIM_INTERVAL_S = 30.0


class Admission:
    def __init__(self, concurrency: int, queue: int, timeout_s: float) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._places = concurrency + queue
        self._taken = 0
        self._timeout_s = timeout_s
        self._waiting = 0
        self._draining = False
        self._idle_trim: asyncio.TimerHandle | None = None
        self._last_trim: float | None = None  # loop time; None until the first request ends

    def drain(self) -> None:
        """Refuse new work (shutdown) while in-flight requests finish."""
        self._draining = True
        self._cancel_idle_trim()

    def _cancel_idle_trim(self) -> None:
        if self._idle_trim is not None:
            self._idle_trim.cancel()
            self._idle_trim = None

    def _trim(self) -> None:
        self._idle_trim = None
        loop = asyncio.get_running_loop()
        self._last_trim = loop.time()
        loop.run_in_executor(None, release_free_heap)

    def _trim_when_idle(self) -> None:
        """No request holds a place: trim now if the last trim is long past, else once this lasts IDLE_TRIM_S;
        never while draining (the executor may be gone)."""
        if self._draining:
            return
        loop = asyncio.get_running_loop()
        if self._last_trim is None:
            self._last_trim = loop.time()
        if loop.time() - self._last_trim >= MAX_TRIM_INTERVAL_S:
            self._trim()
        else:
            self._idle_trim = loop.call_later(IDLE_TRIM_S, self._trim)

    def _refuse_if_draining(self) -> None:
        if self._draining:
            REJECTIONS.labels("draining").inc()
            raise ApiError(ProblemCode.shutting_down, "the service is shutting down", 503, {"Retry-After": "1"})

    @contextmanager
    def place(self) -> Iterator[None]:
        """Held from before the body is read until the answer: overload costs no upload reading or parsing."""
        self._refuse_if_draining()
        if self._taken >= self._places:
            REJECTIONS.labels("queue_full").inc()
            raise ApiError(ProblemCode.overloaded, "too many requests in flight; retry shortly", 429,
                           {"Retry-After": "1"})
        self._taken += 1
        self._cancel_idle_trim()
        try:
            yield
        finally:
            self._taken -= 1
            if self._taken == 0:
                self._trim_when_idle()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        self._refuse_if_draining()  # again: shutdown may have begun while the body was read
        self._waiting += 1
        QUEUE_DEPTH.set(self._waiting)
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=self._timeout_s)
        except TimeoutError:
            REJECTIONS.labels("queue_timeout").inc()
            raise ApiError(
                ProblemCode.queue_timeout, "no inference slot became free in time", 503,
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

    async def run(self, work: Callable[[], Result]) -> Result:
        """`work` off the event loop, once an inference slot is free."""
        async with self.slot():
            return await asyncio.to_thread(work)
