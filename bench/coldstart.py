"""Cold start: process start -> /readyz 200, split into the gate's phases and warm-up.

    python -m bench.coldstart [--runs 5]
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from devkit.server import start, wait_ready

TARGET_S = 2.0  # issue 18: process start to ready, on a quiet 2-core machine


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    totals, phases = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):
            started = time.monotonic()
            server = start(Path(tmp))
            wait_ready(server)
            totals.append(time.monotonic() - started)
            line = next(json.loads(t) for t in server.logs().splitlines() if '"models verified"' in t)
            phases.append(line["timings_s"])
            assert server.stop() == 0
    median = float(np.median(totals))
    verdict = "met" if median <= TARGET_S else "NOT met"
    print(f"cold start to ready over {args.runs} runs: median {median:.2f} s, max {max(totals):.2f} s"
          f" (target <= {TARGET_S:.0f} s: {verdict})")
    for phase in phases[0]:
        print(f"  {phase:<20} median {np.median([p[phase] for p in phases]) * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
