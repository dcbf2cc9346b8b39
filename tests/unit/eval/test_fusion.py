"""Liveness fusion fitting, margins and leave-one-source-out, on synthetic scores with known answers
(unit tests: the log-odds here are made up, no model is involved)."""

from pathlib import Path

import numpy as np
import pytest

from app.eval.datasets import LivenessSample
from app.eval.fusion import (
    Fusion,
    ScoredSample,
    clear_of,
    fit_liveness,
    fit_logistic,
    leave_one_source_out,
    operating_points,
)

MODELS = ["a", "b"]


def synthetic(source: str, real: bool, a: float, b: float) -> ScoredSample:
    sample = LivenessSample(Path(f"{source}/{a}-{b}.jpg"), real, "bona_fide" if real else "print", source)
    return ScoredSample(sample, "live", {"a": a, "b": b}, None)


def sources(rng: np.random.Generator, count: int = 3, per: int = 60) -> list[ScoredSample]:
    """Model `a` separates real from attack everywhere; model `b` is noise."""
    samples = []
    for index in range(count):
        for real in (True, False):
            for _ in range(per):
                samples.append(synthetic(f"s{index}", real, rng.normal(1.5 if real else -1.5, 1), rng.normal(0, 3)))
    return samples


@pytest.mark.parametrize("upwards", [True, False])
def test_a_threshold_is_moved_into_a_gap_clear_of_every_score(upwards: bool) -> None:
    scores = np.array([0.10, 0.50, 0.505, 0.51, 0.70])
    threshold = clear_of(scores, 0.5, 0.02, upwards)
    assert np.min(np.abs(scores - threshold)) >= 0.02 - 1e-12
    assert threshold == pytest.approx(0.53 if upwards else 0.48)


def test_a_threshold_already_clear_stays_where_it_is() -> None:
    assert clear_of(np.array([0.1, 0.9]), 0.5, 0.05, upwards=True) == 0.5


def test_logistic_regression_recovers_a_known_linear_rule() -> None:
    rng = np.random.default_rng(3)
    features = rng.normal(0, 2, (4000, 2))
    labels = (rng.random(4000) < 1 / (1 + np.exp(-(2.0 * features[:, 0] - 1.0 * features[:, 1] + 0.5)))).astype(float)
    coefficients = fit_logistic(features, labels, np.ones(4000), l2=0.0)
    assert coefficients == pytest.approx([2.0, -1.0, 0.5], abs=0.25)


def test_operating_points_keep_the_margin_and_the_apcer_target() -> None:
    samples = sources(np.random.default_rng(1))
    fit = operating_points(Fusion("equal", {"a": 0.5, "b": 0.5}, 0.0), samples, MODELS, 0.01, 0.05, margin=0.001)
    scores = np.array([fit.fusion.scores(np.array([[s.log_odds["a"], s.log_odds["b"]]]), MODELS)[0] for s in samples])
    attacks = np.array([not s.sample.real for s in samples])
    assert np.mean(scores[attacks] >= fit.live_from) <= 0.01
    assert np.min(np.abs(scores - fit.live_from)) >= 0.001 and np.min(np.abs(scores - fit.spoof_below)) >= 0.001
    assert fit.spoof_below <= fit.live_from


def test_the_fusion_that_generalises_is_chosen_and_weighs_the_informative_model() -> None:
    fit = fit_liveness(sources(np.random.default_rng(2)), MODELS, 0.01, 0.05, margin=0.0)
    assert fit.fusion.name == "logistic"  # equal weights let the noisy model in; held-out errors show it
    assert fit.fusion.weights["a"] > 5 * abs(fit.fusion.weights["b"])


def test_leave_one_source_out_never_fits_on_the_held_out_source() -> None:
    samples = sources(np.random.default_rng(4))
    # Poison one source: its attacks score like bona fide faces. A fit that saw it would move live_from up.
    poisoned = [synthetic("s2", False, 1.5, 0.0) if s.sample.group == "s2" and not s.sample.real else s
                for s in samples]
    fits = leave_one_source_out(poisoned, MODELS, 0.01, 0.05)
    clean = leave_one_source_out(samples, MODELS, 0.01, 0.05)
    assert fits["s2"] == clean["s2"]
    assert fits["s0"] != clean["s0"]


def test_a_source_without_both_labels_elsewhere_gets_no_fit() -> None:
    only = [synthetic("s0", True, 3, 0), synthetic("s1", False, -3, 0)]
    assert leave_one_source_out(only, MODELS, 0.01, 0.05) == {"s0": None, "s1": None}
