"""The sealed policy against the dev data, scored on the machine the suite runs on.

A boundary one float-step from a sample made a verdict depend on the CPU (AVX-512 or not). Every
dev sample must stay at least the policy's margin (several times the drift `bench/drift.py` measures
across CPUs and runtimes) away from every boundary, and calibrating again here must give back the
sealed operating points: the policy is what the documented method makes of the dev data.
"""

import numpy as np
import pytest

from app.eval.calibrate import policy_text
from app.eval.datasets import liveness_samples
from app.eval.fusion import ScoredSample
from app.eval.liveness import score_samples
from app.eval.verify import PairScores, evaluate_verify
from app.inference.pipeline import Pipeline
from app.inference.policy import Policy
from devkit.paths import DATA

LIVENESS_SETS = ("liveness-dev", "liveness-dev2")


@pytest.fixture(scope="module")
def liveness_scores(pipeline: Pipeline) -> list[ScoredSample]:
    return [s for name in LIVENESS_SETS for s in score_samples(pipeline, liveness_samples(DATA / name))]


@pytest.fixture(scope="module")
def pair_scores(pipeline: Pipeline) -> list[PairScores]:
    return evaluate_verify(pipeline, DATA / "verify-dev")[1]


def test_no_liveness_sample_lies_within_the_margin_of_a_boundary(pipeline: Pipeline,
                                                                  liveness_scores: list[ScoredSample]) -> None:
    point = pipeline.policy.liveness
    scores = np.array([s.score for s in liveness_scores if s.score is not None])
    assert scores.size > 700  # the valid captures of both sets were scored, not a handful
    for boundary in (point.live_from, point.spoof_below):
        closest = float(np.min(np.abs(scores - boundary)))
        assert closest >= point.margin, f"a dev sample lies {closest:.2e} from boundary {boundary}"


def test_no_pair_lies_within_the_margin_of_a_preset(pipeline: Pipeline, pair_scores: list[PairScores]) -> None:
    cosines = np.concatenate([np.concatenate([s.genuine, s.impostor]) for s in pair_scores])
    assert cosines.size > 6000
    for name, preset in pipeline.policy.match.presets.items():
        closest = float(np.min(np.abs(cosines - preset.threshold)))
        assert closest >= pipeline.policy.match.margin, f"a dev pair lies {closest:.2e} from preset {name}"


def test_calibrating_again_gives_back_the_sealed_operating_points(
    pipeline: Pipeline, liveness_scores: list[ScoredSample], pair_scores: list[PairScores]
) -> None:
    sealed = pipeline.policy
    targets = sealed.calibration
    again = Policy.from_bytes(policy_text(
        sealed, sealed.version, pair_scores, liveness_scores, ("verify-dev", list(LIVENESS_SETS)),
        float(targets["apcer_target"]), float(targets["bpcer_target"]),  # type: ignore[arg-type]
    ).encode())
    assert again.calibration == sealed.calibration and again.capture == sealed.capture
    assert again.liveness.weights == pytest.approx(sealed.liveness.weights, abs=1e-6)
    point, margin = sealed.liveness, sealed.liveness.margin
    assert again.liveness.live_from == pytest.approx(point.live_from, abs=margin)
    assert again.liveness.spoof_below == pytest.approx(point.spoof_below, abs=margin)
    for name, preset in sealed.match.presets.items():
        assert again.match.presets[name].threshold == pytest.approx(preset.threshold, abs=sealed.match.margin)
