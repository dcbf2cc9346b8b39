"""Biometric error metrics from genuine (positive) and impostor (negative) scores; higher = more alike."""

import numpy as np


def roc_auc(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """Probability a genuine score beats an impostor score (ties count half)."""
    if genuine.size == 0 or impostor.size == 0:
        return float("nan")
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
    just above the highest impostor seen, which is the most a sample of that size supports.
    """
    ordered = np.sort(impostor)[::-1]
    allowed = int(np.floor(fmr * ordered.size))
    return float(np.nextafter(ordered[allowed], np.inf))


def rates(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> tuple[float, float]:
    """(FMR, FNMR) at `threshold` (accept when score >= threshold)."""
    fmr = float(np.mean(impostor >= threshold)) if impostor.size else float("nan")
    fnmr = float(np.mean(genuine < threshold)) if genuine.size else float("nan")
    return fmr, fnmr


def eer(genuine: np.ndarray, impostor: np.ndarray) -> float:
    candidates = np.unique(np.concatenate([genuine, impostor]))
    best = min(candidates, key=lambda t: abs(np.subtract(*rates(genuine, impostor, t))))
    return float(np.mean(rates(genuine, impostor, best)))


def tar_at_fmr(genuine: np.ndarray, impostor: np.ndarray, fmr: float) -> float:
    return 1.0 - rates(genuine, impostor, threshold_at_fmr(impostor, fmr))[1]


def accuracy(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> float:
    correct = np.sum(genuine >= threshold) + np.sum(impostor < threshold)
    return float(correct / (genuine.size + impostor.size))
