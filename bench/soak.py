"""Bounded soak at saturation: no 5xx and no memory growth (RSS slope) over a fixed time."""

import asyncio
import time
from collections import Counter

import numpy as np

from devkit.load import drive, pairs
from devkit.proc import rss_mib
from devkit.server import Server


def soak(server: Server, seconds: float, concurrency: int = 6) -> None:
    statuses: Counter[int | str] = Counter()
    samples: list[tuple[float, float]] = []
    deadline = time.monotonic() + seconds

    async def sampler() -> None:
        started = time.monotonic()
        while time.monotonic() < deadline:
            samples.append((time.monotonic() - started, rss_mib(server.process.pid)))
            await asyncio.sleep(5)

    async def all_of_it() -> None:
        await asyncio.gather(sampler(), drive(server.url, pairs(), concurrency, deadline, statuses, []))

    asyncio.run(all_of_it())
    t, rss = np.array(samples).T
    half = len(rss) // 2
    slope = np.polyfit(t[half:], rss[half:], 1)[0] * 60 if half >= 2 else float("nan")
    errors = sum(v for k, v in statuses.items() if not isinstance(k, int) or k >= 500)
    print(f"soak {seconds:.0f} s at c={concurrency}: {dict(statuses)}; 5xx or transport errors: {errors}")
    print(f"RSS start {rss[0]:.0f} MiB, end {rss[-1]:.0f} MiB, max {rss.max():.0f} MiB; "
          f"slope over second half {slope:+.2f} MiB/min")
