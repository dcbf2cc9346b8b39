"""Peer benchmark: faceseal's verify beside face_recognition 1.3 (dlib), the library most Python users pick.

    python -m bench.peer [--rounds 3] [--profile full|1280|640 ...] [--venv DIR]

face_recognition is never a dependency of faceseal, not even a development one: this creates (or reuses) a
throwaway venv outside the repository, by default ~/.cache/faceseal-bench/peer-venv (`--venv DIR` or
FACESEAL_PEER_VENV to move it; delete it when done), and installs there from PyPI face_recognition 1.3.0 with
`--no-deps` (it asks for `dlib` by name, whose sdist compiles for many minutes) on dlib-bin's prebuilt wheel
and its other small dependencies. Its side runs in bench/peer_worker.py, in a process of that venv.

Per pair, one thread each (OMP/MKL/OPENBLAS threads = 1 in the peer; one lane, one onnxruntime and one
OpenCV thread in faceseal), from the images' bytes in memory:
- face_recognition: load both images, HOG detection (its default), encode the largest face of each, compare.
  That is its whole verify: it has no liveness check.
- faceseal verify: the real Pipeline.verify with the sealed models: decode, detect, quality, align, embed, both
  liveness families on the selfie, and the decision.
- faceseal compare: Pipeline.compare, the same job as the peer's (two images, one match statement, no
  liveness), for a like-for-like ratio beside the issue's verify-with-liveness one.
The three run interleaved pair by pair (who goes first rotates), the profiles of bench.profiles in turn,
so a drifting machine slows both alike. Times are CPU time of the process doing the verify (every thread
it ran, so core-seconds); wall time is printed beside them and matches CPU time on a quiet machine.
"""

import argparse
import base64
import json
import os
import subprocess  # nosec B404: runs pip and our own worker, fixed argv, no shell
import time
import venv
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from app.api.memory import configure_heap
from app.inference.pipeline import Pipeline
from bench.floor import one_core_pipeline
from bench.profiles import Pair, add_profile_argument, all_profiles, chosen_profiles, mean_upload_kib
from devkit.load import pairs

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VENV = Path.home() / ".cache" / "faceseal-bench" / "peer-venv"
WORKER = Path(__file__).with_name("peer_worker.py")
# face_recognition goes in with --no-deps; these are its dependencies, dlib-bin's wheel standing in for dlib.
PEER_DEPENDENCIES = ["dlib-bin==20.0.1.post1", "face_recognition_models==0.3.0", "Click>=6.0", "numpy", "Pillow",
                     "setuptools<81"]  # face_recognition_models finds its weights with pkg_resources
PEER_PACKAGE = "face_recognition==1.3.0"
MARKER = "faceseal-peer.json"  # what was installed: a venv without it is not ours to clear
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
# Issue 18's target on the <= 640 px profile, faceseal (with liveness) against face_recognition (without).
TARGET_RATIO, STRETCH_RATIO = 4.0, 10.0
TARGET_PROFILE = "640"


def ensure_venv(path: Path) -> Path:
    """The peer venv's python, building the venv unless one with the same packages is there."""
    path = path.expanduser().resolve()
    if path.is_relative_to(REPO):
        raise SystemExit(f"{path}: the peer venv must live outside the repository")
    marker, wanted = path / MARKER, {"no_deps": PEER_PACKAGE, "dependencies": PEER_DEPENDENCIES}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        return path / "bin" / "python"
    if path.exists() and any(path.iterdir()) and not marker.exists():
        raise SystemExit(f"{path} exists and is not a peer venv made by bench.peer: choose another --venv")
    print(f"building the peer venv in {path} (face_recognition is never a faceseal dependency)", flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    python = path / "bin" / "python"
    for args in (PEER_DEPENDENCIES, ["--no-deps", PEER_PACKAGE]):
        subprocess.run([str(python), "-m", "pip", "install", "-q", *args], check=True)  # nosec B603
    marker.write_text(json.dumps(wanted))
    return python


@dataclass
class Samples:
    """One side's timings (ms) and outcomes on one profile."""

    cpu_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)
    matched: int = 0


Timer = Callable[[Pair, Samples | None], None]  # times one pair, recording into the samples (None: a warm-up)


def ratio(peer: list[float], ours: list[float]) -> float:
    """How many times faceseal's mean verify fits in the peer's."""
    return float(np.mean(peer) / np.mean(ours))


class PeerWorker:
    """face_recognition's verify, one pair at a time, in a worker process of the peer venv."""

    def __init__(self, python: Path) -> None:
        environment = {**os.environ, **ONE_THREAD}
        self._process = subprocess.Popen(  # nosec B603: our own worker script, fixed argv
            [str(python), str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=environment)
        assert self._process.stdin is not None and self._process.stdout is not None  # both piped above
        self._requests, self._replies = self._process.stdin, self._process.stdout

    def verify(self, pair: Pair, samples: Samples | None) -> None:
        """Time face_recognition's verify of `pair` in the worker; record it in `samples` (None: a warm-up)."""
        request = {"selfie": base64.b64encode(pair[0]).decode(), "reference": base64.b64encode(pair[1]).decode()}
        self._requests.write(json.dumps(request) + "\n")
        self._requests.flush()
        line = self._replies.readline()
        if not line:
            raise SystemExit(f"the peer worker stopped (exit code {self._process.wait()})")
        reply = json.loads(line)
        if samples is not None:
            samples.cpu_ms.append(reply["cpu_ms"])
            samples.wall_ms.append(reply["wall_ms"])
            samples.matched += reply["matched"] is True

    def close(self) -> None:
        self._requests.close()  # the worker ends at the end of its input
        self._process.wait(timeout=30)


def faceseal_verify(pipeline: Pipeline, pair: Pair, samples: Samples | None) -> None:
    """Time faceseal's verify of `pair` in this process; record it in `samples` (None: a warm-up)."""
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    result = pipeline.verify([pair[0]], pair[1])
    record(samples, cpu_started, wall_started, result.match is not None and result.match.matched)


def faceseal_compare(pipeline: Pipeline, pair: Pair, samples: Samples | None) -> None:
    """Time faceseal's compare of `pair` (no liveness: the peer's job); record it in `samples` (None: a warm-up)."""
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    result = pipeline.compare(pair[0], pair[1])
    record(samples, cpu_started, wall_started, result.outcome == "match")


def record(samples: Samples | None, cpu_started: float, wall_started: float, matched: bool) -> None:
    if samples is not None:
        samples.cpu_ms.append((time.process_time() - cpu_started) * 1000)
        samples.wall_ms.append((time.perf_counter() - wall_started) * 1000)
        samples.matched += matched


def measure(profiles: dict[str, list[Pair]], rounds: int, python: Path) -> dict[str, tuple[Samples, Samples, Samples]]:
    """(face_recognition, faceseal verify, faceseal compare) samples per profile; the first pair of each profile
    warms all three up uncounted."""
    pipeline = one_core_pipeline()
    worker = PeerWorker(python)
    timers: list[Timer] = [worker.verify, partial(faceseal_verify, pipeline), partial(faceseal_compare, pipeline)]
    results = {profile: (Samples(), Samples(), Samples()) for profile in profiles}
    try:
        for images in profiles.values():
            for timer in timers:
                timer(images[0], None)
        for _ in range(rounds):
            for profile, images in profiles.items():
                sides = list(zip(timers, results[profile], strict=True))
                for index, pair in enumerate(images):
                    first = index % len(sides)  # who goes first rotates
                    for timer, samples in sides[first:] + sides[:first]:
                        timer(pair, samples)
    finally:
        worker.close()
    return results


def columns(samples: Samples) -> str:
    """Mean and median CPU ms, mean wall ms, and how many genuine pairs matched."""
    return (f"{np.mean(samples.cpu_ms):7.0f} {np.median(samples.cpu_ms):7.0f} {np.mean(samples.wall_ms):7.0f}"
            f" {samples.matched:>4}/{len(samples.cpu_ms)}")


def report(profiles: dict[str, list[Pair]], results: dict[str, tuple[Samples, Samples, Samples]], rounds: int) -> None:
    count = len(next(iter(profiles.values())))
    print(f"\n{rounds} rounds over {count} genuine dev pairs per profile, interleaved pair by pair, one thread each.")
    print("face_recognition 1.3.0 (dlib, HOG): load, detect, encode, compare; it has NO liveness check.")
    print("faceseal verify: Pipeline.verify with the sealed models, one lane: decode to decision, liveness included.")
    print("faceseal compare: Pipeline.compare: two images, one match statement, no liveness (the peer's job).")
    print("ms per call: CPU time (mean, median) and wall time (mean; equal to CPU time on a quiet machine);"
          " ratio = face_recognition / faceseal, of the CPU means; matched = genuine pairs matched\n")
    side = f"{'cpu':>7} {'median':>7} {'wall':>7} {'matched':>9}"
    print(f"{'':<8} {'':>9}  {'face_recognition':^32}  {'faceseal verify':^32}  {'faceseal compare':^32}  ratio")
    print(f"{'profile':<8} {'KiB/image':>9}  {side}  {side}  {side}  verify compare")
    for profile, (peer, verified, compared) in results.items():
        print(f"{profile:<8} {mean_upload_kib(profiles[profile]):9.0f}  {columns(peer)}  {columns(verified)}"
              f"  {columns(compared)}  {ratio(peer.cpu_ms, verified.cpu_ms):5.1f}x"
              f" {ratio(peer.cpu_ms, compared.cpu_ms):6.1f}x")
    if TARGET_PROFILE in results:
        peer, verified, compared = results[TARGET_PROFILE]
        achieved = ratio(peer.cpu_ms, verified.cpu_ms)
        verdict = "stretch met" if achieved >= STRETCH_RATIO else "met" if achieved >= TARGET_RATIO else "NOT met"
        print(f"\ntarget: on the <= {TARGET_PROFILE} px profile faceseal (with liveness) >= {TARGET_RATIO:.0f}x faster"
              f" than face_recognition per verify (stretch {STRETCH_RATIO:.0f}x): {achieved:.1f}x, {verdict}")
        print(f"like for like (faceseal compare, no liveness either): {ratio(peer.cpu_ms, compared.cpu_ms):.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3, help="passes over the image pairs per profile")
    parser.add_argument("--venv", type=Path, default=Path(os.environ.get("FACESEAL_PEER_VENV", DEFAULT_VENV)),
                        help="the throwaway peer venv (default %(default)s)")
    add_profile_argument(parser)
    args = parser.parse_args()
    configure_heap()  # as `faceseal serve` does, before the pipeline's threads start
    python = ensure_venv(args.venv)
    profiles = all_profiles(chosen_profiles(args.profiles), pairs())
    report(profiles, measure(profiles, args.rounds, python), args.rounds)


if __name__ == "__main__":
    main()
