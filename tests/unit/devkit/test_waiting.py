"""The bounded wait the thread tests share."""

import threading
import time

from devkit.waiting import eventually


def test_a_condition_another_thread_makes_true_is_seen() -> None:
    done = threading.Event()
    threading.Timer(0.05, done.set).start()
    assert eventually(done.is_set, within_s=5)


def test_a_condition_that_never_holds_gives_false_after_the_bound() -> None:
    started = time.monotonic()
    assert not eventually(lambda: False, within_s=0.05)
    assert 0.05 <= time.monotonic() - started < 5
