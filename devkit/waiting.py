"""Waiting for something another thread finishes, with a bound, for tests that cannot join that thread."""

import time
from collections.abc import Callable


def eventually(condition: Callable[[], bool], within_s: float = 10) -> bool:
    """Whether `condition` holds within `within_s` seconds, polled every millisecond."""
    deadline = time.monotonic() + within_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.001)
    return condition()
