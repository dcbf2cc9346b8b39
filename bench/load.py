"""Service under load: a bounded async load generator against a real server on 127.0.0.1.

    python -m bench.load [--duration 15] [--concurrency 1 2 4 8 16]
                         [--floor-ms F --compute-floor-ms C --pipeline-cpu-ms P]

Starts `faceseal serve`, sends real /v1/verify requests (dev image pairs) at each concurrency
for a fixed time, and prints throughput, latency percentiles, errors, server CPU% (and CPU ms per
verify) and RSS.
"""

import argparse
import asyncio
import csv
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np

from tests.conftest import DATA, VERIFY_IMAGES
from tests.e2e.server import running

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def pairs(limit: int = 12) -> list[tuple[bytes, bytes]]:
    rows = list(csv.DictReader((DATA / "verify-dev" / "pairs.csv").open()))[:limit]
    return [((VERIFY_IMAGES / r["file_x"]).read_bytes(), (VERIFY_IMAGES / r["file_y"]).read_bytes()) for r in rows]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def post_verify(client: httpx.AsyncClient, url: str, pair: tuple[bytes, bytes],
                      statuses: Counter[int | str], latencies: list[float]) -> int | str:
    """One verify of `pair`; its status (or transport error) is counted and its latency kept when 200."""
    selfie, reference = pair
    files = [("selfie", ("s.jpg", selfie, "image/jpeg")), ("reference", ("r.jpg", reference, "image/jpeg"))]
    started = time.perf_counter()
    try:
        response = await client.post(url + "/v1/verify", files=files)
    except httpx.TransportError as error:
        statuses[type(error).__name__] += 1
        return type(error).__name__
    statuses[response.status_code] += 1
    if response.status_code == 200:
        latencies.append((time.perf_counter() - started) * 1000)
    return response.status_code


async def drive(url: str, images: list[tuple[bytes, bytes]], concurrency: int, deadline: float,
                statuses: Counter[int | str], latencies: list[float]) -> None:
    """`concurrency` clients posting /v1/verify back to back until `deadline` (monotonic)."""

    async def client_loop(index: int) -> None:
        async with httpx.AsyncClient(timeout=60) as client:
            n = index
            while time.monotonic() < deadline:
                status = await post_verify(client, url, images[n % len(images)], statuses, latencies)
                n += concurrency
                if status in (429, 503):
                    await asyncio.sleep(0.2)  # a polite client backs off instead of spinning on the CPU we measure

    await asyncio.gather(*(client_loop(i) for i in range(concurrency)))


async def run_level(url: str, images: list[tuple[bytes, bytes]], concurrency: int, duration: float) -> dict[str, object]:
    latencies: list[float] = []
    statuses: Counter[int | str] = Counter()
    started = time.monotonic()
    await drive(url, images, concurrency, started + duration, statuses, latencies)
    elapsed = time.monotonic() - started
    values = np.array(latencies) if latencies else np.array([float("nan")])
    return {
        "c": concurrency, "ok": len(latencies), "rps": len(latencies) / elapsed,
        "p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95)), "p99": float(np.percentile(values, 99)),
        "other": {str(k): v for k, v in statuses.items() if k != 200},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--floor-ms", type=float, help="latency floor from bench.floor, for the headline ratios")
    parser.add_argument("--compute-floor-ms", type=float, help="compute floor (1 thread) from bench.floor")
    parser.add_argument("--pipeline-cpu-ms", type=float, help="pipeline CPU per verify (one core) from bench.floor")
    args = parser.parse_args()
    images = pairs()
    with tempfile.TemporaryDirectory() as tmp, running(Path(tmp)) as server:
        pid = server.process.pid
        print(f"{'c':>3} {'ok':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'cpu %':>6} {'cpu ms/req':>10} {'rss MiB':>8}  non-200")
        results = []
        for level in args.concurrency:
            cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
            result = asyncio.run(run_level(server.url, images, level, args.duration))
            cpu = 100 * (cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before)
            results.append(result)
            print(f"{level:>3} {result['ok']:>6} {result['rps']:7.2f} {result['p50']:8.1f} {result['p95']:8.1f} "
                  f"{result['p99']:8.1f} {cpu:6.0f} {10 * cpu / (result['rps'] or float('nan')):10.1f} {rss_mib(pid):8.0f}  {result['other'] or '-'}")
    cores, best = os.cpu_count() or 1, max(r["rps"] for r in results)
    if args.floor_ms:
        print(f"p50(c=1) / latency floor = {results[0]['p50'] / args.floor_ms:.2f}")
        print(f"throughput(saturated) / (cores / latency floor) = {best / (cores * 1000 / args.floor_ms):.2f}")
    if args.compute_floor_ms:
        print(f"throughput(saturated) / (cores / compute floor) = {best / (cores * 1000 / args.compute_floor_ms):.2f}")
    if args.pipeline_cpu_ms:
        print(f"throughput(saturated) / (cores / pipeline CPU) = {best / (cores * 1000 / args.pipeline_cpu_ms):.2f}"
              "   (the share the serving layer keeps of what the pipeline allows)")


if __name__ == "__main__":
    main()
