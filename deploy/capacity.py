"""Capacity of one replica at the loads an autoscaler holds it to: the numbers docs/CAPACITY.md and the
Kubernetes manifests (HPA targets, requests and limits) come from.

    python -m deploy.capacity [--saturation-seconds 20] [--seconds 20] [--rounds 3] [--fractions 0.5 0.6 0.7 0.8]

bench.load drives a closed loop (c clients back to back), which says what a replica can do flat out. An
autoscaler instead holds each replica at a target while requests arrive when they like, so this probe
first measures the saturated throughput X with bench.load's own loop (c=4, bench.load's dev image pairs),
then offers open-loop Poisson arrivals at fractions of X and reports, per level: the achieved rate, the
server's CPU as a share of the 2 cores a pod requests (what the HPA's CPU Utilization reads), the mean
of faceseal_inflight_requests + faceseal_queue_depth sampled from the /metrics listener every 0.25 s (what
the HPA's Pods metric reads through prometheus-adapter), latency percentiles and peak RSS.
The levels are run in --rounds interleaved passes (a shared machine's speed drifts within minutes, and other
processes come and go); the table gives each level's median over the rounds, and "other CPU" the most
cores that processes other than the server and this probe took during any of its rounds: a level measured
while something else ran is visible as such. Bounded: every level stops sending at its deadline and waits
at most 30 s for stragglers.
"""

import argparse
import asyncio
import os
import random
import re
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from devkit.load import pairs, post_verify, run_level
from devkit.proc import CLOCK_TICKS, cpu_seconds, rss_mib
from devkit.server import running

REQUESTED_CPUS = 2  # deploy/kubernetes/base/deployment.yaml: requests.cpu == limits.cpu == FACESEAL_LANES
GAUGE = re.compile(r"^(faceseal_inflight_requests|faceseal_queue_depth) (\S+)$", re.MULTILINE)


async def sample_in_progress(metrics_url: str, stop: asyncio.Event, samples: list[float]) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        while not stop.is_set():
            text = (await client.get(metrics_url + "/metrics")).text
            samples.append(sum(float(value) for _, value in GAUGE.findall(text)))
            await asyncio.sleep(0.25)


async def open_loop(url: str, metrics_url: str, images: list[tuple[bytes, bytes]], rate: float,
                    seconds: float, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    statuses: Counter[int | str] = Counter()
    latencies: list[float] = []
    in_progress: list[float] = []
    stop = asyncio.Event()

    async def one(client: httpx.AsyncClient, n: int) -> None:
        await post_verify(client, url, images[n % len(images)], statuses, latencies)

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        sampler = asyncio.create_task(sample_in_progress(metrics_url, stop, in_progress))
        tasks, n = [], 0
        started = time.monotonic()
        next_at = started
        while (now := time.monotonic()) < started + seconds:
            if now < next_at:
                await asyncio.sleep(next_at - now)
                continue
            tasks.append(asyncio.create_task(one(client, n)))
            n += 1
            next_at += rng.expovariate(rate)
        sent_for = time.monotonic() - started
        await asyncio.wait(tasks, timeout=30)
        stop.set()
        await sampler
    values = np.array(latencies) if latencies else np.array([float("nan")])
    return {"sent": n, "ok": len(latencies), "rps": len(latencies) / sent_for,
            "p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95)),
            "p99": float(np.percentile(values, 99)), "in_progress": float(np.mean(in_progress or [float("nan")])),
            "other_status": {str(k): v for k, v in statuses.items() if k != 200}}


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used (user + nice + system + irq + softirq + steal)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]) / CLOCK_TICKS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saturation-seconds", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=20, help="per open-loop level and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.5, 0.6, 0.7, 0.8])
    args = parser.parse_args()
    images = pairs()
    print(f"{os.cpu_count()} cores; one replica (LANES=2, MAX_CONCURRENCY=2, ORT_THREADS=1), bench.load's "
          f"{len(images)} dev pairs ({np.mean([len(a) + len(b) for a, b in images]) / 1e6:.1f} MB per verify)")
    with tempfile.TemporaryDirectory() as tmp, running(Path(tmp)) as server:
        pid = server.process.pid
        cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
        saturated = asyncio.run(run_level(server.url, images, 4, args.saturation_seconds))
        cpu = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before)
        capacity = saturated["rps"]
        print(f"saturated (closed loop, c=4): {capacity:.2f} verifies/s, p50 {saturated['p50']:.0f} ms, "
              f"p95 {saturated['p95']:.0f} ms, CPU {cpu:.2f} cores = {1000 * cpu / capacity:.0f} ms CPU per verify, "
              f"{capacity / cpu:.2f} verifies/s per busy core, RSS {rss_mib(pid):.0f} MiB, "
              f"non-200 {saturated['other'] or '-'}")
        own = os.getpid()
        levels: dict[float, list[dict[str, Any]]] = {fraction: [] for fraction in args.fractions}
        peak_rss = rss_mib(pid)
        for round_ in range(args.rounds):
            for index, fraction in enumerate(args.fractions):
                rate = fraction * capacity
                cpu_before, own_before, busy_before = cpu_seconds(pid), cpu_seconds(own), machine_busy_seconds()
                wall_before = time.monotonic()
                result = asyncio.run(open_loop(server.url, server.metrics_url, images, rate, args.seconds,
                                               seed=round_ * 100 + index))
                wall = time.monotonic() - wall_before
                server_cpu, probe_cpu = cpu_seconds(pid) - cpu_before, cpu_seconds(own) - own_before
                result["utilisation"] = server_cpu / wall / REQUESTED_CPUS
                result["other"] = max(0.0, (machine_busy_seconds() - busy_before - server_cpu - probe_cpu) / wall)
                result["offered"] = rate
                levels[fraction].append(result)
                peak_rss = max(peak_rss, rss_mib(pid))
        print(f"\nmedians over {args.rounds} interleaved rounds of {args.seconds:.0f} s per level")
        print(f"{'load':>5} {'offered/s':>9} {'done/s':>7} {'CPU util':>8} {'in progress':>11} "
              f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'other CPU':>9}  non-200 (all rounds)")
        for fraction, runs in levels.items():
            median = {key: float(np.median([run[key] for run in runs]))
                      for key in ("offered", "rps", "utilisation", "in_progress", "p50", "p95", "p99")}
            non_200: Counter[str] = Counter()
            for run in runs:
                non_200.update(run["other_status"])
            print(f"{fraction:5.0%} {median['offered']:9.2f} {median['rps']:7.2f} {median['utilisation']:8.0%} "
                  f"{median['in_progress']:11.2f} {median['p50']:7.0f} {median['p95']:7.0f} {median['p99']:7.0f} "
                  f"{max(run['other'] for run in runs):9.2f}  {dict(non_200) or '-'}")
        print(f"\npeak RSS over the run: {peak_rss:.0f} MiB")


if __name__ == "__main__":
    main()
