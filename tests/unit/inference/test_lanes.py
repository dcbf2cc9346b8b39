"""Whether the lanes have work, which decides whether a request's faces are embedded in one batch."""

import threading
import time

from app.inference.lanes import Lanes


def settled(lanes: Lanes) -> bool:
    """Whether the lanes become idle within 10 s: a task's done callback runs just after its result is set."""
    deadline = time.monotonic() + 10
    while not lanes.idle and time.monotonic() < deadline:
        time.sleep(0.001)
    return lanes.idle


def test_lanes_are_idle_only_when_no_task_runs_or_waits() -> None:
    lanes = Lanes(2)
    release = threading.Event()
    try:
        assert lanes.idle
        running = lanes.submit(release.wait)
        assert not lanes.idle
        release.set()
        assert running.result() and settled(lanes)
    finally:
        release.set()
        lanes.close()


def test_a_failed_or_cancelled_task_no_longer_counts() -> None:
    lanes = Lanes(1)
    release = threading.Event()
    try:
        running = lanes.submit(release.wait)
        queued = lanes.submit(lambda: None)
        failing = lanes.submit(lambda: 1 / 0)
        assert queued.cancel()
        release.set()
        assert running.result() and isinstance(failing.exception(), ZeroDivisionError)
        assert settled(lanes)
    finally:
        release.set()
        lanes.close()


def test_tasks_queued_at_shutdown_are_cancelled_and_uncounted() -> None:
    lanes = Lanes(1)
    release = threading.Event()
    running = lanes.submit(release.wait)
    queued = [lanes.submit(lambda: None) for _ in range(3)]
    closer = threading.Thread(target=lanes.close)  # cancels the queued tasks, then waits for the running one
    closer.start()
    deadline = time.monotonic() + 10
    while not all(task.cancelled() for task in queued) and time.monotonic() < deadline:
        time.sleep(0.001)
    release.set()
    closer.join()
    assert running.result() and all(task.cancelled() for task in queued) and settled(lanes)
