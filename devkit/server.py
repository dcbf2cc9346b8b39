"""Run `faceseal serve` as a real process on 127.0.0.1, for tests, the bench and the capacity probe."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from devkit.paths import MODELS, REPO


def free_port() -> int:
    (port,) = free_ports(1)
    return port


def free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports. All are held open together while chosen: ports probed one at a
    time can repeat (the kernel may hand a just-closed port out again), and two servers given one port
    means one cannot bind while the other answers for both."""
    with ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    metrics_url: str  # the /metrics listener's base URL (never the API port)
    log: Path

    def logs(self) -> str:
        return self.log.read_text()

    def stop(self, timeout: float = 60) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


def start(tmp: Path, env: dict[str, str] | None = None) -> Server:
    port, metrics_port = free_ports(2)
    log = tmp / f"server-{port}.log"
    environment = {
        **os.environ,
        "FACESEAL_MODELS_DIR": str(MODELS),
        "FACESEAL_AUTH_DISABLED": "true",
        "FACESEAL_REVERIFY_INTERVAL_S": "0",
        "FACESEAL_METRICS_PORT": str(metrics_port),
        **(env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO, env=environment, stdout=log.open("w"), stderr=subprocess.STDOUT, text=True,
    )
    return Server(process, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{environment['FACESEAL_METRICS_PORT']}", log)


def wait_ready(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with {server.process.returncode}:\n{server.logs()}")
        try:
            if httpx.get(server.url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"server not ready in {timeout} s:\n{server.logs()}")


@contextmanager
def running(tmp: Path, env: dict[str, str] | None = None) -> Iterator[Server]:
    server = start(tmp, env)
    try:
        wait_ready(server)
        yield server
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


def metric_series(server: Server) -> int:
    """How many samples the server's /metrics listener exposes (series minted by clients would add to it)."""
    scrape = httpx.get(server.metrics_url + "/metrics", timeout=10).text
    return sum(len(family.samples) for family in text_string_to_metric_families(scrape))
