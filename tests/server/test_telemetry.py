"""A real `faceseal serve` as seen from outside: metric labels that no client can mint, no onnxruntime
telemetry under HOME and JSON from the first log line, /metrics only on its own listener, and the
container's healthcheck finding the port `serve` was given."""

import json
import random
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devkit.paths import REPO, data_file
from devkit.rawhttp import raw_status
from devkit.server import Server, free_port, metric_series, running, start

TOKEN = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"  # RFC 9110 tchar: what h11 accepts as a method
KNOWN_PATHS = ["/healthz", "/readyz", "/v1/verify", "/v1/models", "/openapi.json"]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, home: Path) -> Iterator[Server]:
    """HOME is an empty folder, and the environment asks for onnxruntime telemetry: the service must refuse."""
    with running(tmp_path_factory.mktemp("server"), {"HOME": str(home), "ORT_DISABLE_TELEMETRY": "0"}) as served:
        yield served


def random_token(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(TOKEN) for _ in range(length))


def test_random_methods_and_paths_add_no_series(server: Server) -> None:
    rng = random.Random(13)
    for path in [*KNOWN_PATHS, "/no-such-path"]:  # the fixed labels these requests map to exist from here on
        raw_status(server.url, "PROBE", path)
    before = metric_series(server)
    statuses = set()
    for _ in range(200):
        path = rng.choice([*KNOWN_PATHS, "/" + random_token(rng, rng.randint(1, 60))])
        statuses.add(raw_status(server.url, random_token(rng, rng.randint(1, 40)), path))
    long_method = "M" * 8000
    statuses.add(raw_status(server.url, long_method, "/v1/verify"))
    assert statuses <= {404, 405}, statuses
    assert metric_series(server) == before
    scrape = httpx.get(server.metrics_url + "/metrics").text
    assert long_method not in scrape and 'method="other"' in scrape and 'route="unmatched"' in scrape


def test_onnxruntime_writes_nothing_under_home(server: Server, home: Path, tmp_path: Path) -> None:
    files = [("selfie", ("s.jpg", data_file("verify-dev/images/img1.jpg"), "image/jpeg")),
             ("reference", ("r.jpg", data_file("verify-dev/images/img2.jpg"), "image/jpeg"))]
    assert httpx.post(server.url + "/v1/verify", files=files, timeout=60).status_code == 200
    assert sorted(home.rglob("*")) == []
    # The control: onnxruntime imported without faceseal first does write there, so the check above can fail.
    control = tmp_path / "control-home"
    control.mkdir()
    subprocess.run([sys.executable, "-c", "import onnxruntime"], env={"HOME": str(control), "PATH": "/usr/bin:/bin"},
                   check=True, timeout=60)
    assert (control / ".cache/Microsoft/DeveloperTools/.onnxruntime").is_dir()


def test_every_log_line_is_json_from_the_first_where_home_is_read_only(tmp_path: Path) -> None:
    """As in the read-only container: onnxruntime telemetry would warn, in colour, that it cannot persist."""
    (tmp_path / "file").write_text("")
    with running(tmp_path, {"HOME": str(tmp_path / "file" / "home"), "ORT_DISABLE_TELEMETRY": "0"}) as server:
        assert httpx.get(server.url + "/healthz").status_code == 200
        lines = server.logs().splitlines()
    assert json.loads(lines[0])["msg"] == "models verified"
    assert [line for line in lines if not line.startswith("{")] == []


def test_metrics_are_served_only_on_their_own_listener(server: Server) -> None:
    on_api_port = httpx.get(server.url + "/metrics")
    assert on_api_port.status_code == 404 and on_api_port.json()["code"] == "not_found"
    scrape = httpx.get(server.metrics_url + "/metrics")
    assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain; version=")
    assert "faceseal_build_info" in scrape.text and "faceseal_client_requests_total" in scrape.text
    assert httpx.head(server.metrics_url + "/metrics").content == b""
    assert httpx.get(server.metrics_url + "/v1/models").status_code == 404
    assert httpx.post(server.metrics_url + "/metrics").status_code == 405


def test_a_metrics_port_in_use_refuses_start_with_one_clear_line(server: Server, tmp_path: Path) -> None:
    port = server.metrics_url.rsplit(":", 1)[1]
    second = start(tmp_path, {"FACESEAL_METRICS_PORT": port})
    assert second.process.wait(timeout=60) == 2
    (line,) = [json.loads(text) for text in second.logs().splitlines() if "metrics listener" in text]
    assert line["level"] == "error" and line["msg"].startswith(f"cannot start: metrics listener 127.0.0.1:{port}: ")


def test_the_healthcheck_probes_the_port_serve_was_given(server: Server) -> None:
    check = [sys.executable, "-m", "app.healthcheck", "--pid"]
    assert subprocess.run([*check, str(server.process.pid)], cwd=REPO, timeout=30).returncode == 0
    nothing_there = ["serve", "--port", str(free_port())]
    elsewhere = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", *nothing_there])
    try:
        assert subprocess.run([*check, str(elsewhere.pid)], cwd=REPO, timeout=30).returncode == 1
    finally:
        elsewhere.kill()
        elsewhere.wait()
