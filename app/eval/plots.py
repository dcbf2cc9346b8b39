"""PNG plots drawn with OpenCV (already a runtime dependency): DET-style ROC and score histograms."""

from pathlib import Path

import cv2
import numpy as np

from app.eval.fusion import ScoredSample
from app.eval.verify import PairScores
from app.inference.policy import LivenessPoint

COLOURS = [(200, 80, 20), (20, 140, 20), (30, 30, 200), (150, 40, 150), (0, 150, 200)]
GREY, BLACK = (200, 200, 200), (0, 0, 0)
PANEL = 420


def _text(canvas: np.ndarray, text: str, at: tuple[int, int], colour: tuple[int, int, int] = BLACK) -> None:
    cv2.putText(canvas, text, at, cv2.FONT_HERSHEY_SIMPLEX, 0.42, colour, 1, cv2.LINE_AA)


def _roc_panel(curves: list[tuple[str, np.ndarray, np.ndarray]]) -> np.ndarray:
    """TAR against log10(FMR) from 1e-4 to 1."""
    canvas = np.full((PANEL, PANEL, 3), 255, np.uint8)
    x0, y0, size = 50, 20, PANEL - 80
    cv2.rectangle(canvas, (x0, y0), (x0 + size, y0 + size), GREY)
    for decade in range(5):
        x = x0 + int(size * decade / 4)
        cv2.line(canvas, (x, y0), (x, y0 + size), GREY)
        _text(canvas, f"1e-{4 - decade}", (x - 14, y0 + size + 15))
    _text(canvas, "TAR vs FMR", (x0, y0 + size + 32))
    for index, (name, genuine, impostor) in enumerate(curves):
        thresholds = np.unique(np.concatenate([genuine, impostor]))[::-1]
        points = []
        for threshold in thresholds:
            fmr = max(np.mean(impostor >= threshold), 1e-4)
            tar = np.mean(genuine >= threshold)
            points.append((x0 + int(size * (np.log10(fmr) + 4) / 4), y0 + int(size * (1 - tar))))
        colour = COLOURS[index % len(COLOURS)]
        cv2.polylines(canvas, [np.array(points, np.int32)], False, colour, 2, cv2.LINE_AA)
        _text(canvas, name, (x0 + size - 110, y0 + size - 15 - 15 * index), colour)
    return canvas


def _histogram_panel(groups: list[tuple[str, np.ndarray]], low: float, high: float, marks: list[float]) -> np.ndarray:
    canvas = np.full((PANEL, PANEL, 3), 255, np.uint8)
    x0, y0, size, bins = 40, 20, PANEL - 70, 40
    edges = np.linspace(low, high, bins + 1)
    counts = [np.histogram(values, edges)[0] / max(values.size, 1) for _, values in groups]
    peak = max((c.max() for c in counts), default=1) or 1
    for index, ((name, _), count) in enumerate(zip(groups, counts, strict=True)):
        colour = COLOURS[index % len(COLOURS)]
        points = [(x0 + int(size * i / bins), y0 + size - int(size * c / peak)) for i, c in enumerate(count)]
        cv2.polylines(canvas, [np.array(points, np.int32)], False, colour, 2, cv2.LINE_AA)
        _text(canvas, name, (x0 + 5, y0 + 15 + 15 * index), colour)
    for mark in marks:
        x = x0 + int(size * (mark - low) / (high - low))
        cv2.line(canvas, (x, y0), (x, y0 + size), BLACK, 1)
    cv2.rectangle(canvas, (x0, y0), (x0 + size, y0 + size), GREY)
    _text(canvas, f"score {low:g} .. {high:g}", (x0, y0 + size + 18))
    return canvas


def plot_verify(scores: list[PairScores], path: Path) -> None:
    roc = _roc_panel([(s.name, s.genuine, s.impostor) for s in scores])
    genuine = np.concatenate([s.genuine for s in scores])
    impostor = np.concatenate([s.impostor for s in scores])
    hist = _histogram_panel([("genuine", genuine), ("impostor", impostor)], -0.5, 1.0, [])
    cv2.imwrite(str(path), np.hstack([roc, hist]))


def plot_liveness(scored: list[ScoredSample], point: LivenessPoint, path: Path) -> None:
    """Valid captures only: a capture sent back for a retake has no liveness score."""
    real = np.array([s.score for s in scored if s.sample.real and s.score is not None])
    spoof = np.array([s.score for s in scored if not s.sample.real and s.score is not None])
    marks = [point.spoof_below, point.live_from]
    hist = _histogram_panel([("bona fide", real), ("attack", spoof)], 0.0, 1.0, marks)
    roc = _roc_panel([("liveness", real, spoof)])
    cv2.imwrite(str(path), np.hstack([roc, hist]))
