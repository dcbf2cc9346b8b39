"""Settings that would unseal the policy: refused outside development mode, and development mode itself
refused by a build whose trust anchors forbid it (as the image's do). Honoured, they mark every answer
`sealed: false` (tests/api/test_api.py)."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app.config import CALIBRATED_SETTINGS, Settings
from app.integrity.digests import sha256_bytes
from app.integrity.trust import DEFAULT_TRUST_FILE
from devkit.paths import MODELS, REPO
from devkit.sealed_copy import SealedCopy
from devkit.server import free_port

DEVELOPMENT_ONLY = "honoured only in development mode (FACESEAL_DEVELOPMENT=true)"


def faceseal(env: dict[str, str], *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """Run the CLI with only these FACESEAL_* settings; a service that wrongly starts times out the test."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FACESEAL_")}
    environment.update({"FACESEAL_AUTH_DISABLED": "true", "FACESEAL_REVERIFY_INTERVAL_S": "0", **env})
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=60)


def serve(env: dict[str, str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return faceseal(env, "serve", "--host", "127.0.0.1", "--port", str(free_port()), cwd=cwd)


def refusals(log: str) -> dict[str, str]:
    """Setting -> reason, from the JSON lines of a refused start."""
    lines = [json.loads(text) for text in log.splitlines() if text.startswith("{")]
    return {line["setting"]: line["msg"].removeprefix(f"cannot start: {line['setting']}: ") for line in lines
            if "setting" in line}


def lower_a_threshold(copy: SealedCopy, resign: bool) -> None:
    """The attack: an easier match threshold, with the policy digest in the lock updated to match."""
    policy = copy.models_dir / copy.lock().policy.file
    lowered, count = re.subn(r"threshold = [0-9.]+", "threshold = 0.1", policy.read_text(), count=1)
    assert count == 1
    policy.write_text(lowered)
    lock = copy.lock()
    policy_ref = lock.policy.model_copy(update={"sha256": sha256_bytes(lowered.encode())})
    copy.write_lock(lock.model_copy(update={"policy": policy_ref}), resign=resign)


def test_settings_name_the_refused_setting_and_accept_development_mode(tmp_path: Path) -> None:
    for changes, field in (({"require_signature": False}, "require_signature"),
                           ({"trust_file": tmp_path / "trust.json"}, "trust_file")):
        with pytest.raises(ValidationError) as caught:
            Settings(**changes)
        assert [(e["loc"], e["msg"]) for e in caught.value.errors()] == [((field,), DEVELOPMENT_ONLY)]
    assert Settings(trust_file=DEFAULT_TRUST_FILE.parent / ".." / "integrity" / "trust.json").development is False
    development = Settings(development=True, require_signature=False, trust_file=tmp_path / "trust.json")
    assert (development.require_signature, development.trust_file) == (False, tmp_path / "trust.json")


# A value other than the calibrated one for each setting that changes what the sealed models see.
OTHER_VALUES: dict[str, Any] = {
    "decode_work_side": 640, "detector_long_side": 320, "detector_large_side": 640, "detector_score": 0.9,
    "reference_detector_long_side": 160, "reference_detector_score": 0.9, "dominant_face_ratio": 0.9,
}


def test_settings_that_change_what_the_models_see_keep_their_calibrated_values_outside_development_mode() -> None:
    assert set(OTHER_VALUES) == set(CALIBRATED_SETTINGS)
    for field, value in OTHER_VALUES.items():
        assert value != Settings.model_fields[field].default
        with pytest.raises(ValidationError) as caught:
            Settings(**{field: value})
        assert [(e["loc"], e["msg"]) for e in caught.value.errors()] == [((field,), DEVELOPMENT_ONLY)]
        assert getattr(Settings(development=True, **{field: value}), field) == value
        default = Settings.model_fields[field].default
        assert getattr(Settings(**{field: default}), field) == default  # the calibrated value may be spelled out


def test_a_service_given_a_smaller_detector_refuses_to_start() -> None:
    served = serve({"FACESEAL_DETECTOR_LONG_SIDE": "320"})
    assert served.returncode == 2, served.stdout[-2000:]
    assert refusals(served.stdout) == {"FACESEAL_DETECTOR_LONG_SIDE": DEVELOPMENT_ONLY}


def test_unsigned_lock_with_an_edited_threshold_is_refused_outside_development_mode(sealed_copy: SealedCopy) -> None:
    lower_a_threshold(sealed_copy, resign=False)
    env = {"FACESEAL_MODELS_DIR": str(sealed_copy.models_dir), "FACESEAL_REQUIRE_SIGNATURE": "false"}
    served = serve(env)
    assert served.returncode == 2, served.stdout[-2000:]
    assert refusals(served.stdout) == {"FACESEAL_REQUIRE_SIGNATURE": DEVELOPMENT_ONLY}
    verified = faceseal(env, "models", "verify")
    assert verified.returncode == 2 and verified.stderr == f"FACESEAL_REQUIRE_SIGNATURE: {DEVELOPMENT_ONLY}\n"


def test_foreign_trust_file_with_a_lock_signed_by_its_own_key_is_refused_outside_development_mode(
    sealed_copy: SealedCopy,
) -> None:
    lower_a_threshold(sealed_copy, resign=True)
    env = {"FACESEAL_MODELS_DIR": str(sealed_copy.models_dir), "FACESEAL_TRUST_FILE": str(sealed_copy.trust_file)}
    served = serve(env)
    assert served.returncode == 2, served.stdout[-2000:]
    assert refusals(served.stdout) == {"FACESEAL_TRUST_FILE": DEVELOPMENT_ONLY}
    verified = faceseal(env, "models", "verify")
    assert verified.returncode == 2 and verified.stderr == f"FACESEAL_TRUST_FILE: {DEVELOPMENT_ONLY}\n"


def test_models_verify_in_development_mode_says_not_sealed(sealed_copy: SealedCopy) -> None:
    env = {"FACESEAL_MODELS_DIR": str(sealed_copy.models_dir), "FACESEAL_TRUST_FILE": str(sealed_copy.trust_file),
           "FACESEAL_DEVELOPMENT": "true"}
    verified = faceseal(env, "models", "verify")
    assert verified.returncode == 0, verified.stderr[-2000:]
    assert verified.stdout.splitlines()[0].endswith("signature verified  NOT SEALED (development mode)")


def test_a_build_whose_trust_anchors_forbid_development_refuses_it(tmp_path: Path, sealed_copy: SealedCopy) -> None:
    """Like the image: app/ copied with trust.json rewritten. A foreign trust file allowing development
    changes nothing, since only the baked anchors decide."""
    app = tmp_path / "build" / "app"
    shutil.copytree(REPO / "app", app, ignore=shutil.ignore_patterns("__pycache__"))
    trust = app / "integrity" / "trust.json"
    trust.write_text(json.dumps({**json.loads(trust.read_text()), "development_allowed": False}))
    env = {"FACESEAL_MODELS_DIR": str(MODELS), "FACESEAL_DEVELOPMENT": "true", "FACESEAL_REQUIRE_SIGNATURE": "false",
           "FACESEAL_TRUST_FILE": str(sealed_copy.trust_file)}
    served = serve(env, cwd=app.parent)
    assert served.returncode == 2, served.stdout[-2000:]
    assert refusals(served.stdout) == {
        "FACESEAL_DEVELOPMENT": "this build's trust anchors do not allow development mode",
        "FACESEAL_TRUST_FILE": DEVELOPMENT_ONLY,
        "FACESEAL_REQUIRE_SIGNATURE": DEVELOPMENT_ONLY,
    }
