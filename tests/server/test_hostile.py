"""Every attack of devkit/attacks.py against a real server: the precise 4xx, then a valid request works; and a
request beyond the admission places is refused before its body is read."""

import socket
import time
from pathlib import Path

import httpx

from devkit.attacks import SERVER_ENV, run_attacks
from devkit.paths import data_file
from devkit.server import running

SELFIE = "verify-dev/images/img1.jpg"


def test_every_attack_gets_its_answer_and_the_service_keeps_serving(tmp_path: Path) -> None:
    with running(tmp_path, SERVER_ENV) as server:
        rows = run_attacks(server)
    failures = [(row.name, row.expected, row.got) for row in rows if not row.ok]
    assert not failures, failures
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
        files = [("selfie", ("s.jpg", data_file(SELFIE), "image/jpeg")),
                 ("reference", ("r.jpg", data_file(SELFIE), "image/jpeg"))]
        assert httpx.post(server.url + "/v1/verify", files=files, timeout=60).status_code == 200
