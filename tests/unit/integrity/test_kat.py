"""Known-answer fingerprints: a model whose outputs drift is caught."""

import numpy as np

from app.integrity.kat import drift, fingerprint, kat_input


def test_known_answer_fingerprint_detects_drift() -> None:
    output = kat_input([2, 512], -1, 1)
    recorded = fingerprint(output)
    assert drift(recorded, output) is None
    assert drift(recorded, output + 1e-7) is None  # within tolerance: CPU code-path noise
    assert drift(recorded, output * 1.01) is not None
    assert drift(recorded, output[:1]) is not None
    assert np.array_equal(kat_input([3, 4], 0, 1), kat_input([3, 4], 0, 1))
