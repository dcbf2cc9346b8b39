"""Hostile-input and overload report against a running faceseal on 127.0.0.1, default limits.

    python -m bench.robustness [--soak-seconds 0] [--settle-seconds 60]

Each attack of devkit/attacks.py is sent, its answer compared with the expected status and problem code, then
a valid request must still succeed. Prints per attack: expected and actual answer, its latency, the p99 of
/healthz polled while it ran (target < 100 ms), and the server's RSS before, at its peak during the
attack (target < 1.5 GiB) and once back within 25 % of before (waiting up to the settle time).
"""

import argparse
import math
import tempfile
import time
from pathlib import Path

import httpx

from devkit.attacks import REFERENCE, SELFIE, SERVER_ENV, Parts, frames, no_face, run_attacks, show
from devkit.server import running


def request_ms(url: str, files: Parts, runs: int = 3) -> float:
    """The fastest of `runs` requests: the cost of the request itself on a shared machine."""
    best = math.inf
    for _ in range(runs):
        started = time.perf_counter()
        httpx.post(url + "/v1/verify", files=files, timeout=120).raise_for_status()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--soak-seconds", type=float, default=0)
    parser.add_argument("--settle-seconds", type=float, default=60, help="longest wait for RSS to come back")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running(Path(tmp), SERVER_ENV) as server:
        rows = run_attacks(server, args.settle_seconds)
        print(f"{'attack':<52} {'expected':<24} {'got':<24} {'status':<6} {'ms':>7} {'healthz p99':>11} "
              f"{'RSS MiB before':>14} {'peak':>6} {'after':>6} {'after s':>7}")
        for row in rows:
            print(f"{row.name:<52} {show(row.expected):<24} {show(row.got):<24} {'PASS' if row.ok else 'FAIL':<6} "
                  f"{row.latency_ms:7.0f} {row.healthz_p99_ms:11.1f} {row.rss_before_mib:14.0f} "
                  f"{row.rss_peak_mib:6.0f} {row.rss_after_mib:6.0f} {row.settled_s:7.1f}")
        print(f"{sum(r.ok for r in rows)} passed, {sum(not r.ok for r in rows)} failed; "
              f"healthz p99 >= 100 ms: {[r.name for r in rows if not r.healthz_p99_ms < 100]}; "
              f"peak RSS >= 1.5 GiB: {[r.name for r in rows if not r.rss_peak_mib < 1536]}; "
              f"RSS not back within 25 %: {[r.name for r in rows if not r.recovered]}")
        face, faceless = frames(SELFIE, REFERENCE), frames(no_face(SELFIE), no_face(REFERENCE))
        face_ms, faceless_ms = request_ms(server.url, face), request_ms(server.url, faceless)
        print(f"verify, 5 frames + reference: with faces {face_ms:.0f} ms, without {faceless_ms:.0f} ms "
              f"({faceless_ms / face_ms:.2f}x)")
        if args.soak_seconds:
            from bench.soak import soak

            soak(server, args.soak_seconds)


if __name__ == "__main__":
    main()
