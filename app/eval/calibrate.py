"""`faceseal calibrate`: derive the policy's fusion, operating points and match presets from labelled data.

Liveness: `app/eval/fusion.py` (fusion chosen and thresholds set with leave-one-source-out
validation, clear of every sample by the measured margin). Match presets: the threshold at which at
most `fmr_target` of impostor pairs match, moved up until no pair lies within the match margin.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.eval.datasets import liveness_samples
from app.eval.fusion import ScoredSample, clear_of, fit_liveness, judged_only
from app.eval.liveness import score_samples
from app.eval.metrics import threshold_at_fmr
from app.eval.verify import PairScores, evaluate_verify
from app.inference.pipeline import Pipeline
from app.inference.policy import Policy

FMR_PRESETS = {"fmr_1e-2": 1e-2, "fmr_1e-3": 1e-3, "fmr_1e-4": 1e-4}


def _toml_table(name: str, values: dict[str, object]) -> list[str]:
    return ["", f"[{name}]", *(f"{key} = {_toml_value(value)}" for key, value in values.items())]


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f'"{k}" = {_toml_value(v)}' for k, v in value.items()) + " }"
    return str(value)


def calibrate(
    pipeline: Pipeline, draft: Policy, verify_root: Path, liveness_roots: Sequence[Path], version: str,
    apcer_target: float, bpcer_target: float,
) -> str:
    """Score the dev data with `pipeline`, which must run under `draft`, and return a new policy's text."""
    _, pair_scores = evaluate_verify(pipeline, verify_root)
    samples = [scored for root in liveness_roots for scored in score_samples(pipeline, liveness_samples(root))]
    data_names = (verify_root.name, [root.name for root in liveness_roots])
    return policy_text(draft, version, pair_scores, samples, data_names, apcer_target, bpcer_target)


def policy_text(
    draft: Policy, version: str, pair_scores: Sequence[PairScores], samples: Sequence[ScoredSample],
    data_names: tuple[str, list[str]], apcer_target: float, bpcer_target: float,
) -> str:
    """The text of a new policy file: the draft's capture rules, `flip_average` and margins are kept
    (they decide which captures are valid and how far a boundary must stay from every sample); fusion,
    thresholds and presets are recomputed, clear of every sample by margin + drift, so that a sample
    moved by the drift on another machine is still outside the margin the tests check. Full float
    precision: rounding could move a boundary."""
    impostor = np.concatenate([s.impostor for s in pair_scores])
    every_pair = np.concatenate([np.concatenate([s.genuine, s.impostor]) for s in pair_scores])
    models = sorted(draft.liveness.weights)
    fit = fit_liveness(samples, models, apcer_target, bpcer_target, draft.liveness.margin + draft.liveness.drift)
    judged = judged_only(samples)
    lines = [
        "# Decision policy, sealed with the models: its SHA-256 is recorded in models.lock.",
        "# Written by `faceseal calibrate` (method: app/eval/calibrate.py; data and margins: README, Calibration).",
        f'version = "{version}"',
        f'default_preset = "{draft.default_preset}"',
    ]
    lines += _toml_table("calibration", {
        "verify_data": data_names[0],
        "impostor_pairs": int(impostor.size),
        "genuine_pairs": int(every_pair.size - impostor.size),
        "liveness_data": data_names[1],
        "liveness_sources": len({s.sample.group for s in samples}),
        "valid_bona_fide": sum(s.sample.real for s in judged),
        "valid_attacks": sum(not s.sample.real for s in judged),
        "fusion_chosen": fit.fusion.name,
        "apcer_target": apcer_target,
        "bpcer_target": bpcer_target,
    })
    lines += _toml_table("capture", draft.capture.model_dump())
    lines += _toml_table("match", {"drift": draft.match.drift, "margin": draft.match.margin})
    for name, target in FMR_PRESETS.items():
        clearance = draft.match.margin + draft.match.drift
        threshold = clear_of(every_pair, threshold_at_fmr(impostor, target), clearance, upwards=True)
        measurable = ("measured" if impostor.size * target >= 1
                      else "not measurable with this many impostors: above the highest seen")
        preset: dict[str, object] = {"fmr_target": target, "threshold": threshold}
        lines += [*_toml_table(f'match.presets."{name}"', preset), f"# {measurable}"]
    lines += _toml_table("liveness", {
        "fusion": "weighted_logit",
        "weights": fit.fusion.weights,
        "bias": fit.fusion.bias,
        "flip_average": draft.liveness.flip_average,
        "live_from": fit.live_from,
        "spoof_below": fit.spoof_below,
        "drift": draft.liveness.drift,
        "margin": draft.liveness.margin,
    })
    return "\n".join(lines) + "\n"
