"""Three sealed replicas of the signed release behind Debian's HAProxy, Prometheus scraping each, under a
steady load: (a) one replica killed, (b) all replaced one by one, (c) a tampered replica never ready and
never served, (d) per-replica series in Prometheus. deploy/scale.py does the work (it is also
`make scale-demo`); this test runs it on the session's release, prints the counts and asserts them.
"""

import time

import pytest

from deploy.scale import check, demo
from devkit.containers import Release

pytestmark = pytest.mark.docker


def test_three_replicas_behind_haproxy_survive_a_kill_a_rolling_replacement_and_a_tampered_replica(
        release: Release) -> None:
    started = time.monotonic()
    lines: list[str] = []

    def log(line: str) -> None:
        lines.append(line)
        print(line)

    print()
    with demo(release.reference, clients=3, log=log) as running:
        counts = running.run(steady_seconds=8)
    print(f"scale test {time.monotonic() - started:.0f} s: {counts.requests} verifies through HAProxy, "
          f"{counts.failed_total} not answered 200, served per replica {dict(sorted(counts.per_replica.items()))}, "
          f"decisions {counts.decisions}, replica ready (docker run -> UP in HAProxy) {counts.ready_s} s, "
          f"audit lines sharing an LB request id {counts.audit_lines_sharing_lb_id}")
    assert check(counts) == []
    # (a) only what was in flight on the killed replica may be affected, and it was retried or got 503 + Retry-After
    assert counts.kill_failed_otherwise == 0
    assert counts.kill_503_retry_after <= counts.kill_in_flight
    # (b) the drain loses nothing
    assert counts.rolling_failed == 0 and counts.rolling_requests > 0
    # (c) refused by the gate (exit 3), never UP in HAProxy, no request, never scraped
    assert counts.tampered_exit_code == 3 and counts.tampered_requests == 0 and not counts.tampered_ever_up
    # (d) every replica's own series, and the HPA's Pods metric per replica
    assert counts.prometheus_pods == ["faceseal-0", "faceseal-1", "faceseal-2"]
    assert counts.failed_total == counts.kill_503_retry_after
