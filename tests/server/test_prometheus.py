"""A real Prometheus (Debian package) scrapes a real faceseal on loopback; promtool checks the output."""

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from devkit.paths import REPO, data_file
from devkit.server import free_port, running


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not installed: devkit/prerequisites.sh installs Debian's prometheus package")
    return path


def query(url: str, promql: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{url}/api/v1/query", params={"query": promql}, timeout=10)
    response.raise_for_status()
    return response.json()["data"]["result"]


def test_prometheus_scrapes_requests_and_latency_quantile(tmp_path: Path) -> None:
    prometheus, promtool = tool("prometheus"), tool("promtool")
    with running(tmp_path) as server:
        files = [("selfie", ("s.jpg", data_file("verify-dev/images/img1.jpg"), "image/jpeg")),
                 ("reference", ("r.jpg", data_file("verify-dev/images/img2.jpg"), "image/jpeg"))]
        for _ in range(3):
            assert httpx.post(server.url + "/v1/verify", files=files, timeout=60).status_code == 200
        scrape = httpx.get(server.metrics_url + "/metrics").text
        lint = subprocess.run([promtool, "check", "metrics"], input=scrape, capture_output=True, text=True)
        assert lint.returncode == 0, lint.stdout + lint.stderr

        port = free_port()
        target = server.metrics_url.removeprefix("http://")  # /metrics has a listener of its own
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"rule_files: ['{REPO / 'ops/prometheus/alerts.yml'}']\n"
            f"scrape_configs:\n  - job_name: faceseal\n    static_configs: [{{targets: ['{target}']}}]\n"
        )
        process = subprocess.Popen(
            [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=(tmp_path / "prometheus.log").open("w"),
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            requests: list[dict[str, Any]] = []
            quantile: list[dict[str, Any]] = []
            while time.monotonic() < deadline and not (requests and quantile):
                time.sleep(1)
                httpx.post(server.url + "/v1/verify", files=files, timeout=60)
                try:
                    requests = query(url, 'faceseal_http_requests_total{route="/v1/verify",status="200"}')
                    quantile = query(url, 'histogram_quantile(0.95, sum by (le) '
                                          '(rate(faceseal_http_request_duration_seconds_bucket{route="/v1/verify"}[30s])))')
                    quantile = [q for q in quantile if q["value"][1] not in ("NaN", "+Inf")]
                except httpx.TransportError:
                    continue
            assert requests and float(requests[0]["value"][1]) >= 3
            assert quantile and 0 < float(quantile[0]["value"][1]) < 60
            assert query(url, 'up{job="faceseal"}')[0]["value"][1] == "1"
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_shipped_alert_rules_pass_their_unit_tests() -> None:
    result = subprocess.run([tool("promtool"), "test", "rules", str(REPO / "ops/prometheus/alerts.test.yml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
