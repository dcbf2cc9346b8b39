"""The lanes: a small pool of threads, shared by all requests, that runs every model's work.

One lane per core, with single-threaded sessions and OpenCV: the reference is decoded and examined in one lane
task while the selfie is decoded and its faces found in another, and then the selfie's embedding and
each liveness model are lane tasks of their own, so the lane that finished the reference takes a share
of the selfie's work (when other work already occupies the lanes, a request embeds its faces in one batch
instead: app/inference/sides.py). That beats splitting every operator over the cores (measured in bench/), and
under load the lanes are never oversubscribed. Only request threads wait on lane tasks; a lane never
waits on another.
"""

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ParamSpec, TypeVar

import cv2

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class Timings:
    """Milliseconds per stage, summed over the images (and lanes) that ran it."""

    stages_ms: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            with self._lock:
                self.stages_ms[name] = self.stages_ms.get(name, 0.0) + elapsed_ms


class Lanes:
    def __init__(self, count: int) -> None:
        """Also makes OpenCV single-threaded, for the whole process: the lanes are the parallelism, and
        OpenCV's own pool only added hand-offs to lanes that already fill the cores (full-size uploads under
        load: 2.5 ms more CPU per verify and 2-4 % fewer verifies/s; the same pixels either way)."""
        cv2.setNumThreads(1)
        self.count = count
        self._pool = ThreadPoolExecutor(max_workers=count, thread_name_prefix="faceseal-lane")
        self._unfinished = 0  # tasks submitted and not done: running or queued
        self._lock = threading.Lock()

    def submit(self, task: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        with self._lock:
            self._unfinished += 1
        try:
            future = self._pool.submit(self._counted, partial(task, *args, **kwargs))
        except BaseException:  # shut down, or out of memory: the task was never queued
            self._finished()
            raise
        future.add_done_callback(self._finished_if_cancelled)
        return future

    @property
    def idle(self) -> bool:
        """Whether no lane has work, running or queued."""
        return self._unfinished == 0

    def _counted(self, call: Callable[[], T]) -> T:
        """Runs the task and counts it finished before its result is set, so whoever the result wakes
        already sees it gone."""
        try:
            return call()
        finally:
            self._finished()

    def _finished_if_cancelled(self, future: Future[Any]) -> None:
        if future.cancelled():  # a cancelled task never ran; one that ran cannot be cancelled
            self._finished()

    def _finished(self) -> None:
        with self._lock:
            self._unfinished -= 1

    def close(self) -> None:
        """Cancel queued tasks and wait for running ones, so no lane thread outlives the service."""
        self._pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def cancelled_on_error(tasks: list[Future[Any]]) -> Iterator[None]:
    """A request that fails (an undecodable or blank image) leaves none of its queued lane tasks behind:
    they would decode and detect for an answer already sent, while its slot admits the next request."""
    try:
        yield
    except BaseException:
        for task in tasks:
            task.cancel()
        raise
