"""A real uvicorn process on 127.0.0.1: requests, refusal to start when tampered, drain on SIGTERM,
and periodic re-verification catching a model changed on disk after start."""

import concurrent.futures
import json
import time
from pathlib import Path

import httpx

from devkit.paths import data_file
from devkit.sealed_copy import SealedCopy
from devkit.server import Server, running, start


def image(name: str) -> bytes:
    return data_file(f"verify-dev/images/{name}")


def verify(url: str) -> httpx.Response:
    files = [("selfie", ("s.jpg", image("img1.jpg"), "image/jpeg")),
             ("reference", ("r.jpg", image("img2.jpg"), "image/jpeg"))]
    return httpx.post(url + "/v1/verify", files=files, timeout=60)


def test_real_server_answers_verify_and_keeps_serving_after_bad_input(tmp_path: Path) -> None:
    with running(tmp_path) as server:
        assert verify(server.url).json()["decision"] == "approve"
        bad = httpx.post(server.url + "/v1/verify", json={"selfie": "%%%", "reference": "x"}, timeout=10)
        assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
        assert verify(server.url).status_code == 200
        first_log = json.loads(server.logs().splitlines()[0])
        assert first_log["msg"] == "models verified"
        assert (first_log["signature_verified"], first_log["sealed"]) == (True, True)


def slow_verify(url: str) -> httpx.Response:
    """Five selfie frames: long enough (~1 s) to be caught in flight by the signal."""
    files = [("selfie", (f"s{i}.jpg", image("img1.jpg"), "image/jpeg")) for i in range(5)]
    files.append(("reference", ("r.jpg", image("img2.jpg"), "image/jpeg")))
    return httpx.post(url + "/v1/verify", files=files, timeout=120)


def busy(server: Server) -> bool:
    metrics = httpx.get(server.metrics_url + "/metrics", timeout=5).text
    return "faceseal_inflight_requests 0.0" not in metrics


def test_sigterm_drains_in_flight_requests_and_exits_zero(tmp_path: Path) -> None:
    with running(tmp_path) as server:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            in_flight = [pool.submit(slow_verify, server.url) for _ in range(4)]
            deadline = time.monotonic() + 30
            while not busy(server) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert busy(server), "no request reached inference"
            assert server.stop() == 0
            assert [f.result().status_code for f in in_flight] == [200, 200, 200, 200]
        try:
            httpx.get(server.url + "/healthz", timeout=2)
        except httpx.TransportError:
            pass
        else:
            raise AssertionError("server still accepting after SIGTERM")


def test_tampered_model_refuses_start_with_one_clear_line(tmp_path: Path, sealed_copy: SealedCopy) -> None:
    entry = sealed_copy.entry("silentface-minifasnetv2-2.7")
    data = bytearray((sealed_copy.models_dir / entry.file).read_bytes())
    data[12345] ^= 0xFF
    sealed_copy.replace_file(entry.file, bytes(data))
    server = start(tmp_path, {"FACESEAL_MODELS_DIR": str(sealed_copy.models_dir), "FACESEAL_DEVELOPMENT": "true",
                              "FACESEAL_TRUST_FILE": str(sealed_copy.trust_file)})
    assert server.process.wait(timeout=60) == 3
    (line,) = [json.loads(text) for text in server.logs().splitlines() if "integrity check failed" in text]
    assert line["level"] == "error" and line["model"] == entry.name and line["check"] == "sha256"
    assert entry.sha256 in line["msg"]


def test_model_changed_on_disk_after_start_closes_the_service(tmp_path: Path, sealed_copy: SealedCopy) -> None:
    env = {"FACESEAL_MODELS_DIR": str(sealed_copy.models_dir), "FACESEAL_TRUST_FILE": str(sealed_copy.trust_file),
           "FACESEAL_DEVELOPMENT": "true", "FACESEAL_REVERIFY_INTERVAL_S": "0.5"}
    with running(tmp_path, env) as server:
        assert "faceseal_integrity_ok 1.0" in httpx.get(server.metrics_url + "/metrics").text
        entry = sealed_copy.entry("centerface")
        path = sealed_copy.models_dir / entry.file
        data = bytearray(path.read_bytes())
        data[-10] ^= 0x01
        sealed_copy.replace_file(entry.file, bytes(data))
        deadline = time.monotonic() + 20
        while httpx.get(server.url + "/readyz").status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert httpx.get(server.url + "/readyz").status_code == 503
        assert "faceseal_integrity_ok 0.0" in httpx.get(server.metrics_url + "/metrics").text
        refused = verify(server.url)
        assert refused.status_code == 503 and refused.json()["code"] == "integrity_failed"
        assert any(entry.name in line and "re-verification" in line for line in server.logs().splitlines())


def test_a_full_queue_refuses_before_reading_the_body(tmp_path: Path) -> None:
    """With the only slot busy and no queue, even a malformed body gets 429 (not 400): overload costs
    no upload parsing, and the service keeps serving afterwards."""
    with running(tmp_path, {"FACESEAL_MAX_CONCURRENCY": "1", "FACESEAL_MAX_QUEUE": "0"}) as server:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            in_flight = pool.submit(slow_verify, server.url)
            deadline = time.monotonic() + 30
            while not busy(server) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert busy(server), "no request reached inference"
            garbage = httpx.post(server.url + "/v1/verify", content=b"--x\r\nnot multipart",
                                 headers={"content-type": "multipart/form-data; boundary=x"}, timeout=10)
            assert garbage.status_code == 429 and garbage.json()["code"] == "overloaded"
            assert garbage.headers["retry-after"] == "1"
            assert in_flight.result().status_code == 200
        assert verify(server.url).status_code == 200
