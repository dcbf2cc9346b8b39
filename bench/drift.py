"""Score drift across execution settings: how far a score can move when nothing but the machine changes.

    python -m bench.drift [--policy models/policy.toml] [--data ../shared/data]

Every liveness dev sample (fused P(real)) and every verify dev pair (cosine) is scored once per
setting, each in its own process: onnxruntime graph optimisation levels (its kernels and layouts
differ by CPU the way they differ by level), two intra-op threads instead of one, and OpenCV with
its AVX-512 and AVX2 code paths switched off (`OPENCV_CPU_DISABLE`), as on an older CPU. The
largest difference from the default setting is printed per setting; the policy's margins must sit
well above the largest (docs/CALIBRATION.md). `--policy` scores under a draft policy before it is
sealed (the capture rules and fusion in it decide what is scored).
"""

import argparse
import dataclasses
import json
import os
import subprocess  # nosec B404
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

OPENCV_AVX512 = "AVX512-SKX"  # OpenCV marks a switched-off feature with "?" in cv2.getCPUFeaturesLine()
SETTINGS: dict[str, dict[str, str]] = {
    "default": {},
    "onnxruntime basic optimisation": {"DRIFT_ORT_LEVEL": "ORT_ENABLE_BASIC"},
    "onnxruntime extended optimisation": {"DRIFT_ORT_LEVEL": "ORT_ENABLE_EXTENDED"},
    "onnxruntime 2 intra-op threads": {"FACESEAL_ORT_THREADS": "2"},
    "OpenCV without AVX-512": {"OPENCV_CPU_DISABLE": OPENCV_AVX512},
    "OpenCV without AVX-512 and AVX2": {"OPENCV_CPU_DISABLE": OPENCV_AVX512 + ",AVX2,FMA3,AVX"},
}
REPO = Path(__file__).resolve().parents[1]


def _use_optimisation_level(level: str) -> None:
    """Sessions built at another graph optimisation level (bench only; the service always uses ALL)."""
    import onnxruntime as ort

    from app.integrity import gate, runtime

    original = runtime.new_session

    def new_session(model_bytes: bytes, threads: int, memory_arena: bool = True) -> ort.InferenceSession:
        session = original(model_bytes, threads, memory_arena)
        options = session.get_session_options()
        options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
        return ort.InferenceSession(model_bytes, sess_options=options, providers=["CPUExecutionProvider"])

    gate.new_session = new_session  # type: ignore[attr-defined]  # this worker process's sessions only


def score_everything(data: Path, policy: Path | None) -> dict[str, float | None]:
    """Fused P(real) per liveness sample and cosine per verify pair, keyed by a stable name."""
    from app.config import Settings
    from app.eval.datasets import liveness_samples, verify_sets
    from app.eval.liveness import score_samples
    from app.eval.verify import embed_all, routed
    from app.inference.options import pipeline_options
    from app.inference.pipeline import Pipeline
    from app.integrity.gate import open_sealed_set
    from app.integrity.trust import load_trust

    if level := os.environ.get("DRIFT_ORT_LEVEL"):
        _use_optimisation_level(level)
    settings = Settings()
    sealed = open_sealed_set(settings.models_dir, load_trust(settings.trust_file), True, settings.ort_threads)
    if policy:
        sealed = dataclasses.replace(sealed, policy_bytes=policy.read_bytes())
    pipeline = Pipeline(sealed, pipeline_options(settings, sealed))
    scores: dict[str, float | None] = {}
    for root in sorted(data.glob("liveness-dev*")):
        for scored in score_samples(pipeline, liveness_samples(root)):
            scores[f"liveness:{scored.sample.path.relative_to(data)}"] = scored.score
    sets = verify_sets(data / "verify-dev")
    embeddings = embed_all(pipeline, {image for s in sets for pair in s.pairs for image in routed(pair)})
    for pair_set in sets:
        for pair in pair_set.pairs:
            first, second = (embeddings[image] for image in routed(pair))
            cosine = float(np.dot(first, second)) if first is not None and second is not None else None
            scores[f"verify:{pair_set.name}:{pair.first.name}:{pair.second.name}"] = cosine
    return scores


def largest_drift(reference: dict[str, float | None], other: dict[str, float | None], kind: str) -> tuple[float, int]:
    """Largest |difference| over the scores both settings produced, and how many samples were scored
    under one setting only (a capture verdict that moved)."""
    keys = [k for k in reference if k.startswith(kind)]
    both = [k for k in keys if reference[k] is not None and other.get(k) is not None]
    moved = sum(1 for k in keys if (reference[k] is None) != (other.get(k) is None))
    return max((abs(reference[k] - other[k]) for k in both), default=0.0), moved  # type: ignore[operator]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--policy", type=Path)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.worker.write_text(json.dumps(score_everything(args.data, args.policy)))
        return
    with tempfile.TemporaryDirectory() as folder:

        def run(index: int, env: dict[str, str]) -> dict[str, float | None]:
            out = Path(folder) / f"{index}.json"
            command = [sys.executable, "-m", "bench.drift", "--data", str(args.data), "--worker", str(out)]
            command += ["--policy", str(args.policy)] if args.policy else []
            subprocess.run(command, cwd=REPO, env={**os.environ, **env}, check=True)  # nosec B603
            scores: dict[str, float | None] = json.loads(out.read_text())
            return scores

        with ThreadPoolExecutor(max_workers=len(os.sched_getaffinity(0))) as workers:  # a process per setting
            runs = list(workers.map(run, range(len(SETTINGS)), SETTINGS.values()))
    default, *others = runs
    print(f"{'setting':<36} {'liveness max |dP|':>18} {'capture moved':>14} {'verify max |dcos|':>18}")
    for name, scores in zip(list(SETTINGS)[1:], others, strict=True):
        liveness, moved = largest_drift(default, scores, "liveness:")
        verify, _ = largest_drift(default, scores, "verify:")
        print(f"{name:<36} {liveness:>18.2e} {moved:>14} {verify:>18.2e}")


if __name__ == "__main__":
    main()
