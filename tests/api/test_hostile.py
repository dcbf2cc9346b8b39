"""Request bodies no request needs, in-process: an unknown field refused before anything is built from it,
and the JSON shape and size a route accepts (tests/server/test_hostile.py sends every attack to a real server)."""

import base64
import tracemalloc
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from app.api.app import create_app
from app.api.errors import ApiError
from app.api.intake import Field, json_limit, parse_json
from app.api.service import Service
from app.config import Settings
from app.integrity.gate import SealedSet
from devkit.asgi import asgi_request
from devkit.attacks import MIB, json_with_unknown_field
from devkit.paths import MODELS


def test_an_unknown_field_is_refused_before_anything_is_built_from_it() -> None:
    """Row 3's body: a valid request, then an unknown field holding 11M numbers (~1 GB of objects if parsed)."""
    body = json_with_unknown_field(24 * MIB)
    tracemalloc.start()
    try:
        with pytest.raises(ApiError) as caught:
            parse_json(body, [Field("selfie", 1, 5), Field("reference", 1, 1)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.code == "unknown_field" and peak < 64 * 1024


@pytest.fixture(scope="module")
def small_app(sealed: SealedSet) -> FastAPI:
    settings = Settings(models_dir=MODELS, auth_disabled=True, reverify_interval_s=0, max_image_bytes=10_000,
                        max_frames=1)
    return create_app(Service.start(settings, sealed))


def call(app: FastAPI, **kwargs: Any) -> httpx.Response:
    return asgi_request(app, "POST", "/v1/verify", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"json": {"selfie": "QUJD", "reference": "QUJD", "approved": True}}, 400, "unknown_field"),
        ({"files": [("selfie", ("s", b"x", "image/jpeg")), ("approved", ("a", b"x", "image/jpeg"))]}, 400,
         "unknown_field"),
        ({"data": {"approved": "true"}, "files": [("selfie", ("s", b"x", "image/jpeg"))]}, 400, "unknown_field"),
        ({"json": {"selfie": [["QUJD"]], "reference": "QUJD"}}, 400, "malformed_request"),
        ({"json": {"selfie": ["QUJD", "QUJD"], "reference": "QUJD"}}, 400, "too_many_images"),
        ({"content": b'{"selfie": "QUJD", "selfie": "QUJD"}', "headers": {"content-type": "application/json"}}, 400,
         "malformed_json"),
        # A body one byte over what two images of 10,000 bytes can need in JSON is never read.
        ({"content": b" " * (json_limit([Field("selfie", 1, 1), Field("reference", 1, 1)], 10_000) + 1),
          "headers": {"content-type": "application/json"}}, 413, "body_too_large"),
    ],
)
def test_unknown_fields_and_bodies_no_request_needs_are_refused(small_app: FastAPI, kwargs: dict[str, Any], status: int,
                                                                code: str) -> None:
    response = call(small_app, **kwargs)
    assert (response.status_code, response.json()["code"]) == (status, code), response.text


def test_a_json_request_within_the_derived_limit_is_answered(small_app: FastAPI) -> None:
    ramp = np.dstack([np.arange(64, dtype=np.uint8)[None].repeat(48, 0)] * 3)
    tiny = base64.b64encode(cv2.imencode(".png", ramp)[1].tobytes()).decode()
    response = call(small_app, json={"selfie": tiny, "reference": tiny})
    assert response.status_code == 200 and response.json()["reasons"] == ["no_face"], response.text
