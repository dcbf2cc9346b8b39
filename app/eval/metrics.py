"""Biometric error metrics from genuine (positive) and impostor (negative) scores; higher = more alike.

A metric that needs a kind of score it was not given is NaN: unmeasurable, not zero.
"""

import numpy as np

NAN = float("nan")


def roc_auc(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """Probability a genuine score beats an impostor score (ties count half)."""
    if genuine.size == 0 or impostor.size == 0:
        return NAN
    scores = np.concatenate([genuine, impostor])
    order = scores.argsort(kind="mergesort")
    ranks = np.empty_like(order, dtype=np.float64)
    ranks[order] = np.arange(1, scores.size + 1)
    for value in np.unique(scores):  # average ranks over ties
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    rank_sum = ranks[: genuine.size].sum()
    return float((rank_sum - genuine.size * (genuine.size + 1) / 2) / (genuine.size * impostor.size))


def threshold_at_fmr(impostor: np.ndarray, fmr: float) -> float:
    """Smallest threshold with at most `fmr` of impostors at or above it.

    With fewer than 1/fmr impostors the target cannot be measured; the rule then falls back to
    just above the highest impostor seen, which is the most a sample of that size supports. With no
    impostors it raises rather than return NaN: calibration writes this threshold into the policy.
    """
    if impostor.size == 0:
        raise ValueError("a threshold at an FMR needs at least one impostor score")
    ordered = np.sort(impostor)[::-1]
    allowed = int(np.floor(fmr * ordered.size))
    return float(np.nextafter(ordered[allowed], np.inf))


def rates(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> tuple[float, float]:
    """(FMR, FNMR) at `threshold` (accept when score >= threshold)."""
    fmr = float(np.mean(impostor >= threshold)) if impostor.size else NAN
    fnmr = float(np.mean(genuine < threshold)) if genuine.size else NAN
    return fmr, fnmr


def eer(genuine: np.ndarray, impostor: np.ndarray) -> float:
    if genuine.size == 0 or impostor.size == 0:
        return NAN
    candidates = np.unique(np.concatenate([genuine, impostor]))
    best = min(candidates, key=lambda t: abs(np.subtract(*rates(genuine, impostor, t))))
    return float(np.mean(rates(genuine, impostor, best)))


def tar_at_fmr(genuine: np.ndarray, impostor: np.ndarray, fmr: float) -> float:
    if genuine.size == 0 or impostor.size == 0:
        return NAN
    return 1.0 - rates(genuine, impostor, threshold_at_fmr(impostor, fmr))[1]


def accuracy(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> float:
    total = genuine.size + impostor.size
    if total == 0:
        return NAN
    correct = np.sum(genuine >= threshold) + np.sum(impostor < threshold)
    return float(correct / total)
