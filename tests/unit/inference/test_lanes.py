"""Whether the lanes have work, which decides whether a request's faces are embedded in one batch."""

import threading
from collections.abc import Iterator

import cv2
import pytest

from app.inference.lanes import Lanes
from devkit.waiting import eventually


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """What a test's blocking tasks wait for; set at the end whatever happened, so no lane thread is left waiting."""
    event = threading.Event()
    yield event
    event.set()


def test_lanes_are_idle_only_when_no_task_runs_or_waits(release: threading.Event) -> None:
    lanes = Lanes(2)
    assert lanes.idle
    running = lanes.submit(release.wait)
    assert not lanes.idle
    release.set()
    assert running.result() and lanes.idle  # counted finished before its result was set
    lanes.close()


def test_a_failed_or_cancelled_task_no_longer_counts(release: threading.Event) -> None:
    lanes = Lanes(1)
    running = lanes.submit(release.wait)
    queued = lanes.submit(lambda: None)
    failing = lanes.submit(lambda: 1 / 0)
    assert queued.cancel()
    release.set()
    assert running.result() and isinstance(failing.exception(), ZeroDivisionError)
    assert eventually(lambda: lanes.idle)
    lanes.close()


def test_tasks_queued_at_shutdown_are_cancelled_and_uncounted(release: threading.Event) -> None:
    lanes = Lanes(1)
    running = lanes.submit(release.wait)
    queued = [lanes.submit(lambda: None) for _ in range(3)]
    closer = threading.Thread(target=lanes.close)  # cancels the queued tasks, then waits for the running one
    closer.start()
    assert eventually(lambda: all(task.cancelled() for task in queued))
    release.set()
    closer.join()
    assert running.result() and eventually(lambda: lanes.idle)


def test_lanes_make_opencv_single_threaded() -> None:
    """Each lane is one core's worth of work; OpenCV's own pool would oversubscribe the cores."""
    cv2.setNumThreads(4)
    lanes = Lanes(2)
    assert cv2.getNumThreads() == 1
    lanes.close()
