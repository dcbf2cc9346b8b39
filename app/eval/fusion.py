"""Liveness fusion and operating points fitted on scored samples, and leave-one-source-out validation.

The fused score is a logistic model over the liveness models' log-odds. Two candidates are fitted,
equal weights (the mean log-odds) and a source-balanced L2 logistic regression, and the one with the
lower leave-one-source-out error is kept (with few sources the simpler model often generalises
better). `live_from` is the score that at most `apcer_target` of attacks reach and `spoof_below` the
score under which `bpcer_target` of bona fide faces fall; the gap is `uncertain` (retake). Both
boundaries are then moved outwards into gaps of the calibration scores, so that no sample lies within
`margin` (the measured drift across CPUs and runtimes, `bench/drift.py`, times a safety factor) of a
boundary. Only valid captures (a liveness verdict was given) take part: what the capture rules send
back for a retake never reaches a threshold.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.eval.datasets import LivenessSample
from app.eval.metrics import threshold_at_fmr
from app.inference.liveness import fused_real_probability

L2_PENALTY = 1.0  # ridge on the weights (not the bias), in units of the source-balanced sample weight


@dataclass(frozen=True)
class ScoredSample:
    sample: LivenessSample
    outcome: str  # live, spoof, uncertain, or the retake / refusal reasons
    log_odds: dict[str, float] | None  # per liveness model; None where liveness was not judged
    score: float | None  # fused P(real) under the loaded policy


@dataclass(frozen=True)
class Fusion:
    name: str  # "equal" or "logistic"
    weights: dict[str, float]
    bias: float

    def scores(self, log_odds: np.ndarray, models: Sequence[str]) -> np.ndarray:
        """Fused P(real) for rows of per-model log-odds in `models` order (as the service computes it)."""
        return fused_real_probability(self.weights, self.bias, {m: log_odds[:, i] for i, m in enumerate(models)})


@dataclass(frozen=True)
class LivenessFit:
    fusion: Fusion
    live_from: float
    spoof_below: float


def clear_of(scores: np.ndarray, start: float, margin: float, upwards: bool) -> float:
    """The first threshold from `start` (moving up or down) with no score closer than `margin`."""
    threshold = start
    ordered = np.sort(scores) if upwards else np.sort(scores)[::-1]
    for score in ordered:
        if abs(score - threshold) < margin:
            threshold = score + margin if upwards else score - margin
    return float(threshold)


def fit_logistic(features: np.ndarray, labels: np.ndarray, sample_weight: np.ndarray, l2: float) -> np.ndarray:
    """Weights then bias of an L2-penalised logistic regression (Newton's method: deterministic, no
    learning rate, converges in a few steps on a handful of features)."""
    design = np.hstack([features, np.ones((len(features), 1))])
    penalty = np.eye(design.shape[1]) * l2
    penalty[-1, -1] = 0.0
    coefficients = np.zeros(design.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-design @ coefficients))
        gradient = design.T @ ((p - labels) * sample_weight) + penalty @ coefficients
        hessian = (design * (p * (1 - p) * sample_weight)[:, None]).T @ design + penalty
        step = np.linalg.solve(hessian, gradient)
        coefficients -= step
        if np.max(np.abs(step)) < 1e-12:
            break
    return coefficients


def judged_only(samples: Sequence[ScoredSample]) -> list[ScoredSample]:
    return [s for s in samples if s.log_odds is not None]


def _matrix(samples: Sequence[ScoredSample], models: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    log_odds = np.array([[s.log_odds[m] for m in models] for s in samples if s.log_odds], dtype=np.float64)
    labels = np.array([s.sample.real for s in samples if s.log_odds], dtype=np.float64)
    return log_odds.reshape(-1, len(models)), labels


def candidate_fusions(samples: Sequence[ScoredSample], models: Sequence[str]) -> list[Fusion]:
    """Equal weights, and a logistic regression in which every (source, label) cell weighs the same, so
    the largest source does not decide the weights alone."""
    equal = Fusion("equal", {m: 1.0 / len(models) for m in models}, 0.0)
    log_odds, labels = _matrix(samples, models)
    if len(np.unique(labels)) < 2:
        return [equal]
    cells = [(s.sample.group, s.sample.real) for s in samples if s.log_odds]
    counts = {cell: cells.count(cell) for cell in set(cells)}
    weight = np.array([1.0 / counts[cell] for cell in cells])
    weight *= len(cells) / weight.sum()
    coefficients = fit_logistic(log_odds, labels, weight, L2_PENALTY)
    weights = {m: float(c) for m, c in zip(models, coefficients[:-1], strict=True)}
    logistic = Fusion("logistic", weights, float(coefficients[-1]))
    return [equal, logistic]


def operating_points(
    fusion: Fusion, samples: Sequence[ScoredSample], models: Sequence[str], apcer_target: float, bpcer_target: float,
    margin: float,
) -> LivenessFit:
    log_odds, labels = _matrix(samples, models)
    scores = fusion.scores(log_odds, models)
    real, spoof = scores[labels == 1], scores[labels == 0]
    live_from = clear_of(scores, threshold_at_fmr(spoof, apcer_target), margin, upwards=True)
    spoof_below = clear_of(scores, min(float(np.quantile(real, bpcer_target)), live_from), margin, upwards=False)
    if not 0 < spoof_below <= live_from < 1:
        raise ValueError(f"no liveness thresholds clear of every sample by {margin}: {spoof_below}, {live_from}")
    return LivenessFit(fusion, live_from, spoof_below)


def held_out_error(fit: LivenessFit, held_out: Sequence[ScoredSample], models: Sequence[str]) -> float:
    """APCER + BPCER + uncertain rate on a source the fit never saw (valid captures only)."""
    log_odds, labels = _matrix(held_out, models)
    scores = fit.fusion.scores(log_odds, models)
    live, spoof = scores >= fit.live_from, scores < fit.spoof_below
    apcer = float(np.mean(live[labels == 0])) if np.any(labels == 0) else 0.0
    bpcer = float(np.mean(spoof[labels == 1])) if np.any(labels == 1) else 0.0
    return apcer + bpcer + float(np.mean(~live & ~spoof))


def fit_liveness(
    samples: Sequence[ScoredSample], models: Sequence[str], apcer_target: float, bpcer_target: float, margin: float
) -> LivenessFit:
    """Choose the fusion by leave-one-source-out error among the training sources (exact target points),
    then fit it and its operating points on all of them, kept `margin` clear of every sample."""
    judged = judged_only(samples)
    sources = sorted({s.sample.group for s in judged})

    def loso_error(name: str) -> float:
        errors = []
        for source in sources:
            train = [s for s in judged if s.sample.group != source]
            fusion = next((f for f in candidate_fusions(train, models) if f.name == name), None)
            if fusion is None or len({s.sample.real for s in train}) < 2:
                continue
            fit = operating_points(fusion, train, models, apcer_target, bpcer_target, margin=0.0)
            errors.append(held_out_error(fit, [s for s in judged if s.sample.group == source], models))
        return float(np.mean(errors)) if errors else float("inf")

    candidates = candidate_fusions(judged, models)
    chosen = min(candidates, key=lambda fusion: loso_error(fusion.name))  # ties keep "equal", listed first
    return operating_points(chosen, judged, models, apcer_target, bpcer_target, margin)


def leave_one_source_out(
    samples: Sequence[ScoredSample], models: Sequence[str], apcer_target: float, bpcer_target: float
) -> dict[str, LivenessFit | None]:
    """Per source, the whole calibration (fusion choice, weights, thresholds) done without it; None where
    the other sources cannot support a fit (no bona fide or no attack among their valid captures). The
    reproducibility margin is left out here: it only moves sealed boundaries off the samples they were
    fitted on, it says nothing about unseen data."""
    fits: dict[str, LivenessFit | None] = {}
    for source in sorted({s.sample.group for s in samples}):
        train = [s for s in judged_only(samples) if s.sample.group != source]
        if len({s.sample.real for s in train}) < 2:
            fits[source] = None
            continue
        fits[source] = fit_liveness(train, models, apcer_target, bpcer_target, margin=0.0)
    return fits
