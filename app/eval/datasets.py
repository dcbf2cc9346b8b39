"""Labelled folders in the formats faceseal evaluates: pair lists and identity folders."""

import csv
import itertools
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Pair:
    first: Path  # matched as the selfie (app/eval/verify.py)
    second: Path  # matched as the reference
    genuine: bool
    peers: dict[str, float]  # distances other systems reported for this pair (lower = more alike)


@dataclass(frozen=True)
class PairSet:
    name: str
    pairs: list[Pair]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def pair_list(path: Path, images: Path) -> PairSet:
    """deepface format: file_x, file_y, Decision|decision (Yes/No), optional peer distances."""
    pairs = []
    for row in _rows(path):
        decision = row.get("Decision") or row.get("decision") or ""
        peers = {k: float(v) for k, v in row.items() if k not in ("file_x", "file_y", "Decision", "decision") and v}
        pairs.append(Pair(images / row["file_x"], images / row["file_y"], decision.strip().lower() == "yes", peers))
    return PairSet(path.stem, pairs)


def identity_folder(folder: Path) -> PairSet:
    """All same-identity pairs and all different-identity pairs from `labels.csv` (path, identity)."""
    labelled = [(folder / row["path"], row["identity"]) for row in _rows(folder / "labels.csv")]
    pairs = [
        Pair(first, second, first_id == second_id, {})
        for (first, first_id), (second, second_id) in itertools.combinations(labelled, 2)
    ]
    return PairSet(folder.name, pairs)


def verify_sets(root: Path) -> list[PairSet]:
    sets = [pair_list(path, root / "images") for path in sorted(root.glob("pairs*.csv"))]
    labelled = sorted([*root.glob("labels.csv"), *root.glob("*/labels.csv")])
    sets += [identity_folder(labels.parent) for labels in labelled]
    return sets


@dataclass(frozen=True)
class LivenessSample:
    path: Path
    real: bool
    attack_type: str
    group: str


def liveness_samples(root: Path) -> list[LivenessSample]:
    """Every `labels.csv` (path, label real|spoof, attack_type) at or one level below `root`."""
    samples = []
    for labels in sorted([*root.glob("labels.csv"), *root.glob("*/labels.csv")]):
        for row in _rows(labels):
            samples.append(LivenessSample(labels.parent / row["path"], row["label"] == "real",
                                          row.get("attack_type", ""), labels.parent.name))
    return samples
