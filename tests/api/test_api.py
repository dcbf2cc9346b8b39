"""The HTTP API in-process (httpx ASGI transport) on the real sealed models and dev images."""

import asyncio
import base64
import json
import logging
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel

from app import __version__
from app.api.app import create_app
from app.api.auth import create_key
from app.api.errors import Problem
from app.api.middleware.security_headers import SECURITY_HEADERS
from app.api.schemas import COMPARE_EXAMPLE, DECISION_EXAMPLE, DETAILED_EXAMPLE, CompareResponse, DecisionResponse
from app.api.service import Service
from app.cli import open_models
from app.config import Settings
from app.inference.embedder import FaceEmbedder
from app.integrity.gate import SealedSet
from app.integrity.signing import key_id
from app.integrity.trust import DEFAULT_TRUST_FILE, load_trust
from app.telemetry.logs import JsonFormatter
from devkit.asgi import asgi_request
from devkit.paths import MODELS, data_file
from devkit.sealed_copy import SealedCopy

SELFIE, REFERENCE, OTHER = "img1.jpg", "img2.jpg", "img17.jpg"
SECOND_SELFIE = "img4.jpg"  # the same person as SELFIE and REFERENCE
# Words of the numbers an attacker could hill-climb against; none may appear in a default answer.
ORACLE_WORDS = ("score", "threshold", "box", "landmarks", "model_log_odds", "live_from", "spoof_below",
                "similarity", "eye_distance", "sharpness")


def image(name: str) -> bytes:
    return data_file(f"verify-dev/images/{name}")


class Api:
    def __init__(self, service: Service, key: str, details_key: str = "") -> None:
        self.service, self.key, self.details_key = service, key, details_key
        self.app = create_app(service)

    def call(self, method: str, path: str, key: str | None = "default", **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if key:
            headers["Authorization"] = f"Bearer {self.key if key == 'default' else key}"
        return asgi_request(self.app, method, path, headers=headers, **kwargs)


@pytest.fixture(scope="module")
def api(sealed: SealedSet, tmp_path_factory: pytest.TempPathFactory) -> Api:
    folder = tmp_path_factory.mktemp("api")
    keys = folder / "keys.json"
    key, details_key = create_key(keys, "test-bank"), create_key(keys, "back-office", details=True)
    settings = Settings(models_dir=MODELS, api_keys_file=keys, audit_log_file=folder / "audit.jsonl",
                        reverify_interval_s=0, max_image_bytes=3_000_000, max_body_bytes=8_000_000)
    return Api(Service.start(settings, sealed), key, details_key)


def multipart(**fields: bytes | list[bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    parts = []
    for name, value in fields.items():
        for index, data in enumerate(value if isinstance(value, list) else [value]):
            parts.append((name, (f"{name}{index}.jpg", data, "image/jpeg")))
    return parts


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def audit_file(api: Api) -> Path:
    assert api.service.settings.audit_log_file is not None
    return Path(api.service.settings.audit_log_file)


def last_audit(api: Api) -> dict[str, Any]:
    return json.loads(audit_file(api).read_text().splitlines()[-1])


def measurements(node: object, path: str = "") -> Iterator[str]:
    """The path of every non-integer number in a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from measurements(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from measurements(value, f"{path}[{index}]")
    elif isinstance(node, float):
        yield path


def test_verify_multipart_approves_a_genuine_pair_with_full_provenance(api: Api) -> None:
    response = api.call("POST", "/v1/verify", files=multipart(selfie=image(SELFIE), reference=image(REFERENCE)))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["decision"] == "approve" and body["reasons"] == [] and body["sealed"] is True
    assert body["match"] == {"matched": True, "preset": "fmr_1e-3", "fmr_target": 1e-3}
    assert body["liveness"] == {"verdict": "live", "frame_verdicts": ["live"]}
    assert body["frames"] == {"consistent": None}  # one frame: nothing to bind
    assert body["faces"] == {"selfie": [{"detected": 1, "problems": []}], "reference": {"detected": 1, "problems": []}}
    assert {m["name"] for m in body["models"]} == {m.name for m in api.service.sealed.lock.models}
    assert body["policy"]["digest"] == api.service.sealed.lock.policy.sha256
    assert set(body["timings_ms"]) >= {"decode", "detect", "align", "embed", "liveness"}
    assert response.headers["x-request-id"] == body["request_id"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_base64_json_and_multipart_give_identical_results(api: Api) -> None:
    upload = api.call("POST", "/v1/verify", files=multipart(selfie=image(SELFIE), reference=image(OTHER)))
    as_json = api.call("POST", "/v1/verify", json={"selfie": [b64(image(SELFIE))], "reference": b64(image(OTHER))})
    assert upload.status_code == as_json.status_code == 200
    first, second = upload.json(), as_json.json()
    for key in ("decision", "reasons", "match", "liveness", "frames", "faces"):
        assert first[key] == second[key]
    assert first["decision"] == "reject" and first["reasons"] == ["face_mismatch"]


def test_preset_selects_the_operating_point(api: Api) -> None:
    request = {"image1": b64(image(SELFIE)), "image2": b64(image(REFERENCE)), "preset": "fmr_1e-4"}
    body = api.call("POST", "/v1/compare", key=api.details_key, json=request).json()
    preset = api.service.pipeline.policy.match.presets["fmr_1e-4"]
    assert body["match"]["preset"] == "fmr_1e-4" and body["match"]["fmr_target"] == preset.fmr_target
    assert body["details"]["match"]["threshold"] == preset.threshold
    bad = api.call("POST", "/v1/compare", json={**request, "preset": "loose"})
    assert bad.status_code == 400 and bad.json()["code"] == "unknown_preset"


def test_liveness_endpoint_takes_several_frames(api: Api) -> None:
    body = api.call("POST", "/v1/liveness", files=multipart(selfie=[image(SELFIE), image(SELFIE)])).json()
    assert body["liveness"] == {"verdict": "live", "frame_verdicts": ["live", "live"]}
    assert body["frames"] == {"consistent": True} and body["match"] is None


ROUTES = {  # route: its fields, by image name
    "/v1/verify": {"selfie": [SELFIE, SECOND_SELFIE], "reference": [REFERENCE]},
    "/v1/liveness": {"selfie": [SELFIE, SECOND_SELFIE]},
    "/v1/compare": {"image1": [SELFIE], "image2": [REFERENCE]},
}


def route_files(path: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    return multipart(**{field: [image(name) for name in names] for field, names in ROUTES[path].items()})


@pytest.mark.parametrize("path", list(ROUTES))
def test_a_default_answer_carries_no_oracle(api: Api, path: str) -> None:
    """No score, threshold or geometry to hill-climb against: the only fractions are the preset's FMR target
    and the timings."""
    response = api.call("POST", path, files=route_files(path))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["details"] is None
    assert [word for word in ORACLE_WORDS if word in response.text] == []
    assert [p for p in measurements(body) if not p.startswith(".timings_ms.") and p != ".match.fmr_target"] == []


@pytest.mark.parametrize("path", list(ROUTES))
def test_a_key_granted_details_gets_the_numbers(api: Api, path: str) -> None:
    response = api.call("POST", path, key=api.details_key, files=route_files(path))
    assert response.status_code == 200, response.text
    policy, details = api.service.pipeline.policy, response.json()["details"]
    frames = len(ROUTES[path].get("selfie", ROUTES[path].get("image1", [])))
    groups = [group if isinstance(group, list) else [group] for group in details["faces"].values()]
    faces = [face for group in groups for face in group if face]
    assert len(faces) == sum(len(names) for names in ROUTES[path].values())
    assert all(len(face["box"]) == 4 and len(face["landmarks"]) == 5 and face["score"] > 0 for face in faces)
    assert all(face["quality"]["failures"] == [] for face in faces)
    if path == "/v1/liveness":
        assert details["match"] is None
    else:
        assert details["match"]["threshold"] == policy.match.presets[policy.default_preset].threshold
        assert len(details["match"]["frame_scores"]) == frames
        assert details["match"]["score"] == min(details["match"]["frame_scores"])
    if path != "/v1/compare":
        liveness = details["liveness"]
        point = policy.liveness
        assert (liveness["live_from"], liveness["spoof_below"]) == (point.live_from, point.spoof_below)
        assert liveness["score"] == min(liveness["frame_scores"]) and len(liveness["frame_scores"]) == frames
        assert set(liveness["model_log_odds"]) == set(policy.liveness.weights)
        assert all(len(per_frame) == frames for per_frame in liveness["model_log_odds"].values())
        assert details["frames"]["threshold"] == policy.binding_threshold(policy.match.presets[policy.default_preset])
        assert -1 <= details["frames"]["lowest_similarity"] <= 1


def test_the_audit_line_records_every_detail_for_a_default_key(api: Api) -> None:
    fields: dict[str, Any] = {"selfie": [image(SELFIE), image(SECOND_SELFIE)], "reference": image(REFERENCE)}
    response = api.call("POST", "/v1/verify", files=multipart(**fields))
    assert response.json()["details"] is None
    audit = last_audit(api)
    assert audit["request_id"] == response.json()["request_id"] and audit["details_returned"] is False
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", audit["ts"])  # ISO 8601 UTC, as every log line
    assert audit["liveness"]["frame_verdicts"] == response.json()["liveness"]["frame_verdicts"]
    assert audit["frames"] == response.json()["frames"]
    details = audit["details"]
    assert len(details["liveness"]["frame_scores"]) == 2
    assert {name: len(values) for name, values in details["liveness"]["model_log_odds"].items()} == {
        name: 2 for name in api.service.pipeline.policy.liveness.weights}
    assert isinstance(details["frames"]["lowest_similarity"], float) and details["frames"]["threshold"] > 0
    assert len(details["match"]["frame_scores"]) == 2 and audit["match"]["preset"] == "fmr_1e-3"
    assert details["match"]["threshold"] == api.service.pipeline.policy.match.presets["fmr_1e-3"].threshold
    for face in [*details["faces"]["selfie"], details["faces"]["reference"]]:
        assert len(face["box"]) == 4 and len(face["landmarks"]) == 5


@pytest.mark.parametrize("attack", ["paper", "screen"])
def test_a_selfie_whose_frames_show_two_people_is_rejected(api: Api, attack: str) -> None:
    """A print of the reference's owner beside a live stranger's frame: the print matches the reference and the
    stranger may pass liveness, but the frames do not show one person."""
    original = data_file("liveness-dev/print-screen-6/original/marnix.jpg")
    print_attack = data_file(f"liveness-dev/print-screen-6/{attack}/marnix.jpg")
    files = multipart(selfie=[print_attack, image(SELFIE)], reference=original)
    body = api.call("POST", "/v1/verify", files=files).json()
    assert body["decision"] == "reject" and "frames_mismatch" in body["reasons"], body
    assert body["frames"] == {"consistent": False}


def test_compare_states_a_match_and_claims_no_liveness(api: Api) -> None:
    for other, outcome in ((REFERENCE, "match"), (OTHER, "no_match")):
        body = api.call("POST", "/v1/compare", files=multipart(image1=image(SELFIE), image2=image(other))).json()
        assert (body["decision"], body["liveness_checked"], body["reasons"]) == (outcome, False, [])
        assert body["match"]["matched"] is (outcome == "match") and "liveness" not in body
        assert body["faces"] == {"image1": {"detected": 1, "problems": []}, "image2": {"detected": 1, "problems": []}}
    assert last_audit(api)["decision"] == "no_match" and last_audit(api)["liveness_checked"] is False
    compare = api.call("GET", "/openapi.json", key=None).json()["paths"]["/v1/compare"]["post"]
    assert "no liveness claim" in compare["description"] and "never be used alone to onboard" in compare["description"]


@pytest.mark.parametrize(
    ("key", "headers", "status", "code"),
    [
        (None, {}, 401, "unauthenticated"),
        ("fs_not-a-real-key", {}, 403, "forbidden"),
        (None, {"X-API-Key": "wrong"}, 403, "forbidden"),
    ],
)
def test_auth_rejections_are_problem_json(api: Api, key: str | None, headers: dict[str, str], status: int,
                                          code: str) -> None:
    response = api.call("POST", "/v1/verify", key=key, headers=headers,
                        files=multipart(selfie=image(SELFIE), reference=image(REFERENCE)))
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert Problem.model_validate(response.json()).code == code


def test_the_server_names_every_decision_and_audits_the_clients_id_beside_it(api: Api) -> None:
    """Two decisions sent with one X-Request-ID get two request ids; the client's id is kept as client_request_id."""
    files = multipart(image1=image(SELFIE), image2=image(REFERENCE))
    answers = [api.call("POST", "/v1/compare", headers={"X-Request-ID": "order-42"}, files=files) for _ in range(2)]
    ids = [answer.json()["request_id"] for answer in answers]
    assert len(set(ids)) == 2 and "order-42" not in ids
    assert [answer.headers["x-request-id"] for answer in answers] == ids
    audit_lines = audit_file(api).read_text().splitlines()[-2:]
    assert [(a["request_id"], a["client_request_id"]) for a in map(json.loads, audit_lines)] == [
        (ids[0], "order-42"), (ids[1], "order-42")]
    api.call("POST", "/v1/compare", headers={"X-Request-ID": "not valid: " + "x" * 70}, files=files)
    assert last_audit(api)["client_request_id"] is None


def test_x_api_key_header_is_accepted(api: Api) -> None:
    response = api.call("GET", "/v1/models", key=None, headers={"X-API-Key": api.key})
    assert response.status_code == 200
    body = response.json()
    assert body["signature_verified"] and body["sealed"] and body["known_answer_ok"] and body["integrity_ok"]
    assert body["lock_version"] == api.service.sealed.lock.lock_version


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"content": b"{", "headers": {"content-type": "application/json"}}, 400, "malformed_json"),
        ({"json": {"selfie": "###", "reference": "AAAA"}}, 400, "invalid_base64"),
        ({"json": {"reference": "AAAA"}}, 400, "missing_field"),
        ({"json": {"selfie": [b64(b"x")] * 9, "reference": "AAAA"}}, 400, "too_many_images"),
        # Multipart alike: more image parts than the route takes, and a repeated preset (one request, one reading).
        ({"files": [("selfie", ("s.jpg", b"x", "image/jpeg"))] * 9 + [("reference", ("r.jpg", b"x", "image/jpeg"))]},
         400, "too_many_images"),
        ({"files": [("selfie", ("s.jpg", b"x", "image/jpeg")), ("reference", ("r.jpg", b"x", "image/jpeg"))],
          "data": {"preset": ["fmr_1e-2", "fmr_1e-4"]}}, 400, "malformed_request"),
        ({"content": b"plain", "headers": {"content-type": "text/plain"}}, 415, "unsupported_media_type"),
        ({"json": {"selfie": b64(b"GIF89a...."), "reference": b64(b"GIF89a")}}, 415, "unsupported_format"),
        ({"json": {"selfie": b64(b"\xff\xd8\xff\xe0garbage"), "reference": b64(b"\xff\xd8\xff")}}, 422,
         "corrupt_image"),
        ({"json": {"selfie": b64(b"\xff\xd8\xff" + b"0" * 3_100_000), "reference": "AAAA"}}, 413, "image_too_large"),
        ({"content": b"0" * 9_000_000, "headers": {"content-type": "application/json"}}, 413, "body_too_large"),
    ],
)
def test_bad_requests_get_precise_problems(api: Api, kwargs: dict[str, Any], status: int, code: str) -> None:
    response = api.call("POST", "/v1/verify", **kwargs)
    assert (response.status_code, Problem.model_validate(response.json()).code) == (status, code), response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "Traceback" not in response.text and "/work" not in response.text


def test_a_transparent_selfie_is_refused_as_blank(api: Api) -> None:
    """Alpha 0 everywhere: a reviewer sees nothing, though the colour channels still hold a real selfie."""
    selfie = cv2.imdecode(np.frombuffer(image(SELFIE), np.uint8), cv2.IMREAD_REDUCED_COLOR_2)  # under the byte limit
    assert selfie is not None
    transparent = cv2.imencode(".png", np.dstack([selfie, np.zeros(selfie.shape[:2], np.uint8)]))[1].tobytes()
    response = api.call("POST", "/v1/verify", files=multipart(selfie=transparent, reference=image(REFERENCE)))
    assert (response.status_code, response.json()["code"]) == (422, "blank_image"), response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_health_ready_metrics_and_openapi(api: Api) -> None:
    assert api.call("GET", "/healthz", key=None).json() == {"status": "alive"}
    ready = api.call("GET", "/readyz", key=None)
    assert ready.status_code == 200 and ready.json()["sealed"] is True
    assert api.call("GET", "/metrics", key=None).status_code == 404  # served on its own listener only
    metrics = generate_latest().decode()
    for name in ("faceseal_http_requests_total", "faceseal_stage_duration_seconds_bucket", "faceseal_model_info",
                 "faceseal_integrity_ok 1.0", "faceseal_decisions_total", "faceseal_build_info"):
        assert name in metrics
    spec = api.call("GET", "/openapi.json", key=None).json()
    assert spec["openapi"].startswith("3.1")
    body = spec["paths"]["/v1/verify"]["post"]["requestBody"]["content"]
    assert set(body) == {"multipart/form-data", "application/json"}


def build_info(metrics: str) -> dict[str, str]:
    (sample,) = [s for family in text_string_to_metric_families(metrics) for s in family.samples
                 if s.name == "faceseal_build_info"]
    return sample.labels


def test_build_info_names_the_lock_its_signer_and_the_seal(settings: Settings, sealed: SealedSet) -> None:
    Service.start(settings, sealed)
    assert build_info(generate_latest().decode()) == {
        "version": __version__, "lock_sha256": sealed.lock_sha256, "sealed": "true",
        "signer_key_id": key_id(load_trust(DEFAULT_TRUST_FILE).lock_public_key),
    }


def test_development_mode_runs_a_foreign_lock_and_says_unsealed_everywhere(
    sealed_copy: SealedCopy, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A lock signed by a throw-away key starts only in development mode, and then nothing claims a seal."""
    settings = Settings(development=True, models_dir=sealed_copy.models_dir, trust_file=sealed_copy.trust_file,
                        auth_disabled=True, reverify_interval_s=0, audit_log_file=tmp_path / "audit.jsonl")
    dev = Api(Service.start(settings, open_models(settings)), key="")
    assert any(r.levelname == "WARNING" and "NOT SEALED" in r.getMessage() for r in caplog.records)
    models = dev.call("GET", "/v1/models", key=None).json()
    assert (models["signature_verified"], models["sealed"]) == (True, False)
    assert dev.call("GET", "/readyz", key=None).json() == {"status": "ready", "lock_version": models["lock_version"],
                                                           "sealed": False}
    decision = dev.call("POST", "/v1/compare", key=None, files=multipart(image1=image(SELFIE), image2=image(REFERENCE)))
    assert (decision.json()["decision"], decision.json()["sealed"]) == ("match", False)
    assert decision.json()["details"] is None  # no key, no details: development mode is no back door to the numbers
    assert json.loads((tmp_path / "audit.jsonl").read_text().splitlines()[-1])["sealed"] is False
    info = build_info(generate_latest().decode())
    assert (info["sealed"], info["lock_sha256"]) == ("false", models["lock_sha256"])
    assert info["signer_key_id"] == key_id(load_trust(sealed_copy.trust_file).lock_public_key)
    assert info["signer_key_id"] != key_id(load_trust(DEFAULT_TRUST_FILE).lock_public_key)


@pytest.fixture
def embeddings_seen(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[np.ndarray]]:
    """Spy on the real embedder (it still runs) to learn which vectors must never leak."""
    seen: list[np.ndarray] = []
    real = FaceEmbedder.embed

    def spy(self: FaceEmbedder, crops: list[np.ndarray]) -> np.ndarray:
        result = real(self, crops)
        seen.append(result)
        return result

    monkeypatch.setattr(FaceEmbedder, "embed", spy)
    yield seen


def test_no_image_bytes_crops_or_embeddings_in_logs_or_responses(
    api: Api, embeddings_seen: list[np.ndarray], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    selfie, reference = image(SELFIE), image(REFERENCE)
    response = api.call("POST", "/v1/verify", json={"selfie": b64(selfie), "reference": b64(reference)})
    assert response.status_code == 200 and embeddings_seen
    logged = "\n".join(r.getMessage() + json.dumps(getattr(r, "fields", {}), default=str) for r in caplog.records)
    texts = [response.text, audit_file(api).read_text(), logged]
    forbidden = [b64(selfie)[100:160], b64(reference)[100:160], selfie[200:240].hex()]
    for vector in np.concatenate(embeddings_seen):
        forbidden += [f"{value:.6f}"[:8] for value in vector[:4] if abs(value) > 0.01]
    for text in texts:
        for needle in forbidden:
            assert needle not in text
    audit = json.loads(audit_file(api).read_text().splitlines()[-1])
    from app.integrity.digests import sha256_bytes

    assert audit["inputs_sha256"] == {"selfie": [sha256_bytes(selfie)], "reference": [sha256_bytes(reference)]}
    assert audit["decision"] == "approve" and audit["client_id"] == "test-bank" and audit["sealed"] is True
    assert audit["models"] == {m.name: m.sha256 for m in api.service.sealed.lock.models}
    assert "embedding" not in response.text.lower()


def test_an_unexpected_exception_is_a_named_headed_counted_500_for_that_request_only(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The error boundary answers inside the middleware: the 500 carries X-Request-ID and the security headers,
    counts in faceseal_http_requests_total (FacesealHighErrorRate sees it) and is logged, its text kept in."""
    calls = {"n": 0}
    real = FaceEmbedder.embed

    def fail_once(self: FaceEmbedder, crops: list[np.ndarray]) -> np.ndarray:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("simulated kernel failure (test fault injection)")
        return real(self, crops)

    monkeypatch.setattr(FaceEmbedder, "embed", fail_once)
    labels = {"route": "/v1/compare", "method": "POST", "status": "500"}
    counted = REGISTRY.get_sample_value("faceseal_http_requests_total", labels) or 0.0
    failed = api.call("POST", "/v1/compare", files=multipart(image1=image(SELFIE), image2=image(REFERENCE)))
    assert failed.status_code == 500 and failed.headers["content-type"] == "application/problem+json"
    problem = Problem.model_validate(failed.json())
    assert (problem.code, problem.detail) == ("internal_error", "the request could not be processed")
    assert "simulated" not in failed.text
    assert failed.headers["x-request-id"] == problem.request_id
    assert {name: failed.headers[name] for name in SECURITY_HEADERS} == SECURITY_HEADERS
    assert REGISTRY.get_sample_value("faceseal_http_requests_total", labels) == counted + 1
    (logged,) = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert vars(logged)["fields"]["request_id"] == problem.request_id
    assert "simulated" not in JsonFormatter().format(logged)  # the type is logged, never the text
    ok = api.call("POST", "/v1/compare", files=multipart(image1=image(SELFIE), image2=image(REFERENCE)))
    assert ok.status_code == 200 and ok.json()["decision"] == "match"


def test_openapi_documents_examples(api: Api) -> None:
    spec = api.call("GET", "/openapi.json", key=None).json()
    schemas = spec["components"]["schemas"]
    assert [e["decision"] for e in schemas["DecisionResponse"]["examples"]] == ["approve", "approve"]
    assert [e["decision"] for e in schemas["CompareResponse"]["examples"]] == ["match"]
    examples: list[tuple[type[BaseModel], dict[str, Any]]] = [
        (DecisionResponse, DECISION_EXAMPLE), (DecisionResponse, DETAILED_EXAMPLE), (CompareResponse, COMPARE_EXAMPLE)]
    for model, example in examples:  # every key of the answer, and no other
        assert model.model_validate(example).model_dump(mode="json") == example
    assert schemas["CompareResponse"]["properties"]["decision"]["$ref"] == "#/components/schemas/CompareDecision"
    assert schemas["CompareDecision"]["enum"] == ["match", "no_match", "retake"]
    assert schemas["Decision"]["enum"] == ["approve", "reject", "retake"]
    assert schemas["CompareResponse"]["properties"]["liveness_checked"]["const"] is False
    assert schemas["Problem"]["examples"][0]["code"] == "image_too_large"
    assert "example" in spec["paths"]["/v1/verify"]["post"]["requestBody"]["content"]["application/json"]


def test_uploaded_images_never_touch_a_disk(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 2.3 MB selfie (over Starlette's 1 MB spool limit) is verified with no writable temp dir."""
    selfie = image(SELFIE)
    assert len(selfie) > 2 * 1024 * 1024
    monkeypatch.setattr(tempfile, "tempdir", "/nonexistent-faceseal-tmp")
    response = api.call("POST", "/v1/verify", files=multipart(selfie=selfie, reference=image(REFERENCE)))
    assert response.status_code == 200, response.text


def test_shutting_the_service_down_closes_its_pipeline(settings: Settings, sealed: SealedSet) -> None:
    """The lifespan's shutdown shuts the pipeline's lanes down, so no lane thread outlives the app."""
    service = Service.start(settings, sealed)
    app = create_app(service)

    async def serve_and_stop() -> None:
        async with app.router.lifespan_context(app):
            assert service.pipeline.lanes.submit(lambda: 1).result() == 1

    asyncio.run(serve_and_stop())
    with pytest.raises(RuntimeError, match="shutdown"):
        service.pipeline.lanes.submit(lambda: 1)
