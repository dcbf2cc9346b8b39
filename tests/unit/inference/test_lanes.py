"""The lanes' count of tasks waiting for a lane, which decides whether a request's faces are embedded in one batch."""

import threading
import time

from app.inference.lanes import Lanes


def test_tasks_waiting_for_a_busy_lane_make_it_backlogged_until_they_start() -> None:
    lanes = Lanes(1)
    release = threading.Event()
    try:
        running = lanes.submit(release.wait)
        assert not lanes.backlogged  # one task, running: nothing waits
        queued = lanes.submit(lambda: "done")
        assert lanes.backlogged
        release.set()
        assert running.result() and queued.result() == "done"
        assert not lanes.backlogged
    finally:
        release.set()
        lanes.close()


def test_a_cancelled_task_no_longer_counts_as_waiting() -> None:
    lanes = Lanes(1)
    release = threading.Event()
    try:
        running = lanes.submit(release.wait)
        queued = lanes.submit(lambda: None)
        assert queued.cancel() and not lanes.backlogged
        release.set()
        assert running.result()
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
    assert running.result() and all(task.cancelled() for task in queued) and not lanes.backlogged
