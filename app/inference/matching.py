"""Similarity decisions over embeddings: frames bound to one person, and frames matched to a reference."""

import itertools

import numpy as np

from app.inference.embedder import cosine
from app.inference.policy import Preset
from app.inference.results import BindingResult, MatchResult


def bind_frames(embeddings: list[np.ndarray | None], threshold: float) -> BindingResult:
    """Pairwise similarity of the frames that have a face, at least as strict as the match itself."""
    present = [e for e in embeddings if e is not None]
    similarities = [cosine(a, b) for a, b in itertools.combinations(present, 2)]
    if not similarities:
        return BindingResult(None, None, threshold)
    lowest = min(similarities)
    return BindingResult(lowest >= threshold, lowest, threshold)


def match(embeddings: list[np.ndarray | None], reference: np.ndarray | None,
          operating_point: tuple[str, Preset]) -> MatchResult | None:
    """Every frame that has an embedding against the reference; the lowest score decides, so a matching
    frame cannot carry one that does not match. None when no pair can be compared."""
    scores = [cosine(e, reference) if e is not None and reference is not None else None for e in embeddings]
    present = [score for score in scores if score is not None]
    if not present:
        return None
    name, preset = operating_point
    lowest = min(present)
    return MatchResult(lowest, preset.threshold, name, preset.fmr_target, lowest >= preset.threshold, scores)
