"""The image under gVisor (Debian's runsc): its filesystem and config as an OCI bundle, run by runsc
directly, so dockerd needs no extra runtime configured. No network namespace of its own (as with
`docker run --network host`, runsc --network=host serves on the host's loopback), read-only root, UID
10001, no capabilities, no new privileges."""

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from devkit.containers import docker
from devkit.paths import data_file
from devkit.server import free_port

pytestmark = pytest.mark.docker


def oci_config(bundle: Path, image: str, port: int) -> dict[str, Any]:
    """runsc's default spec with the image's entrypoint, environment, user and working directory."""
    subprocess.run(["runsc", "spec"], cwd=bundle, check=True)
    spec = json.loads((bundle / "config.json").read_text())
    image_config = json.loads(docker("image", "inspect", "-f", "{{json .Config}}", image).stdout)
    uid, gid = (int(n) for n in image_config["User"].split(":"))
    spec["process"].update(
        args=[*image_config["Entrypoint"], "--host", "127.0.0.1", "--port", str(port)],
        env=[*image_config["Env"], "FACESEAL_AUTH_DISABLED=true"], cwd=image_config["WorkingDir"],
        user={"uid": uid, "gid": gid}, terminal=False, noNewPrivileges=True, capabilities={})
    spec["root"]["readonly"] = True
    spec["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"})
    spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"] if n["type"] != "network"]
    return spec


def test_the_image_serves_a_verify_under_gvisor(image: str, tmp_path: Path) -> None:
    if shutil.which("runsc") is None:
        pytest.fail("no runsc: devkit/prerequisites.sh installs Debian's runsc")
    bundle = tmp_path / "bundle"
    (bundle / "rootfs").mkdir(parents=True)
    created = docker("create", image).stdout.strip()
    try:
        export = subprocess.Popen(["docker", "export", created], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-C", str(bundle / "rootfs"), "-x"], stdin=export.stdout, check=True)
        assert export.wait() == 0
    finally:
        docker("rm", created)
    port = free_port()
    (bundle / "config.json").write_text(json.dumps(oci_config(bundle, image, port)))
    runsc = ["runsc", "--root", str(tmp_path / "state"), "--network=host"]
    name = f"faceseal-gvisor-{port}"
    log = (tmp_path / "runsc.log").open("w")
    sandbox = subprocess.Popen([*runsc, "run", "--bundle", str(bundle), name], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while not _ready(url):
            assert sandbox.poll() is None, (tmp_path / "runsc.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "not ready under gVisor in time"
            time.sleep(0.5)
        files = [("selfie", ("s.jpg", data_file("verify-dev/images/img1.jpg"), "image/jpeg")),
                 ("reference", ("r.jpg", data_file("verify-dev/images/img2.jpg"), "image/jpeg"))]
        assert httpx.post(url + "/v1/verify", files=files, timeout=60).json()["decision"] == "approve"
        subprocess.run([*runsc, "kill", name, "TERM"], check=True)
        assert sandbox.wait(timeout=60) == 0
    finally:
        subprocess.run([*runsc, "delete", "--force", name], capture_output=True)
        sandbox.kill()
        log.close()
        shutil.rmtree(bundle)  # the image's whole filesystem


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
