"""Decision rule and policy parsing (no models involved)."""

import pytest

from app.inference.policy import Policy, decide

POLICY = b"""
version = "t1"
default_preset = "fmr_1e-3"
[match.presets."fmr_1e-3"]
fmr_target = 0.001
threshold = 0.58
[match.presets."fmr_1e-4"]
fmr_target = 0.0001
threshold = 0.64
[liveness]
live_from = 0.6
spoof_below = 0.4
fusion = "geometric_mean_of_group_means"
"""


def test_policy_parses_presets_and_records_its_digest() -> None:
    policy = Policy.from_bytes(POLICY)
    assert policy.preset(None) == ("fmr_1e-3", policy.match.presets["fmr_1e-3"])
    assert policy.preset("fmr_1e-4")[1].threshold == 0.64
    assert len(policy.digest) == 64
    with pytest.raises(KeyError):
        policy.preset("fmr_1e-9")


def test_policy_refuses_an_undefined_default_preset_or_crossed_liveness_bounds() -> None:
    with pytest.raises(ValueError):
        Policy.from_bytes(POLICY.replace(b'default_preset = "fmr_1e-3"', b'default_preset = "loose"'))
    with pytest.raises(ValueError):
        Policy.from_bytes(POLICY.replace(b"spoof_below = 0.4", b"spoof_below = 0.7"))


@pytest.mark.parametrize(("score", "verdict"), [(0.95, "live"), (0.6, "live"), (0.59, "uncertain"), (0.4, "uncertain"), (0.39, "spoof"), (0.0, "spoof")])
def test_liveness_verdict_has_an_uncertain_band(score: float, verdict: str) -> None:
    assert Policy.from_bytes(POLICY).liveness_verdict(score) == verdict


@pytest.mark.parametrize(
    ("selfie", "reference", "verdict", "matched", "expected"),
    [
        ([], [], "live", True, ("approve", [])),
        ([], [], "live", False, ("reject", ["face_mismatch"])),
        ([], [], "spoof", True, ("reject", ["spoof_suspected"])),
        (["low_quality:blurry"], [], "spoof", None, ("reject", ["spoof_suspected"])),
        ([], [], "uncertain", True, ("retake", ["liveness_uncertain"])),
        ([], [], "uncertain", False, ("reject", ["face_mismatch"])),
        (["no_face"], [], None, None, ("retake", ["no_face"])),
        (["multiple_faces"], [], None, None, ("retake", ["multiple_faces"])),
        ([], ["no_face"], "live", None, ("retake", ["no_face"])),
        (["low_quality:too_dark"], ["low_quality:too_dark"], "live", None, ("retake", ["low_quality:too_dark"])),
    ],
)
def test_decision_rule(selfie: list[str], reference: list[str], verdict: str | None, matched: bool | None, expected: tuple) -> None:
    assert decide(selfie, reference, verdict, matched) == expected
