"""The failed-key throttle: what counts as one address, how the allowance refills, bounded memory."""

from types import SimpleNamespace

import pytest

import app.api.throttle
from app.api.throttle import FailedAuthThrottle, peer_key


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    clock = [0.0]
    monkeypatch.setattr(app.api.throttle, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    return clock


def test_an_ipv6_subscriber_counts_as_one_address_per_64() -> None:
    assert peer_key("2001:db8:1:2:aaaa::1") == peer_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert peer_key("2001:db8:1:3::1") != peer_key("2001:db8:1:2::1")
    assert peer_key("::ffff:198.51.100.4") == peer_key("198.51.100.4") == "198.51.100.4"
    assert peer_key("198.51.100.4") != peer_key("198.51.100.5")
    assert peer_key("testclient") == "testclient"


def test_the_allowance_refills_over_the_window(now: list[float]) -> None:
    throttle = FailedAuthThrottle(failures=3, window_s=30)
    assert [throttle.failed("192.0.2.1") for _ in range(3)] == [False, False, True]
    assert throttle.retry_after("192.0.2.1") == pytest.approx(10)
    assert throttle.retry_after("192.0.2.2") == 0
    now[0] = 4
    assert throttle.retry_after("192.0.2.1") == pytest.approx(6)
    now[0] = 10
    assert throttle.retry_after("192.0.2.1") == 0
    now[0] = 1000
    assert throttle.retry_after("192.0.2.1") == 0 and throttle.failed("192.0.2.1") is False  # full again


def test_memory_is_bounded_forgetting_the_least_recent_failure(
    now: list[float], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(app.api.throttle, "MAX_PEERS", 2)
    throttle = FailedAuthThrottle(failures=1, window_s=60)
    for host in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        throttle.failed(host)
    assert throttle.retry_after("192.0.2.1") == 0  # forgotten
    assert throttle.retry_after("192.0.2.2") > 0 and throttle.retry_after("192.0.2.3") > 0
