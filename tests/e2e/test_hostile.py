"""Every attack of bench/robustness.py against a real server: the precise 4xx, then a valid request works.
Then each hardening on its own: places taken before bodies, the JSON shape, geometry, the pixel budget
and the bounded detection cascade."""

import asyncio
import base64
import dataclasses
import socket
import time
import tracemalloc
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st

from app.api.app import create_app
from app.api.errors import ApiError
from app.api.intake import Field, json_limit, parse_json
from app.api.service import Service
from app.config import Settings
from app.inference.errors import InputError
from app.inference.pipeline import Pipeline
from app.integrity.gate import SealedSet
from devkit.attacks import (
    MIB,
    SERVER_ENV,
    attacks,
    flat_png,
    gradient_png,
    json_with_unknown_field,
    png_bomb,
    run_attacks,
)
from devkit.paths import MODELS, data_file
from devkit.server import running

SELFIE = "verify-dev/images/img1.jpg"


def test_every_attack_gets_its_answer_and_the_service_keeps_serving(tmp_path: Path) -> None:
    with running(tmp_path, SERVER_ENV) as server:
        rows = run_attacks(server)
    failures = [(row.name, row.expected, row.got) for row in rows if not row.ok]
    assert not failures, failures
    assert len(rows) == len(attacks())
    # A 50000x50000 bomb would need ~7 GB decoded, 32 bodies of 20 MiB 640 MiB, a JSON array of 11M elements ~1 GB.
    assert [row.name for row in rows if not row.rss_peak_mib < 1536] == []
    assert [row.name for row in rows if not row.recovered] == []


def test_a_request_beyond_the_places_is_refused_before_its_body_is_read(tmp_path: Path) -> None:
    """One place (1 slot, no queue), held by a client stalled mid-body: the next request is refused at once
    (429, not the 400 its malformed body would get if read), although nothing is in inference or queued."""
    with running(tmp_path, {"FACESEAL_MAX_CONCURRENCY": "1", "FACESEAL_MAX_QUEUE": "0"}) as server:
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as stalled:
            stalled.sendall(b"POST /v1/verify HTTP/1.1\r\nHost: faceseal\r\nContent-Type: application/json\r\n"
                            b"Content-Length: 2\r\n\r\n{")
            deadline = time.monotonic() + 10
            while (refused := httpx.post(server.url + "/v1/verify", content=b"{", timeout=10,
                                         headers={"content-type": "application/json"})).status_code == 400:
                assert time.monotonic() < deadline, "the stalled request never took its place"
                time.sleep(0.05)
            assert (refused.status_code, refused.json()["code"]) == (429, "overloaded")
            assert refused.headers["retry-after"] == "1"
            stalled.sendall(b"}")
            assert b" 400 " in stalled.recv(65536).split(b"\r\n", 1)[0]  # `{}`: read once it held the place
        files = [("selfie", ("s.jpg", data_file(SELFIE), "image/jpeg")), ("reference", ("r.jpg", data_file(SELFIE), "image/jpeg"))]
        assert httpx.post(server.url + "/v1/verify", files=files, timeout=60).status_code == 200


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
    settings = Settings(models_dir=MODELS, auth_disabled=True, reverify_interval_s=0, max_image_bytes=10_000, max_frames=1)
    return create_app(Service.start(settings, sealed))


def call(app: FastAPI, **kwargs: object) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://faceseal.test") as client:
            return await client.post("/v1/verify", **kwargs)  # type: ignore[arg-type]
    return asyncio.run(send())


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"json": {"selfie": "QUJD", "reference": "QUJD", "approved": True}}, 400, "unknown_field"),
        ({"files": [("selfie", ("s", b"x", "image/jpeg")), ("approved", ("a", b"x", "image/jpeg"))]}, 400, "unknown_field"),
        ({"data": {"approved": "true"}, "files": [("selfie", ("s", b"x", "image/jpeg"))]}, 400, "unknown_field"),
        ({"json": {"selfie": [["QUJD"]], "reference": "QUJD"}}, 400, "malformed_request"),
        ({"json": {"selfie": ["QUJD", "QUJD"], "reference": "QUJD"}}, 400, "too_many_images"),
        ({"content": b'{"selfie": "QUJD", "selfie": "QUJD"}', "headers": {"content-type": "application/json"}}, 400, "malformed_json"),
        # A body one byte over what two images of 10,000 bytes can need in JSON is never read.
        ({"content": b" " * (json_limit([Field("selfie", 1, 1), Field("reference", 1, 1)], 10_000) + 1),
          "headers": {"content-type": "application/json"}}, 413, "body_too_large"),
    ],
)
def test_unknown_fields_and_bodies_no_request_needs_are_refused(small_app: FastAPI, kwargs: dict, status: int, code: str) -> None:
    response = call(small_app, **kwargs)
    assert (response.status_code, response.json()["code"]) == (status, code), response.text


def test_a_json_request_within_the_derived_limit_is_answered(small_app: FastAPI) -> None:
    tiny = base64.b64encode(cv2.imencode(".png", np.dstack([np.arange(64, dtype=np.uint8)[None].repeat(48, 0)] * 3))[1]).decode()
    response = call(small_app, json={"selfie": tiny, "reference": tiny})
    assert response.status_code == 200 and response.json()["reasons"] == ["no_face"], response.text


@st.composite
def geometries(draw: st.DrawFn) -> tuple[int, int]:
    """Widths and heights up to the limits (12000 px a side, 40 MP): slivers, squares and everything between."""
    width = draw(st.integers(1, 12_000))
    return width, draw(st.integers(1, min(12_000, 40_000_000 // width)))


@given(geometries())
@settings(max_examples=16, deadline=None, database=None)
def test_any_geometry_gives_an_answer_or_a_clear_4xx(pipeline: Pipeline, geometry: tuple[int, int]) -> None:
    """A gradient (one flat colour would be refused as blank) as selfie and as reference: never a 5xx."""
    image = gradient_png(*geometry)
    try:
        pipeline.verify([image], image)
    except InputError as error:
        assert 400 <= error.status < 500, (geometry, error.code)


def test_a_request_over_the_pixel_budget_is_refused_before_any_decoding(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    """Six frames of 36 MP each pass the per-image limits; together they are 216 MP, over the 80 MP budget."""
    started: list[object] = []
    monkeypatch.setattr(pipeline.lanes, "submit", lambda *task: started.append(task))
    header_only = png_bomb(6000)
    with pytest.raises(InputError) as caught:
        pipeline.verify([header_only] * 5, header_only)
    assert (caught.value.code, caught.value.status) == ("too_many_pixels", 413) and started == []


@pytest.mark.parametrize(
    ("width", "height", "passes"),
    [(300, 400, [480] * 4), (960, 720, [480] * 4), (961, 720, [480, 960]), (4000, 3000, [480, 960]), (1000, 1, [480])],
)
def test_an_image_without_a_face_costs_a_bounded_number_of_detector_passes(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, width: int, height: int, passes: list[int]
) -> None:
    """Small images get the padded retries for tight crops, larger ones the large pass instead, slivers neither."""
    sizes: list[int] = []
    detect = pipeline.finder.detector.detect
    monkeypatch.setattr(pipeline.finder.detector, "detect", lambda rgb, long_side: sizes.append(long_side) or detect(rgb, long_side))
    ramp = np.add.outer((np.arange(height) % 97).astype(np.uint8), (np.arange(width) % 89).astype(np.uint8))
    assert pipeline.finder.find(np.dstack([ramp] * 3)) == [] and sizes == passes


def test_a_refused_frame_cancels_the_lane_tasks_its_request_queued(
    pipeline: Pipeline, sealed: SealedSet, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """The first of five frames is blank: the others and the reference are not decoded for an answer already
    given (at most one more may have started in the lane meanwhile)."""
    one_lane = Pipeline(sealed, dataclasses.replace(pipeline.options, lanes=1))
    request.addfinalizer(one_lane.close)
    decoded: list[str] = []
    decode = one_lane.sides.images.decode
    monkeypatch.setattr(one_lane.sides.images, "decode", lambda image, timings: decoded.append(image[0]) or decode(image, timings))
    face = data_file(SELFIE)
    with pytest.raises(InputError) as caught:
        one_lane.verify([flat_png(64), face, face, face, face], face)
    assert caught.value.code == "blank_image"
    one_lane.lanes.submit(lambda: None).result()  # every task queued before this one has run or was cancelled
    assert decoded[0] == "selfie[0]" and len(decoded) <= 2, decoded
