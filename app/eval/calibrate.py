"""`faceseal calibrate`: derive the policy's operating points from labelled data.

Match presets: the threshold at which at most `fmr_target` of all impostor pairs would match
(pooled over every pair set). Liveness: `live` needs P(real) at or above the score that at most
`apcer_target` of attacks reach; `spoof` is called below the score that at most `bpcer_target` of
bona fide faces fall under. The gap between the two is the `uncertain` band.
"""

from pathlib import Path

import numpy as np

from app.eval.liveness import evaluate_liveness
from app.eval.metrics import threshold_at_fmr
from app.eval.verify import evaluate_verify
from app.inference.liveness import FUSION_RULE
from app.inference.pipeline import Pipeline

FMR_PRESETS = {"fmr_1e-2": 1e-2, "fmr_1e-3": 1e-3, "fmr_1e-4": 1e-4}


def calibrate(
    pipeline: Pipeline, verify_root: Path, liveness_root: Path, version: str, apcer_target: float, bpcer_target: float
) -> str:
    """Return the text of a new policy file (full float precision: rounding could move a boundary)."""
    _, pair_scores = evaluate_verify(pipeline, verify_root)
    impostor = np.concatenate([s.impostor for s in pair_scores])
    genuine_count = sum(s.genuine.size for s in pair_scores)
    _, results = evaluate_liveness(pipeline, liveness_root)
    real = np.array([p for s, p, _ in results if s.real and p is not None])
    spoof = np.array([p for s, p, _ in results if not s.real and p is not None])
    live_from = threshold_at_fmr(spoof, apcer_target)
    spoof_below = min(float(np.quantile(real, bpcer_target)), live_from)
    lines = [
        "# Decision policy, sealed with the models: its SHA-256 is recorded in models.lock.",
        "# Written by `faceseal calibrate` (method: app/eval/calibrate.py; data: README, Calibration).",
        f'version = "{version}"',
        'default_preset = "fmr_1e-3"',
        "",
        "[calibration]",
        f"verify_data = \"{verify_root.name}\"",
        f"impostor_pairs = {impostor.size}",
        f"genuine_pairs = {genuine_count}",
        f"liveness_data = \"{liveness_root.name}\"",
        f"bona_fide = {real.size}",
        f"attacks = {spoof.size}",
        f"apcer_target = {apcer_target}",
        f"bpcer_target = {bpcer_target}",
    ]
    for name, target in FMR_PRESETS.items():
        measurable = impostor.size * target >= 1
        lines += [
            "",
            f'[match.presets."{name}"]',
            f"fmr_target = {target}",
            f"threshold = {threshold_at_fmr(impostor, target)!r}",
            f"# {'measured' if measurable else 'not measurable with this many impostors: above the highest seen'}",
        ]
    lines += [
        "",
        "[liveness]",
        f"live_from = {live_from!r}",
        f"spoof_below = {spoof_below!r}",
        f'fusion = "{FUSION_RULE}"',
        "",
    ]
    return "\n".join(lines)
