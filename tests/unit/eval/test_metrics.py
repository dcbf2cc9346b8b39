"""Evaluation metrics against hand-computed values."""

import numpy as np
import pytest

from app.eval.metrics import accuracy, eer, rates, roc_auc, tar_at_fmr, threshold_at_fmr


def test_roc_auc_perfect_random_and_ties() -> None:
    assert roc_auc(np.array([0.9, 0.8]), np.array([0.1, 0.2])) == 1.0
    assert roc_auc(np.array([0.1, 0.2]), np.array([0.9, 0.8])) == 0.0
    assert roc_auc(np.array([0.5]), np.array([0.5])) == 0.5
    assert roc_auc(np.array([0.3, 0.7]), np.array([0.5])) == 0.5


def test_threshold_at_fmr_admits_at_most_the_target() -> None:
    impostor = np.linspace(0, 1, 1000)
    threshold = threshold_at_fmr(impostor, 0.01)
    assert rates(np.array([]), impostor, threshold)[0] <= 0.01
    assert threshold_at_fmr(np.array([0.2, 0.4]), 1e-4) > 0.4  # unmeasurable target: above the maximum


def test_rates_eer_tar_accuracy() -> None:
    genuine, impostor = np.array([0.9, 0.8, 0.3]), np.array([0.1, 0.2, 0.85])
    assert rates(genuine, impostor, 0.5) == (1 / 3, 1 / 3)
    assert abs(eer(genuine, impostor) - 1 / 3) < 1e-9
    assert abs(tar_at_fmr(genuine, impostor, 0.0) - 1 / 3) < 1e-9
    assert accuracy(genuine, impostor, 0.5) == 4 / 6


def test_metrics_without_the_scores_they_need_are_nan() -> None:
    """A set with no scorable pair is unmeasurable, not a crash and not a zero."""
    empty, some = np.array([]), np.array([0.2, 0.7])
    for genuine, impostor in ((empty, empty), (some, empty), (empty, some)):
        assert np.isnan(eer(genuine, impostor)) and np.isnan(tar_at_fmr(genuine, impostor, 1e-3))
        assert np.isnan(roc_auc(genuine, impostor))
    assert np.isnan(accuracy(empty, empty, 0.5))
    assert accuracy(some, empty, 0.5) == 0.5  # genuine alone still measures acceptance
    assert all(np.isnan(rates(empty, empty, 0.5)))


def test_threshold_at_fmr_refuses_to_choose_from_no_impostors() -> None:
    """Calibration writes this threshold into the policy: NaN there would silently match nothing."""
    with pytest.raises(ValueError, match="at least one impostor"):
        threshold_at_fmr(np.array([]), 1e-3)
