"""Inference floor: each sealed model's own onnxruntime latency at the shapes one /v1/verify uses.

    python -m bench.floor [--runs 100] [--rounds 3] [--profile full|1280|640 ...]

Floor of one verify = a CenterFace pass (the selfie) + a YuNet pass (the reference) + 2 single-face
embeddings (a request alone on idle lanes; on one lane, or lanes holding other work, both go in one
batch, which costs less) + one run per liveness model on its crop (and the crop's mirror image, when the policy
averages them: a batch of 2) (the runs the service makes), one after another. Measured
twice, the runs interleaved: with every core on each operator (the latency floor, the fastest one
verify can be if its models run in sequence) and with one thread (the compute floor: core-seconds per
verify, so cores / compute floor is the most verifies per second the machine can do).

Then the whole pipeline (decode to decision, no HTTP) on one core over bench.load's image pairs in
each upload profile of bench.profiles (default all; the profiles interleaved), in the same process and
minute as the floors: its CPU per verify bounds what any serving layer can reach with these images, and
its stages show where the time outside the models goes; and what decoding the stored JPEGs at reduced
scale would cost.
"""

import argparse
import os
import time
from collections import Counter

import cv2
import numpy as np

from app.api.memory import configure_heap
from app.config import Settings
from app.inference.detector import ALIGN
from app.inference.options import pipeline_options
from app.inference.pipeline import Pipeline
from app.inference.policy import Policy
from app.integrity.gate import LoadedModel, open_sealed_set
from app.integrity.trust import load_trust
from bench.profiles import FULL, PROFILES, Pair, add_profile_argument, all_profiles, chosen_profiles, mean_upload_kib
from devkit.load import pairs
from devkit.paths import VERIFY_IMAGES

# Issue 18's target for the pipeline's CPU per verify on the full-size load pairs (2-core AVX-512 machine).
TARGET_FULL_CPU_MS = 110.0


def timed(models: list[LoadedModel], feed: np.ndarray, runs: int) -> list[tuple[float, float]]:
    """p50 and p95 ms of each session of one model; runs interleaved, so a drifting machine slows all alike."""
    name = models[0].entry.preprocessing.input_name
    for model in models:
        for _ in range(5):
            model.session.run(None, {name: feed})
    samples: list[list[float]] = [[] for _ in models]
    for _ in range(runs):
        for model, values in zip(models, samples, strict=True):
            started = time.perf_counter()
            model.session.run(None, {name: feed})
            values.append((time.perf_counter() - started) * 1000)
    return [(float(np.median(values)), float(np.percentile(values, 95))) for values in samples]


def detector_shape(width: int, height: int, long_side: int) -> tuple[int, int]:
    ratio = long_side / max(width, height)
    return int(np.ceil(height * ratio / ALIGN) * ALIGN), int(np.ceil(width * ratio / ALIGN) * ALIGN)


def floor_tables(thread_counts: list[int], runs: int) -> list[float]:
    """Print each model's latency per intra-op thread count; return the p50 floor of one verify for each."""
    settings = Settings()
    trust = load_trust(settings.trust_file)
    sealed_sets = [open_sealed_set(settings.models_dir, trust, True, threads) for threads in thread_counts]
    selfie = cv2.imread(str(VERIFY_IMAGES / "img1.jpg"))
    assert selfie is not None, "dev image missing"
    h, w = detector_shape(selfie.shape[1], selfie.shape[0], settings.detector_long_side)
    rng = np.random.default_rng(0)
    detectors = [sealed.by_role("detector")[0] for sealed in sealed_sets]
    reference_detectors = [sealed.by_role("reference-detector")[0] for sealed in sealed_sets]
    rh, rw = detector_shape(selfie.shape[1], selfie.shape[0], settings.reference_detector_long_side)
    embedders = [sealed.by_role("embedder")[0] for sealed in sealed_sets]
    rows = [
        (detectors[0].entry.name, f"1x3x{h}x{w}",
         timed(detectors, rng.uniform(0, 255, (1, 3, h, w)).astype(np.float32), runs), 1),
        (reference_detectors[0].entry.name, f"1x3x{rh}x{rw}",
         timed(reference_detectors, rng.uniform(0, 255, (1, 3, rh, rw)).astype(np.float32), runs), 1),
        (embedders[0].entry.name, "1x160x160x3",
         timed(embedders, rng.uniform(-1, 1, (1, 160, 160, 3)).astype(np.float32), runs), 2),
    ]
    # With the policy's mirror averaging, each liveness model runs on the crop and its mirror image: one batch of 2.
    batch = 2 if Policy.from_bytes(sealed_sets[0].policy_bytes).liveness.flip_average else 1
    for models in zip(*(sealed.by_role("liveness") for sealed in sealed_sets), strict=True):
        contract = models[0].entry.preprocessing
        side, low, high = contract.size[0], -contract.mean / contract.std, (255 - contract.mean) / contract.std
        # Pixels 0-255 normalised as the service feeds them: onnxruntime's speed can depend on the values (PRelu's did).
        feed = rng.uniform(low, high, (batch, 3, side, side)).astype(np.float32)
        rows.append((models[0].entry.name, f"{batch}x3x{side}x{side}", timed(list(models), feed, runs), 1))
    floors = []
    for index, threads in enumerate(thread_counts):
        print(f"\nonnxruntime intra-op threads per session: {threads}; runs: {runs} "
              "(interleaved with the other thread counts)")
        print(f"{'model':<30} {'input':<16} {'p50 ms':>8} {'p95 ms':>8} {'x per verify':>13}")
        floor50 = floor95 = 0.0
        for name, shape, timings, count in rows:
            p50, p95 = timings[index]
            print(f"{name:<30} {shape:<16} {p50:8.2f} {p95:8.2f} {count:>13}")
            floor50 += p50 * count
            floor95 += p95 * count
        print(f"{'floor':<30} {'one /v1/verify':<16} {floor50:8.2f} {floor95:8.2f}")
        floors.append(floor50)
    return floors


def one_core_pipeline() -> Pipeline:
    """The real pipeline with the sealed models on one core (one lane, one onnxruntime and OpenCV thread),
    warmed up: each stage's wall time is then its CPU time (the lanes make OpenCV single-threaded)."""
    settings = Settings(lanes=1, ort_threads=1)
    sealed = open_sealed_set(settings.models_dir, load_trust(settings.trust_file), True, 1)
    pipeline = Pipeline(sealed, pipeline_options(settings, sealed))
    pipeline.warm_up()
    return pipeline


def pipeline_table(profiles: dict[str, list[Pair]], rounds: int) -> dict[str, tuple[float, float]]:
    """Print the pipeline's CPU per verify by stage and profile, on one core; return each profile's
    (total, decode) in ms."""
    pipeline = one_core_pipeline()
    stages: dict[str, Counter[str]] = {profile: Counter() for profile in profiles}
    cpu_ms: dict[str, list[float]] = {profile: [] for profile in profiles}
    for round_number in range(rounds + 1):  # round 0 warms caches and is not counted
        for profile, images in profiles.items():  # profiles interleaved, so a drifting machine slows them alike
            for selfie, reference in images:
                started = time.process_time()
                result = pipeline.verify([selfie], reference)
                if round_number:
                    cpu_ms[profile].append((time.process_time() - started) * 1000)
                    stages[profile].update(result.timings.stages_ms)
    count = len(next(iter(profiles.values())))
    print(f"\nwhole pipeline on one core, no HTTP: {rounds} rounds over bench.load's {count} image pairs per profile"
          " (stages in wall ms, their CPU ms on a quiet machine; the total is CPU time)")
    print(f"{'ms per verify':<30}" + "".join(f" {profile:>9}" for profile in profiles))
    names = list(dict.fromkeys(name for counter in stages.values() for name in counter))
    for name in names:
        print(f"{name:<30}" + "".join(f" {stages[p][name] / len(cpu_ms[p]):9.1f}" for p in profiles))
    means = {profile: float(np.mean(values)) for profile, values in cpu_ms.items()}
    print(f"{'CPU per verify (all stages)':<30}" + "".join(f" {means[p]:9.1f}" for p in profiles))
    print(f"{'mean upload KiB per image':<30}" + "".join(f" {mean_upload_kib(profiles[p]):9.0f}" for p in profiles))
    return {profile: (means[profile], stages[profile]["decode"] / len(cpu_ms[profile])) for profile in profiles}


def decode_table(rounds: int) -> None:
    """CPU to decode the load pairs at full and reduced scale: how much of decoding any resolution trick can save."""
    images = [np.frombuffer(data, np.uint8) for pair in pairs() for data in pair]
    scales = {"full size": 0, "1/2 (IMREAD_REDUCED_*)": cv2.IMREAD_REDUCED_GRAYSCALE_2,
              "1/4": cv2.IMREAD_REDUCED_GRAYSCALE_4, "1/8": cv2.IMREAD_REDUCED_GRAYSCALE_8}
    samples: dict[str, list[float]] = {label: [] for label in scales}
    for _ in range(rounds + 1):  # scales interleaved, so a drifting machine slows them alike; round 0 warms up
        for label, scale_flag in scales.items():
            started = time.process_time()
            for image in images:
                cv2.imdecode(image, scale_flag | cv2.IMREAD_COLOR_RGB)
            samples[label].append((time.process_time() - started) * 1000 * 2 / len(images))
    print(f"\n{'JPEG decode of the load pairs':<30} {'ms per verify':>14}")
    for label, values in samples.items():
        print(f"{label:<30} {np.median(values[1:]):14.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the image pairs for the pipeline table")
    add_profile_argument(parser)
    args = parser.parse_args()
    configure_heap()  # as `faceseal serve` does, before the pipeline's threads start
    cores = os.cpu_count() or 1
    latency_floor, compute_floor = floor_tables([cores, 1], args.runs)
    pipeline = pipeline_table(all_profiles(chosen_profiles(args.profiles), pairs()), args.rounds)
    decode_table(args.rounds)
    capacity = cores * 1000 / compute_floor
    print(f"\nlatency floor ({cores} threads): {latency_floor:.1f} ms   "
          f"compute floor (1 thread): {compute_floor:.1f} ms"
          f"   capacity: {cores} cores / compute floor = {capacity:.2f} verifies/s")
    print("pipeline ceiling = cores / pipeline CPU (no serving layer can do better with these images); decoding alone"
          " caps throughput at compute floor / (compute floor + decode); a perfect split of the pipeline over the cores"
          " bounds p50 at c=1 (before HTTP)")
    print(f"{'profile':<8} {'CPU ms':>7} {'ceiling/s':>10} {'x capacity':>11} {'decode cap':>11} {'split ms':>9}"
          f" {'x latency floor':>16}")
    for profile, (pipeline_cpu, decode) in pipeline.items():
        print(f"{profile:<8} {pipeline_cpu:7.1f} {cores * 1000 / pipeline_cpu:10.2f} "
              f"{compute_floor / pipeline_cpu:11.2f}"
              f" {compute_floor / (compute_floor + decode):11.2f} {pipeline_cpu / cores:9.1f}"
              f" {pipeline_cpu / cores / latency_floor:16.2f}")
    if FULL in pipeline:
        full_cpu = pipeline[FULL][0]
        verdict = "met" if full_cpu <= TARGET_FULL_CPU_MS else "NOT met"
        print(f"target: pipeline CPU per verify on the full-size pairs <= {TARGET_FULL_CPU_MS:.0f} ms on a 2-core"
              f" AVX-512 machine: {full_cpu:.1f} ms, {verdict}")
    print(f"python -m bench.load --floor-ms {latency_floor:.1f} --compute-floor-ms {compute_floor:.1f}"
          f" --pipeline-cpu-ms {' '.join(f'{p}={cpu:.1f}' for p, (cpu, _) in pipeline.items())}"
          f"{''.join(f' --profile {p}' for p in pipeline) if list(pipeline) != list(PROFILES) else ''}")


if __name__ == "__main__":
    main()
