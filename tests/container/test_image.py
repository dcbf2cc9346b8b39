"""The sealed image on a real Docker engine: hermetic build, runtime contract, tamper refusal, healthcheck, compose.

.ci/run installs docker.io and starts dockerd; these tests build the image themselves.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import MODELS, REPO, data_file
from tests.e2e.server import free_port

TAG = "faceseal:test"
RUN_CONTRACT = ["--network", "host", "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
                "--security-opt", "no-new-privileges"]
pytestmark = pytest.mark.docker


def metrics_env(port: int) -> list[str]:
    """Host networking: each container's /metrics listener needs a port of its own."""
    return ["-e", f"FACESEAL_METRICS_PORT={port}"]


def docker(*args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result


@pytest.fixture(scope="module")
def image() -> str:
    if shutil.which("docker") is None or subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        pytest.fail("no Docker engine: .ci/run installs docker.io and starts dockerd")
    started = time.monotonic()
    env = {**os.environ, "VENV": str(Path(sys.executable).parents[1])}
    build = subprocess.run([str(REPO / "docker/build-image.sh"), TAG], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=1800)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    print(f"\nimage build {time.monotonic() - started:.1f} s")
    return TAG


def wait_ready(url: str, container: str, timeout: float = 60) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        state = docker("inspect", "-f", "{{.State.Running}}", container, check=False).stdout.strip()
        if state == "false":
            raise AssertionError(f"container stopped:\n{docker('logs', container, check=False).stdout}")
        time.sleep(0.1)
    raise AssertionError("container not ready in time")


@pytest.fixture(scope="module")
def container(image: str) -> Iterator[tuple[str, str, str]]:
    """name, API URL, /metrics listener URL."""
    port, scrape_port = free_port(), free_port()
    name = f"faceseal-test-{port}"
    started = time.monotonic()
    docker("run", "-d", "--name", name, *RUN_CONTRACT, *metrics_env(scrape_port), "-e", "FACESEAL_AUTH_DISABLED=true",
           image, "--host", "127.0.0.1", "--port", str(port))
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, name)
    print(f"\ncold start to ready {time.monotonic() - started:.2f} s")
    yield name, url, f"http://127.0.0.1:{scrape_port}"
    docker("rm", "-f", name, check=False)


def test_dockerfiles_pass_hadolint() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    result = subprocess.run([str(hadolint), "docker/Dockerfile", "docker/prometheus.Dockerfile"], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_image_labels_pin_the_lock_digest(image: str) -> None:
    labels = json.loads(docker("inspect", "-f", "{{json .Config.Labels}}", image).stdout)
    assert labels["faceseal.models.lock.sha256"] == hashlib.sha256((MODELS / "models.lock").read_bytes()).hexdigest()
    for key in ("version", "revision", "source", "created"):
        assert labels[f"org.opencontainers.image.{key}"]
    user = docker("inspect", "-f", "{{.Config.User}}", image).stdout.strip()
    assert user.split(":")[0] not in ("", "0", "root")


def test_verify_through_the_container(container: tuple[str, str, str]) -> None:
    _, url, _ = container
    files = [("selfie", ("s.jpg", data_file("verify-dev/images/img1.jpg"), "image/jpeg")),
             ("reference", ("r.jpg", data_file("verify-dev/images/img2.jpg"), "image/jpeg"))]
    assert httpx.post(url + "/v1/verify", files=files, timeout=60).json()["decision"] == "approve"
    files[1] = ("reference", ("r.jpg", data_file("verify-dev/images/img17.jpg"), "image/jpeg"))
    assert httpx.post(url + "/v1/verify", files=files, timeout=60).json()["reasons"] == ["face_mismatch"]


def test_runtime_is_read_only_non_root_and_lean(container: tuple[str, str, str]) -> None:
    name, _, _ = container
    assert docker("exec", name, "id", "-u").stdout.strip() != "0"
    for target in ("/x", "/app/x", "/app/models/facenet.onnx"):
        assert docker("exec", name, "sh", "-c", f": > {target}", check=False).returncode != 0
    for module in ("tensorflow", "torch", "tf2onnx", "onnx", "pip"):
        assert docker("exec", name, "python", "-c", f"import {module}", check=False).returncode != 0
    assert docker("exec", name, "sh", "-c", "command -v gcc cc g++", check=False).stdout.strip() == ""
    sbom = json.loads(docker("exec", name, "cat", "/app/sbom.cdx.json").stdout)
    assert sbom["bomFormat"] == "CycloneDX"
    assert {"onnxruntime", "fastapi"} <= {c["name"] for c in sbom["components"]}


def test_logs_are_json_from_the_first_line_and_onnxruntime_telemetry_is_off(container: tuple[str, str, str]) -> None:
    """Read-only root: onnxruntime telemetry would warn, in colour, that it cannot persist a device id."""
    name, _, _ = container
    logs = docker("logs", name)
    lines = (logs.stdout + logs.stderr).splitlines()
    assert json.loads(lines[0])["msg"] == "models verified"
    assert [line for line in lines if not line.startswith("{")] == []
    setting = docker("exec", name, "python", "-c", "import os; print(os.environ['ORT_DISABLE_TELEMETRY'])")
    assert setting.stdout.strip() == "1"


def test_metrics_are_served_only_on_their_own_listener(container: tuple[str, str, str]) -> None:
    _, url, metrics_url = container
    assert httpx.get(url + "/metrics").status_code == 404
    assert "faceseal_build_info" in httpx.get(metrics_url + "/metrics").text


def test_the_healthcheck_follows_the_port_serve_was_given(image: str) -> None:
    """Started with a --port other than 8000, the container still becomes healthy."""
    healthcheck = json.loads(docker("inspect", "-f", "{{json .Config.Healthcheck.Test}}", image).stdout)
    assert healthcheck == ["CMD", "python", "-m", "app.healthcheck"]
    port = free_port()
    name = f"faceseal-health-{port}"
    docker("run", "-d", "--name", name, *RUN_CONTRACT, *metrics_env(free_port()), "--health-interval", "1s",
           "-e", "FACESEAL_AUTH_DISABLED=true", image, "--host", "127.0.0.1", "--port", str(port))
    try:
        deadline, status = time.monotonic() + 90, ""
        while time.monotonic() < deadline and status != "healthy":
            time.sleep(1)
            status = docker("inspect", "-f", "{{.State.Health.Status}}", name).stdout.strip()
        assert status == "healthy", docker("inspect", "-f", "{{json .State.Health}}", name).stdout
    finally:
        docker("rm", "-f", name, check=False)


def test_sigterm_stops_cleanly(image: str) -> None:
    port = free_port()
    name = f"faceseal-stop-{port}"
    docker("run", "-d", "--name", name, *RUN_CONTRACT, *metrics_env(free_port()), "-e", "FACESEAL_AUTH_DISABLED=true", image,
           "--host", "127.0.0.1", "--port", str(port))
    try:
        wait_ready(f"http://127.0.0.1:{port}", name)
        docker("stop", "-t", "30", name)
        assert docker("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip() == "0"
    finally:
        docker("rm", "-f", name, check=False)


def run_to_exit(image: str, *options: str) -> tuple[int, str]:
    port = free_port()
    name = f"faceseal-tamper-{port}"
    docker("run", "-d", "--name", name, *RUN_CONTRACT, *metrics_env(free_port()), *options,
           "-e", "FACESEAL_AUTH_DISABLED=true", image, "--host", "127.0.0.1", "--port", str(port))
    try:
        code = int(docker("wait", name, timeout=120).stdout.strip())
        return code, docker("logs", name).stdout
    finally:
        docker("rm", "-f", name, check=False)


def test_bind_mounted_tampered_model_is_refused(image: str, tmp_path: Path) -> None:
    data = bytearray((MODELS / "facenet.onnx").read_bytes())
    data[len(data) // 3] ^= 0x01
    tampered = tmp_path / "facenet.onnx"
    tampered.write_bytes(bytes(data))
    code, logs = run_to_exit(image, "-v", f"{tampered}:/app/models/facenet.onnx:ro")
    assert code != 0
    line = next(json.loads(t) for t in logs.splitlines() if "integrity check failed" in t)
    assert line["model"] == "facenet-20180408" and line["check"] == "sha256"


def test_bind_mounted_edited_lock_is_refused(image: str, tmp_path: Path) -> None:
    lock = tmp_path / "models.lock"
    lock.write_text((MODELS / "models.lock").read_text().replace('"lock_version": ', '"lock_version":  ', 1))
    code, logs = run_to_exit(image, "-v", f"{lock}:/app/models/models.lock:ro")
    assert code != 0
    line = next(json.loads(t) for t in logs.splitlines() if "integrity check failed" in t)
    assert line["model"] == "models.lock" and line["check"] == "sha256 (baked at build)"


def test_development_mode_cannot_be_entered_in_the_image(image: str) -> None:
    """The image's baked trust anchors forbid development mode, so no setting can unseal it."""
    code, logs = run_to_exit(image, "-e", "FACESEAL_DEVELOPMENT=true", "-e", "FACESEAL_REQUIRE_SIGNATURE=false")
    assert code == 2
    refused = {json.loads(text).get("setting") for text in logs.splitlines() if text.startswith("{")}
    assert refused - {None} == {"FACESEAL_DEVELOPMENT", "FACESEAL_REQUIRE_SIGNATURE"}


def test_compose_brings_up_faceseal_and_prometheus(image: str, tmp_path: Path) -> None:
    for port in (8000, 9090, 9464):
        with __import__("socket").socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                pytest.fail(f"port {port} busy: the compose stack needs 8000, 9090 and 9464 on loopback")
    subprocess.run([str(REPO / "docker/build-prometheus-image.sh")], check=True, capture_output=True, timeout=600)
    from app.api.auth import create_key

    keys = tmp_path / "api-keys.json"
    key = create_key(keys, "compose-test")
    os.chown(keys, 10001, 10001)
    env = {**os.environ, "FACESEAL_API_KEYS_SECRET": str(keys), "COMPOSE_PROJECT_NAME": "facesealtest"}
    compose = ["docker-compose", "--file", str(REPO / "compose.yaml")]
    subprocess.run([*compose, "config", "--quiet"], cwd=REPO, env=env, check=True, timeout=60)
    override = tmp_path / "override.yaml"
    override.write_text(f"services:\n  faceseal:\n    image: {image}\n")
    compose += ["--file", str(override)]
    try:
        up = subprocess.run([*compose, "up", "-d"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        assert up.returncode == 0, up.stderr
        deadline, up_value = time.monotonic() + 90, None
        while time.monotonic() < deadline and up_value != "1":
            time.sleep(1)
            try:
                result = httpx.get("http://127.0.0.1:9090/api/v1/query", params={"query": 'up{job="faceseal"}'}).json()
                up_value = result["data"]["result"][0]["value"][1] if result["data"]["result"] else None
            except httpx.TransportError:
                continue
        assert up_value == "1"  # Prometheus scrapes faceseal's own /metrics listener (9464)
        assert httpx.get("http://127.0.0.1:8000/metrics").status_code == 404
        models = httpx.get("http://127.0.0.1:8000/v1/models", headers={"Authorization": f"Bearer {key}"})
        assert models.status_code == 200 and models.json()["signature_verified"] and models.json()["sealed"]
        assert httpx.get("http://127.0.0.1:8000/v1/models").status_code == 401
    finally:
        subprocess.run([*compose, "down", "--timeout", "30"], cwd=REPO, env=env, capture_output=True, timeout=300)
