"""`faceseal eval verify`: match quality of the sealed pipeline on labelled pairs.

Each pair is matched as the service matches a verify: its first image (`file_x`, or the earlier one in
an identity folder's `labels.csv`) as the selfie, its second (`file_y`, the later one) as the reference,
each face found by that side's detector route (app/inference/finding.py).
"""

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.eval.datasets import Pair, PairSet, verify_sets
from app.eval.metrics import accuracy, eer, rates, roc_auc, tar_at_fmr
from app.inference.analysis import Kind
from app.inference.errors import InputError
from app.inference.pipeline import Pipeline

_logger = logging.getLogger("faceseal.eval")


@dataclass
class PairScores:
    name: str
    genuine: np.ndarray
    impostor: np.ndarray
    failures: int
    peers: dict[str, tuple[np.ndarray, np.ndarray]]  # peer -> (genuine, impostor) similarity = -distance


Routed = tuple[Path, Kind]  # an image and the side it is matched as


def routed(pair: Pair) -> tuple[Routed, Routed]:
    """The pair's first image as a selfie, its second as a reference."""
    return (pair.first, "selfie"), (pair.second, "reference")


def embed_all(pipeline: Pipeline, images: set[Routed]) -> dict[Routed, np.ndarray | None]:
    """One embedding per image and route (largest face), None where no face is found or the image is unusable."""

    def embedding(path: Path, kind: Kind) -> np.ndarray | None:
        try:
            return pipeline.embed_face(path.read_bytes(), kind, path.name)
        except InputError:
            return None

    return {image: embedding(*image) for image in sorted(images)}


def score_set(pair_set: PairSet, embeddings: dict[Routed, np.ndarray | None]) -> PairScores:
    genuine: list[float] = []
    impostor: list[float] = []
    failures = 0
    peer_scores: dict[str, tuple[list[float], list[float]]] = {}
    for pair in pair_set.pairs:
        first, second = (embeddings[image] for image in routed(pair))
        for peer, distance in pair.peers.items():
            peer_scores.setdefault(peer, ([], []))[0 if pair.genuine else 1].append(-distance)
        if first is None or second is None:
            failures += 1
            continue
        (genuine if pair.genuine else impostor).append(float(np.dot(first, second)))
    peers = {k: (np.array(g), np.array(i)) for k, (g, i) in peer_scores.items() if k.endswith("_cosine")}
    return PairScores(pair_set.name, np.array(genuine), np.array(impostor), failures, peers)


def _null_for_nan(mapping: dict[str, object]) -> dict[str, object]:
    def clean(value: object) -> object:
        if isinstance(value, dict):
            return _null_for_nan(value)
        return None if isinstance(value, float) and math.isnan(value) else value

    return {key: clean(value) for key, value in mapping.items()}


def summarise(scores: PairScores, presets: dict[str, float]) -> dict[str, object]:
    """A set's metrics. One that cannot be measured (no genuine or no impostor score) is None, not NaN:
    JSON has no NaN (json.dumps would write the invalid token `NaN`), so the report says null."""
    g, i = scores.genuine, scores.impostor
    summary: dict[str, object] = {
        "pairs": int(g.size + i.size + scores.failures),
        "genuine": int(g.size),
        "impostor": int(i.size),
        "pairs_with_detection_failure": scores.failures,
        "roc_auc": roc_auc(g, i),
        "eer": eer(g, i),
        "tar_at_fmr_1e-2": tar_at_fmr(g, i, 1e-2),
        "tar_at_fmr_1e-3": tar_at_fmr(g, i, 1e-3),
        "presets": {
            name: dict(zip(("fmr", "fnmr"), rates(g, i, threshold), strict=True))
            | {"threshold": threshold, "accuracy": accuracy(g, i, threshold)}
            for name, threshold in presets.items()
        },
    }
    if scores.peers:
        summary["peer_roc_auc"] = {peer: roc_auc(pg, pi) for peer, (pg, pi) in scores.peers.items()}
    return _null_for_nan(summary)


def warn_if_unscorable(scores: PairScores) -> None:
    """Null metrics come with their reason, so they read as unmeasurable rather than as a bug."""
    missing = [kind for kind, found in (("genuine", scores.genuine), ("impostor", scores.impostor)) if found.size == 0]
    if missing:
        listed = scores.genuine.size + scores.impostor.size + scores.failures
        _logger.warning(
            "set %r has no scorable %s pair: %d pairs listed, %d with an image that is unusable or has no face;"
            " metrics that need them are null", scores.name, " or ".join(missing), listed, scores.failures,
        )


def evaluate_verify(pipeline: Pipeline, root: Path) -> tuple[dict[str, object], list[PairScores]]:
    sets = verify_sets(root)
    images = {image for s in sets for pair in s.pairs for image in routed(pair)}
    embeddings = embed_all(pipeline, images)
    presets = {name: preset.threshold for name, preset in pipeline.policy.match.presets.items()}
    all_scores = [score_set(s, embeddings) for s in sets]
    for scores in all_scores:
        warn_if_unscorable(scores)
    missing = [(str(path.relative_to(root)), kind) for (path, kind), e in embeddings.items() if e is None]
    report = {
        "images": len({path for path, _ in images}),
        "images_without_face": {kind: sorted(path for path, route in missing if route == kind)
                                for kind in ("selfie", "reference")},
        "policy": {"version": pipeline.policy.version, "digest": pipeline.policy.digest},
        "sets": {s.name: summarise(s, presets) for s in all_scores},
    }
    return report, all_scores
