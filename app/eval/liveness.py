"""`faceseal eval liveness`: presentation-attack metrics (ISO/IEC 30107-3 terms) per source.

Every source is reported twice, side by side: under the sealed policy (in-sample: the policy was
calibrated on the dev sources) and leave-one-source-out (fusion and thresholds refitted without that
source, `app/eval/calibrate.py`), which is the estimate for capture conditions never seen.

APCER counts an attack as accepted only when it is called live (a retake is not an acceptance);
BPCER counts bona fide faces called spoof among valid captures; `uncertain` is the share of valid
captures in the band between the thresholds; `retake_bona_fide` is every bona fide answer that is not
a verdict of live or spoof (capture rules plus the uncertain band), so a capture rule cannot hide
what it costs genuine users.
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from app.eval.datasets import LivenessSample, liveness_samples
from app.eval.fusion import LivenessFit, ScoredSample, leave_one_source_out
from app.eval.metrics import roc_auc
from app.inference.errors import InputError
from app.inference.pipeline import Pipeline
from app.inference.policy import three_way_verdict


def score_samples(pipeline: Pipeline, samples: list[LivenessSample]) -> list[ScoredSample]:
    """Each sample as one single-frame liveness request."""
    scored = []
    for sample in samples:
        try:
            result = pipeline.check_liveness([sample.path.read_bytes()])
        except InputError as error:
            scored.append(ScoredSample(sample, error.code, None, None))
            continue
        live = result.liveness
        if live is None or live.frame_scores[0] is None:
            scored.append(ScoredSample(sample, ",".join(result.reasons), None, None))
            continue
        log_odds = {name: float(values[0]) for name, values in live.model_log_odds.items() if values[0] is not None}
        scored.append(ScoredSample(sample, live.verdict, log_odds, live.frame_scores[0]))
    return scored


Judge = Callable[[ScoredSample], tuple[str, float | None]]  # (outcome, fused score or None)


def rates(samples: Sequence[ScoredSample], judge: Judge) -> dict[str, object]:
    judged = [(s, *judge(s)) for s in samples]
    real = [(s, o, p) for s, o, p in judged if s.sample.real]
    spoof = [(s, o, p) for s, o, p in judged if not s.sample.real]
    by_attack: dict[str, list[bool]] = defaultdict(list)
    for s, outcome, _ in spoof:
        by_attack[s.sample.attack_type].append(outcome == "live")
    apcer = {attack: float(np.mean(accepted)) for attack, accepted in sorted(by_attack.items())}
    valid = [(s, o, p) for s, o, p in judged if p is not None]
    valid_real = [o for s, o, p in valid if s.sample.real]

    def mean(values: list[bool]) -> float:
        return float(np.mean(values)) if values else float("nan")

    return {
        "bona_fide": len(real),
        "attacks": len(spoof),
        "valid_captures": len(valid),
        "apcer": apcer,
        "apcer_max": max(apcer.values()) if apcer else float("nan"),
        "bpcer": mean([o == "spoof" for o in valid_real]),
        "uncertain": mean([o == "uncertain" for _, o, _ in valid]),
        "retake_bona_fide": mean([o not in ("live", "spoof") for _, o, _ in real]),
        "retake_attacks": mean([o not in ("live", "spoof") for _, o, _ in spoof]),
        "roc_auc": roc_auc(np.array([p for s, _, p in valid if s.sample.real]),
                           np.array([p for s, _, p in valid if not s.sample.real])),
    }


def in_sample(sample: ScoredSample) -> tuple[str, float | None]:
    return sample.outcome, sample.score


def held_out_judge(fits: dict[str, LivenessFit | None], models: Sequence[str]) -> Judge:
    """Verdicts from the fit that never saw the sample's source; no verdict where no fit was possible."""

    def judge(sample: ScoredSample) -> tuple[str, float | None]:
        fit = fits.get(sample.sample.group)
        if sample.log_odds is None:
            return sample.outcome, None
        if fit is None:
            return "no_fit", None
        score = float(fit.fusion.scores(np.array([[sample.log_odds[m] for m in models]]), models)[0])
        return three_way_verdict(score, fit.live_from, fit.spoof_below), score

    return judge


def evaluate_liveness(pipeline: Pipeline, roots: Sequence[Path]) -> tuple[dict[str, object], list[ScoredSample]]:
    policy = pipeline.policy
    scored = [s for root in roots for s in score_samples(pipeline, liveness_samples(root))]
    models = sorted(policy.liveness.weights)
    targets = policy.calibration
    fits = leave_one_source_out(scored, models, float(targets.get("apcer_target", 0.01)),  # type: ignore[arg-type]
                                float(targets.get("bpcer_target", 0.05)))  # type: ignore[arg-type]
    held_out = held_out_judge(fits, models)
    sources = sorted({s.sample.group for s in scored})
    report = {
        "policy": {"version": policy.version, "digest": policy.digest},
        "live_from": policy.liveness.live_from,
        "spoof_below": policy.liveness.spoof_below,
        "samples": len(scored),
        "pooled": {"in_sample": rates(scored, in_sample), "leave_one_source_out": rates(scored, held_out)},
        "sources": {
            source: {
                "in_sample": rates([s for s in scored if s.sample.group == source], in_sample),
                "leave_one_source_out": rates([s for s in scored if s.sample.group == source], held_out),
                "held_out_fusion": fit.fusion.name if (fit := fits[source]) else None,
            }
            for source in sources
        },
        "not_judged": {
            reason: sum(1 for s in scored if s.outcome == reason)
            for reason in sorted({s.outcome for s in scored if s.log_odds is None})
        },
    }
    return report, scored


def _cell(value: object) -> str:
    return "   -  " if not isinstance(value, float) or np.isnan(value) else f"{value:6.3f}"


def format_table(report: dict[str, Any]) -> str:
    """Per source: in-sample | leave-one-source-out, APCER per attack type, BPCER, uncertain, retakes, AUC."""
    header = (f"{'source':<26} {'n real/att':>10}  {'APCER per attack type (in | loso)':<44} {'BPCER':>13} "
              f"{'uncertain':>13} {'retake real':>13} {'ROC-AUC':>13}")
    rows = [header]
    entries = {**report["sources"], "POOLED": report["pooled"]}
    for source, entry in entries.items():
        own, loso = entry["in_sample"], entry["leave_one_source_out"]
        attacks = " ".join(f"{a}:{_cell(own['apcer'][a]).strip()}|{_cell(loso['apcer'][a]).strip()}"
                           for a in own["apcer"])
        rows.append(
            f"{source:<26} {own['bona_fide']:>4}/{own['attacks']:<5}  {attacks:<44} "
            + " ".join(f"{_cell(own[k])}|{_cell(loso[k])}"
                       for k in ("bpcer", "uncertain", "retake_bona_fide", "roc_auc"))
        )
    return "\n".join(rows)
