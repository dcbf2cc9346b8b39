"""The sealed image on a real Docker engine: hermetic build, minimal runtime, runtime contract, tamper
refusal, healthcheck, metrics listener, compose. The image is built once per session (tests/container/conftest.py).
"""

import hashlib
import json
import os
import socket
import stat
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devkit.containers import Release, docker
from devkit.paths import MODELS, REPO, data_file
from devkit.server import free_ports

RUN_CONTRACT = ["--network", "host", "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
                "--security-opt", "no-new-privileges"]
# Files Docker itself puts into every container's filesystem; not part of the image.
ENGINE_FILES = {".dockerenv", "dev/console", "etc/hostname", "etc/hosts", "etc/resolv.conf", "etc/mtab"}
pytestmark = pytest.mark.docker


def metrics_env(port: int) -> list[str]:
    """Host networking: each container's /metrics listener needs a port of its own."""
    return ["-e", f"FACESEAL_METRICS_PORT={port}"]


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
    port, scrape_port = free_ports(2)
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


def in_container(name: str, code: str) -> subprocess.CompletedProcess[str]:
    """Python is the only program in the image, so checks inside it are Python one-liners."""
    return docker("exec", name, "python", "-c", code, check=False)


def test_runtime_is_read_only_non_root_and_lean(container: tuple[str, str, str]) -> None:
    name, _, _ = container
    assert in_container(name, "import os; print(os.getuid())").stdout.strip() == "10001"
    for target in ("/x", "/app/x", "/app/models/facenet.onnx"):
        assert in_container(name, f"open({target!r}, 'w')").returncode != 0
    for module in ("tensorflow", "torch", "tf2onnx", "onnx", "pip"):
        assert in_container(name, f"import {module}").returncode != 0
    assert docker("exec", name, "sh", "-c", "true", check=False).returncode != 0


def test_logs_are_json_from_the_first_line_and_onnxruntime_telemetry_is_off(container: tuple[str, str, str]) -> None:
    """Read-only root: onnxruntime telemetry would warn, in colour, that it cannot persist a device id."""
    name, _, _ = container
    logs = docker("logs", name)
    lines = (logs.stdout + logs.stderr).splitlines()
    assert json.loads(lines[0])["msg"] == "models verified"
    assert [line for line in lines if not line.startswith("{")] == []
    assert in_container(name, "import os; print(os.environ['ORT_DISABLE_TELEMETRY'])").stdout.strip() == "1"


def test_metrics_are_served_only_on_their_own_listener(container: tuple[str, str, str]) -> None:
    _, url, metrics_url = container
    assert httpx.get(url + "/metrics").status_code == 404
    assert "faceseal_build_info" in httpx.get(metrics_url + "/metrics").text


def test_the_healthcheck_follows_the_port_serve_was_given_without_a_shell(image: str) -> None:
    """Exec-form Python check; started with a --port other than 8000, the container still becomes healthy."""
    healthcheck = json.loads(docker("inspect", "-f", "{{json .Config.Healthcheck.Test}}", image).stdout)
    assert healthcheck == ["CMD", "python", "-m", "app.healthcheck"]
    port, metrics_port = free_ports(2)
    name = f"faceseal-health-{port}"
    docker("run", "-d", "--name", name, *RUN_CONTRACT, *metrics_env(metrics_port), "--health-interval", "1s",
           "-e", "FACESEAL_AUTH_DISABLED=true", image, "--host", "127.0.0.1", "--port", str(port))
    try:
        deadline = time.monotonic() + 90
        while (status := docker("inspect", "-f", "{{.State.Health.Status}}", name).stdout.strip()) != "healthy":
            assert status != "unhealthy" and time.monotonic() < deadline, docker("inspect", name).stdout[-2000:]
            time.sleep(0.5)
    finally:
        docker("rm", "-f", name, check=False)


@pytest.fixture(scope="module")
def image_files(image: str) -> dict[str, tarfile.TarInfo]:
    """Every entry of the image's filesystem, read from `docker export` (no shell needed inside)."""
    created = docker("create", image).stdout.strip()
    try:
        export = subprocess.Popen(["docker", "export", created], stdout=subprocess.PIPE)
        with tarfile.open(fileobj=export.stdout, mode="r|") as archive:
            files = {member.name.rstrip("/"): member for member in archive}
        assert export.wait() == 0
    finally:
        docker("rm", created)
    return {path: member for path, member in files.items() if path not in ENGINE_FILES}


def test_runtime_has_no_shell_package_manager_perl_or_setuid(image_files: dict[str, tarfile.TarInfo]) -> None:
    tools = {"sh", "bash", "dash", "apt", "apt-get", "dpkg", "perl", "su", "mount", "gcc", "cc", "pip"}
    assert {path for path in image_files if Path(path).name in tools} == set()
    assert {path for path, m in image_files.items() if m.mode & (stat.S_ISUID | stat.S_ISGID)} == set()
    top = {path.split("/")[0] for path in image_files}
    assert top <= {"app", "opt", "usr", "lib", "lib64", "etc", "tmp", "dev", "proc", "sys"}, top


def test_sbom_names_every_file_kept_from_the_os_and_every_model(image: str, image_files: dict[str, tarfile.TarInfo],
                                                                 tmp_path: Path) -> None:
    created = docker("create", image).stdout.strip()
    try:
        docker("cp", f"{created}:/app/sbom.cdx.json", str(tmp_path))
    finally:
        docker("rm", created)
    sbom = json.loads((tmp_path / "sbom.cdx.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    components = sbom["components"]
    assert {"onnxruntime", "fastapi"} <= {c["name"] for c in components}
    debian = {c["name"] for c in components if c.get("purl", "").startswith("pkg:deb/debian/")}
    assert {"libc6", "python3.11-minimal", "libpython3.11-stdlib", "libstdc++6"} <= debian
    described = {o["location"] for c in components for o in c.get("evidence", {}).get("occurrences", [])}
    os_files = {"/" + path for path, m in image_files.items()
                if not m.isdir() and not path.startswith(("app/", "opt/venv/")) and path not in ("lib", "lib64")}
    assert os_files and os_files - described == set()
    lock = json.loads((MODELS / "models.lock").read_text())
    models = {c["name"]: c["hashes"][0]["content"] for c in components if c["type"] == "machine-learning-model"}
    assert models == {m["name"]: m["sha256"] for m in lock["models"]}


def test_sigterm_stops_cleanly(image: str) -> None:
    port, metrics_port = free_ports(2)
    name = f"faceseal-stop-{port}"
    docker("run", "-d", "--name", name, *RUN_CONTRACT, *metrics_env(metrics_port), "-e", "FACESEAL_AUTH_DISABLED=true",
           image, "--host", "127.0.0.1", "--port", str(port))
    try:
        wait_ready(f"http://127.0.0.1:{port}", name)
        docker("stop", "-t", "30", name)
        assert docker("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip() == "0"
    finally:
        docker("rm", "-f", name, check=False)


def run_to_exit(image: str, *options: str) -> tuple[int, str]:
    port, metrics_port = free_ports(2)
    name = f"faceseal-tamper-{port}"
    docker("run", "-d", "--name", name, *RUN_CONTRACT, *metrics_env(metrics_port), *options,
           "-e", "FACESEAL_AUTH_DISABLED=true", image,
           "--host", "127.0.0.1", "--port", str(port))
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


def test_readme_docker_run_reads_the_key_file_make_run_creates(image: str, tmp_path: Path) -> None:
    keys, venv = tmp_path / "api-keys.json", Path(sys.executable).parents[1]
    # `make run` makes its key with this target; -o keeps make from reinstalling the venv it is given.
    made = subprocess.run(["make", "-s", "-o", f"{venv}/.installed", "dev-key", f"VENV={venv}", f"KEYS_FILE={keys}"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    key = made.stdout.split()[-1]
    port, metrics_port = free_ports(2)
    name = f"faceseal-readme-{port}"
    # The README's command, with this test's key file and a free port.
    docker("run", "-d", "--name", name, *RUN_CONTRACT, *metrics_env(metrics_port), "-v", f"{keys}:/run/secrets/keys:ro",
           "-e", "FACESEAL_API_KEYS_FILE=/run/secrets/keys", image, "--host", "127.0.0.1", "--port", str(port))
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, name)
        assert httpx.get(url + "/v1/models", headers={"X-API-Key": key}).status_code == 200
        assert httpx.get(url + "/v1/models").status_code == 401
    finally:
        docker("rm", "-f", name, check=False)


def test_compose_runs_the_signed_release_by_digest(release: Release, tmp_path: Path) -> None:
    for port in (8000, 9090, 9464):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                pytest.fail(f"port {port} busy: the compose stack needs 8000, 9090 and 9464 on loopback")
    subprocess.run([str(REPO / "docker/build-prometheus-image.sh")], check=True, capture_output=True, timeout=600)
    from app.api.auth import create_key

    keys = tmp_path / "api-keys.json"
    key = create_key(keys, "compose-test")
    keys.chmod(0o644)  # as `make run` leaves it
    env = {**os.environ, "FACESEAL_API_KEYS_SECRET": str(keys), "COMPOSE_PROJECT_NAME": "facesealtest"}
    env.pop("FACESEAL_IMAGE", None)
    compose = ["docker-compose", "--file", str(REPO / "compose.yaml")]
    unpinned = subprocess.run([*compose, "config", "--quiet"], cwd=REPO, env=env, capture_output=True, text=True)
    assert unpinned.returncode != 0 and "FACESEAL_IMAGE" in unpinned.stderr
    # As the README says: the env file docker/release.sh wrote pins the image by digest.
    compose = ["docker-compose", "--env-file", str(release.directory / "compose.env"),
               "--file", str(REPO / "compose.yaml")]
    try:
        up = subprocess.run([*compose, "up", "-d"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        assert up.returncode == 0, up.stderr
        service = subprocess.run([*compose, "ps", "-q", "faceseal"], cwd=REPO, env=env, capture_output=True, text=True)
        running = docker("inspect", "-f", "{{.Config.Image}}", service.stdout.strip()).stdout.strip()
        assert running == release.reference and "@sha256:" in running
        deadline, up_value = time.monotonic() + 90, None
        while time.monotonic() < deadline and up_value != "1":
            time.sleep(1)
            try:
                result = httpx.get("http://127.0.0.1:9090/api/v1/query", params={"query": 'up{job="faceseal"}'}).json()
                up_value = result["data"]["result"][0]["value"][1] if result["data"]["result"] else None
            except httpx.TransportError:
                continue
        assert up_value == "1"
        assert httpx.get("http://127.0.0.1:8000/metrics").status_code == 404  # scraped on faceseal's own listener
        models = httpx.get("http://127.0.0.1:8000/v1/models", headers={"Authorization": f"Bearer {key}"})
        assert models.status_code == 200 and models.json()["signature_verified"] and models.json()["sealed"]
        assert httpx.get("http://127.0.0.1:8000/v1/models").status_code == 401
    finally:
        subprocess.run([*compose, "down", "--timeout", "30"], cwd=REPO, env=env, capture_output=True, timeout=300)
