"""Service under load: a bounded async load generator against a real server on 127.0.0.1.

    python -m bench.load [--duration 15] [--concurrency 1 2 4 8 16] [--profile full|1280|640 ...]
                         [--floor-ms F --compute-floor-ms C --pipeline-cpu-ms PROFILE=P ...]

Starts `faceseal serve`, sends real /v1/verify requests (dev image pairs, in each upload profile of
bench.profiles; default all) at each concurrency for a fixed time, the profiles taking turns at each
level, and prints throughput, latency percentiles, errors, server CPU% (and CPU ms per verify) and RSS.
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

from bench.profiles import PROFILES, add_profile_argument, all_profiles, chosen_profiles, mean_upload_kib
from tests.conftest import DATA, VERIFY_IMAGES
from tests.e2e.server import running

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TARGET_SERVING_SHARE = 0.9  # issue 18: serving keeps at least this share of the pipeline ceiling


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


def profile_ms(value: str) -> tuple[str, float]:
    """`PROFILE=MS`, as bench.floor prints it."""
    profile, separator, ms = value.partition("=")
    if not separator or profile not in PROFILES:
        raise argparse.ArgumentTypeError(f"expected PROFILE=MS with PROFILE one of {', '.join(PROFILES)}")
    return profile, float(ms)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=15, help="seconds per concurrency level and profile")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    add_profile_argument(parser)
    parser.add_argument("--floor-ms", type=float, help="latency floor from bench.floor, for the headline ratios")
    parser.add_argument("--compute-floor-ms", type=float, help="compute floor (1 thread) from bench.floor")
    parser.add_argument("--pipeline-cpu-ms", type=profile_ms, nargs="+", default=[], metavar="PROFILE=MS",
                        help="pipeline CPU per verify (one core) of each profile, from bench.floor")
    args = parser.parse_args()
    images = all_profiles(chosen_profiles(args.profiles), pairs())
    pipeline_cpu_ms = dict(args.pipeline_cpu_ms)
    results: dict[str, list[dict[str, object]]] = {profile: [] for profile in images}
    with tempfile.TemporaryDirectory() as tmp, running(Path(tmp)) as server:
        pid = server.process.pid
        print(f"{'profile':<8} {'c':>3} {'ok':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'cpu %':>6} "
              f"{'cpu ms/req':>10} {'rss MiB':>8}  non-200")
        for level in args.concurrency:
            for profile, profile_images in images.items():  # profiles take turns, so drift slows them alike
                cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
                result = asyncio.run(run_level(server.url, profile_images, level, args.duration))
                cpu = 100 * (cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before)
                results[profile].append(result)
                print(f"{profile:<8} {level:>3} {result['ok']:>6} {result['rps']:7.2f} {result['p50']:8.1f} "
                      f"{result['p95']:8.1f} {result['p99']:8.1f} {cpu:6.0f} "
                      f"{10 * cpu / (result['rps'] or float('nan')):10.1f} {rss_mib(pid):8.0f}  {result['other'] or '-'}")
    cores = os.cpu_count() or 1
    first_level = f"c={args.concurrency[0]}"
    print(f"\n{'profile':<8} {'KiB/image':>9} {'best req/s':>10} {'p50 ' + first_level:>9} {'p99 ' + first_level:>9}")
    for profile, levels in results.items():
        first, best = levels[0], max(r["rps"] for r in levels)
        print(f"{profile:<8} {mean_upload_kib(images[profile]):9.0f} {best:10.2f} {first['p50']:9.1f} {first['p99']:9.1f}")
        if args.floor_ms:
            print(f"  p50(c={first['c']}) / latency floor = {first['p50'] / args.floor_ms:.2f}")
            print(f"  throughput(saturated) / (cores / latency floor) = {best / (cores * 1000 / args.floor_ms):.2f}")
        if args.compute_floor_ms:
            print(f"  throughput(saturated) / (cores / compute floor) = "
                  f"{best / (cores * 1000 / args.compute_floor_ms):.2f}")
        if profile in pipeline_cpu_ms:
            kept = best / (cores * 1000 / pipeline_cpu_ms[profile])
            print(f"  throughput(saturated) / (cores / pipeline CPU) = {kept:.2f}   (the share the serving layer keeps of"
                  f" what the pipeline allows; target >= {TARGET_SERVING_SHARE:.2f}:"
                  f" {'met' if kept >= TARGET_SERVING_SHARE else 'NOT met'})")


if __name__ == "__main__":
    main()
