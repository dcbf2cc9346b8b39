"""Service under load: a bounded async load generator against a real server on 127.0.0.1.

    python -m bench.load [--duration 15] [--concurrency 1 2 4 8 16] [--profile full|1280|640 ...]
                         [--floor-ms F --compute-floor-ms C --pipeline-cpu-ms PROFILE=P ...]

Starts `faceseal serve`, sends real /v1/verify requests (dev image pairs, in each upload profile of
bench.profiles; default all) at each concurrency for a fixed time, the profiles taking turns at each
level, and prints throughput, latency percentiles, errors, server CPU% (and CPU ms per verify) and RSS.
"""

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from bench.profiles import PROFILES, add_profile_argument, all_profiles, chosen_profiles, mean_upload_kib
from devkit.load import Level, pairs, run_level
from devkit.proc import cpu_seconds, rss_mib
from devkit.server import running

TARGET_SERVING_SHARE = 0.9  # issue 18: serving keeps at least this share of the pipeline ceiling


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
    results: dict[str, list[Level]] = {profile: [] for profile in images}
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
                      f"{10 * cpu / (result['rps'] or float('nan')):10.1f} {rss_mib(pid):8.0f}  "
                      f"{result['other'] or '-'}")
    cores = os.cpu_count() or 1
    first_level = f"c={args.concurrency[0]}"
    print(f"\n{'profile':<8} {'KiB/image':>9} {'best req/s':>10} {'p50 ' + first_level:>9} {'p99 ' + first_level:>9}")
    for profile, levels in results.items():
        first, best = levels[0], max(r["rps"] for r in levels)
        print(f"{profile:<8} {mean_upload_kib(images[profile]):9.0f} {best:10.2f} {first['p50']:9.1f} "
              f"{first['p99']:9.1f}")
        if args.floor_ms:
            print(f"  p50(c={first['c']}) / latency floor = {first['p50'] / args.floor_ms:.2f}")
            print(f"  throughput(saturated) / (cores / latency floor) = {best / (cores * 1000 / args.floor_ms):.2f}")
        if args.compute_floor_ms:
            print(f"  throughput(saturated) / (cores / compute floor) = "
                  f"{best / (cores * 1000 / args.compute_floor_ms):.2f}")
        if profile in pipeline_cpu_ms:
            kept = best / (cores * 1000 / pipeline_cpu_ms[profile])
            print(f"  throughput(saturated) / (cores / pipeline CPU) = {kept:.2f}   "
                  "(the share the serving layer keeps of"
                  f" what the pipeline allows; target >= {TARGET_SERVING_SHARE:.2f}:"
                  f" {'met' if kept >= TARGET_SERVING_SHARE else 'NOT met'})")


if __name__ == "__main__":
    main()
