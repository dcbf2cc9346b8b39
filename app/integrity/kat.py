"""Known-answer tests: a fixed input per model and a compact fingerprint of its outputs.

The build records the fingerprint in the lock; the gate recomputes it at start. A changed
runtime, kernel or weight file that silently alters results shows up as drift here.
"""

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

SAMPLES_PER_OUTPUT = 32
# Tolerances: different CPU code paths (AVX2 vs AVX-512) move fp32 results by ~1e-6
# relative; a weight or kernel change moves them by orders of magnitude more.
KAT_RTOL = 1e-3
KAT_ATOL = 1e-4


class OutputFingerprint(BaseModel):
    shape: list[int]
    indices: list[int]
    values: list[float]
    mean: float
    l2: float


class KnownAnswer(BaseModel):
    input_shape: list[int]
    input_low: float
    input_high: float
    outputs: dict[str, OutputFingerprint]


def kat_input(shape: Sequence[int], low: float, high: float) -> np.ndarray:
    """A deterministic, non-trivial pattern (golden-ratio sequence) scaled to [low, high]."""
    count = int(np.prod(shape))
    unit = np.mod(np.arange(count, dtype=np.float64) * 0.6180339887498949, 1.0)
    return (low + unit * (high - low)).astype(np.float32).reshape(tuple(shape))


def fingerprint(output: np.ndarray) -> OutputFingerprint:
    flat = np.asarray(output, dtype=np.float64).ravel()
    indices = np.unique(np.linspace(0, flat.size - 1, num=min(SAMPLES_PER_OUTPUT, flat.size)).astype(np.int64))
    return OutputFingerprint(
        shape=list(output.shape),
        indices=indices.tolist(),
        values=[float(flat[i]) for i in indices],
        mean=float(flat.mean()),
        l2=float(np.sqrt(np.sum(flat * flat))),
    )


def drift(expected: OutputFingerprint, actual: np.ndarray) -> str | None:
    """None when `actual` matches the recorded fingerprint, else a short description."""
    if list(actual.shape) != expected.shape:
        return f"shape {list(actual.shape)} != {expected.shape}"
    flat = np.asarray(actual, dtype=np.float64).ravel()
    got = np.array([flat[i] for i in expected.indices] + [flat.mean(), np.sqrt(np.sum(flat * flat))])
    want = np.array(expected.values + [expected.mean, expected.l2])
    deviation = np.abs(got - want)
    allowed = KAT_ATOL + KAT_RTOL * np.abs(want)
    if np.all(deviation <= allowed):
        return None
    worst = int(np.argmax(deviation - allowed))
    return f"value {worst}: expected {want[worst]:.6g}, got {got[worst]:.6g}"
