"""Decision rule and policy parsing (no models involved)."""

import pytest

from app.inference.policy import Evidence, Policy, decide

POLICY = b"""
version = "t1"
default_preset = "fmr_1e-3"
[capture]
min_eye_distance_px = 12.0
liveness_min_eye_distance_px = 20.0
min_context = 0.6
min_sharpness = 8.0
min_brightness = 35.0
max_brightness = 225.0
max_yaw = 0.6
max_roll_deg = 45.0
[match]
drift = 0.0005
margin = 0.001
[match.presets."fmr_1e-3"]
fmr_target = 0.001
threshold = 0.58
[match.presets."fmr_1e-4"]
fmr_target = 0.0001
threshold = 0.64
[liveness]
fusion = "weighted_logit"
weights = { "a" = 0.5, "b" = 0.5 }
bias = 0.0
flip_average = true
live_from = 0.6
spoof_below = 0.4
drift = 0.002
margin = 0.01
"""


def test_policy_parses_presets_and_records_its_digest() -> None:
    policy = Policy.from_bytes(POLICY)
    assert policy.preset(None) == ("fmr_1e-3", policy.match.presets["fmr_1e-3"])
    assert policy.preset("fmr_1e-4")[1].threshold == 0.64
    assert len(policy.digest) == 64
    with pytest.raises(KeyError):
        policy.preset("fmr_1e-9")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'default_preset = "fmr_1e-3"', b'default_preset = "loose"'),  # undefined default
        (b"spoof_below = 0.4", b"spoof_below = 0.7"),  # crossed liveness bounds
        (b"live_from = 0.6", b"live_from = 1.5"),  # a probability above 1
        (b"threshold = 0.64", b"threshold = 0.5"),  # a stricter FMR target with a lower threshold
        (b"min_brightness = 35.0", b"min_brightness = 240.0"),  # an empty brightness range
        (b"liveness_min_eye_distance_px = 20.0", b"liveness_min_eye_distance_px = 5.0"),  # looser than matching
        (b'"b" = 0.5', b'"b" = nan'),  # a weight that makes every score NaN
        (b"margin = 0.01", b"margin = 0.001"),  # a liveness margin below the measured drift
        (b"margin = 0.001", b"margin = 0.0001"),  # a match margin below the measured drift
        (b'version = "t1"', b'version = "t1"\nlive_from = 0.0'),  # an unknown key is refused, not ignored
    ],
)
def test_policy_values_are_validated_when_loaded(old: bytes, new: bytes) -> None:
    assert old in POLICY
    with pytest.raises(ValueError):
        Policy.from_bytes(POLICY.replace(old, new, 1))


def test_frames_are_bound_at_least_as_strictly_as_the_default_preset() -> None:
    policy = Policy.from_bytes(POLICY)
    presets = policy.match.presets
    assert policy.binding_threshold(presets["fmr_1e-4"]) == 0.64
    assert policy.binding_threshold(presets["fmr_1e-3"]) == 0.58


@pytest.mark.parametrize(("score", "verdict"), [(0.95, "live"), (0.6, "live"), (0.59, "uncertain"), (0.4, "uncertain"),
                                               (0.39, "spoof"), (0.0, "spoof")])
def test_liveness_verdict_has_an_uncertain_band(score: float, verdict: str) -> None:
    assert Policy.from_bytes(POLICY).liveness_verdict(score) == verdict


def evidence(frames: list[tuple[list[str], str | None]], reference: list[str] | None = None,
             consistent: bool | None = None, matched: bool | None = None) -> Evidence:
    return Evidence([p for p, _ in frames], reference or [], [v for _, v in frames], consistent, matched)  # type: ignore[misc]


OK: tuple[list[str], str | None] = ([], "live")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (evidence([OK], matched=True), ("approve", [])),
        (evidence([OK], matched=False), ("reject", ["face_mismatch"])),
        (evidence([([], "spoof")], matched=True), ("reject", ["spoof_suspected"])),
        (evidence([([], "uncertain")], matched=True), ("retake", ["liveness_uncertain"])),
        (evidence([([], "uncertain")], matched=False), ("reject", ["face_mismatch"])),
        (evidence([(["no_face"], None)]), ("retake", ["no_face"])),
        (evidence([(["multiple_faces"], None)]), ("retake", ["multiple_faces"])),
        (evidence([OK], ["no_face"]), ("retake", ["no_face"])),
        (evidence([(["low_quality:too_dark"], None)], ["low_quality:too_dark"]), ("retake", ["low_quality:too_dark"])),
        # A face too small (or too close) to judge is a retake, never a spoof verdict.
        (evidence([(["low_quality:face_too_small"], None)], matched=True), ("retake", ["low_quality:face_too_small"])),
        # A spoof frame cannot be outvoted by live frames, nor hidden behind another frame's capture problem.
        (evidence([([], "spoof"), OK, OK], consistent=True, matched=True), ("reject", ["spoof_suspected"])),
        (evidence([([], "spoof"), (["low_quality:blurry"], None)], consistent=True), ("reject", ["spoof_suspected"])),
        (evidence([OK, ([], "uncertain")], consistent=True, matched=True), ("retake", ["liveness_uncertain"])),
        # Frames of two people: reject, even when every frame is live and matches.
        (evidence([OK, OK], consistent=False, matched=True), ("reject", ["frames_mismatch"])),
        (evidence([([], "spoof"), OK], consistent=False, matched=True),
         ("reject", ["spoof_suspected", "frames_mismatch"])),
        (evidence([OK, OK], consistent=True, matched=True), ("approve", [])),
    ],
)
def test_decision_rule(given: Evidence, expected: tuple[str, list[str]]) -> None:
    assert decide(given) == expected
