"""`faceseal eval liveness`: presentation-attack metrics (ISO/IEC 30107-3 terms) on labelled folders."""

from collections import defaultdict
from pathlib import Path

import numpy as np

from app.eval.datasets import LivenessSample, liveness_samples
from app.eval.metrics import roc_auc
from app.inference.errors import InputError
from app.inference.pipeline import Pipeline


def score_samples(pipeline: Pipeline, samples: list[LivenessSample]) -> list[tuple[LivenessSample, float | None, str]]:
    """(sample, P(real) or None, verdict or failure code) per sample."""
    results = []
    for sample in samples:
        try:
            outcome = pipeline.check_liveness([sample.path.read_bytes()])
        except InputError as error:
            results.append((sample, None, error.code))
            continue
        live = outcome.liveness
        results.append((sample, live.score if live else None, live.verdict if live else ",".join(outcome.reasons)))
    return results


def evaluate_liveness(pipeline: Pipeline, root: Path) -> tuple[dict[str, object], list[tuple[LivenessSample, float | None, str]]]:
    results = score_samples(pipeline, liveness_samples(root))
    real = [(s, p, v) for s, p, v in results if s.real]
    spoof = [(s, p, v) for s, p, v in results if not s.real]
    # A spoof counts as accepted only when called live; a bona fide is rejected unless called live.
    by_attack: dict[str, list[bool]] = defaultdict(list)
    for sample, _, verdict in spoof:
        by_attack[f"{sample.group}/{sample.attack_type}"].append(verdict == "live")
    apcer = {attack: float(np.mean(accepted)) for attack, accepted in by_attack.items()}
    bpcer_by_group: dict[str, list[bool]] = defaultdict(list)
    for sample, _, verdict in real:
        bpcer_by_group[sample.group].append(verdict != "live")
    bpcer = float(np.mean([v != "live" for _, _, v in real])) if real else float("nan")
    worst_apcer = max(apcer.values()) if apcer else float("nan")
    scored_real = np.array([p for _, p, _ in real if p is not None])
    scored_spoof = np.array([p for _, p, _ in spoof if p is not None])
    report = {
        "samples": len(results),
        "real": len(real),
        "spoof": len(spoof),
        "live_from": pipeline.policy.liveness.live_from,
        "spoof_below": pipeline.policy.liveness.spoof_below,
        "apcer_by_attack": apcer,
        "apcer_max": worst_apcer,
        "bpcer": bpcer,
        "bpcer_by_group": {g: float(np.mean(v)) for g, v in bpcer_by_group.items()},
        "acer": (worst_apcer + bpcer) / 2,
        "roc_auc": roc_auc(scored_real, scored_spoof),
        "uncertain_rate": float(np.mean([v == "uncertain" for _, _, v in results])),
        "no_score": {str(s.path.relative_to(root)): v for s, p, v in results if p is None},
        "policy": {"version": pipeline.policy.version, "digest": pipeline.policy.digest},
    }
    return report, results
