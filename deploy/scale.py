"""Three sealed replicas behind a real load balancer, on this machine: `make scale-demo`, and
tests/container/test_scale.py.

    python -m deploy.scale [--image REF] [--clients 3] [--steady-seconds 8]

What runs (all on 127.0.0.1, host network, nothing published elsewhere):
- 3 containers of the signed image (by digest when given one), each with the pod's contract: read-only
  root, /tmp tmpfs, no capabilities, no new privileges, UID 10001, 1536 MiB and 2 CPUs, the API keys file
  mounted read-only; its own API port and its own /metrics port.
- Debian's HAProxy in front, from a generated configuration (haproxy_config below): health checks GET
  /readyz, every server starts DOWN (a server-state file, as Kubernetes keeps a pod out of the endpoints
  until it is ready) and needs 2 passing checks to take traffic; failed attempts are retried on another
  replica (`retry-on conn-failure empty-response junk-response`, `option redispatch 1`, the request body
  buffered whole so it can be sent again); what cannot be retried is answered 503 with Retry-After.
- Debian's Prometheus scraping every replica's /metrics (labels namespace/pod as a ServiceMonitor gives
  them) and HAProxy's own exporter, with ops/prometheus/alerts.yml loaded.
- A steady, bounded load: a few clients posting /v1/verify (one small selfie + reference) through HAProxy.

Then, under that load: (a) `docker kill` one replica, (b) replace every replica in turn (SIGTERM, the drain,
a new container on the same ports, ready in HAProxy, next), (c) a fourth replica started with a tampered
model, which never becomes ready and never gets a request, (d) the per-replica series in Prometheus and
the HPA's Pods metric computed by prometheus-adapter's query. Prints the counts; `check()` lists what
does not hold (the test asserts it is empty; the demo exits 1).

Why the load balancer may retry a POST /v1/verify: a decision is a pure function of the request's bytes
and the sealed models and policy (every replica runs the same digest); it changes no state but the audit
line, counters and the client's rate-limit budget. HAProxy retries only when it got no response at all
(connection refused, or closed before any byte of an answer), so the client never sees two answers; if
the first attempt did reach a decision before its replica died, the audit trail holds two lines carrying
the same X-Request-ID (HAProxy's unique id, recorded as client_request_id), which an auditor joins.
A request that was answered, even with an error, is never retried.
"""

import argparse
import contextlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from devkit.server import free_ports

REPO = Path(__file__).resolve().parents[1]
NAMESPACE = "faceseal"
# HAProxy's server-state file format (`show servers state`, version 1): every server starts DOWN, health 0.
STATE_HEADER = ("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
                "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state "
                "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl "
                "srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n")
PROBLEM_503 = ("HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\nretry-after: 1\r\n"
               "cache-control: no-store\r\nconnection: close\r\n\r\n"
               '{"type":"urn:faceseal:problem:upstream_unavailable","title":"Service Unavailable","status":503,'
               '"detail":"no replica could answer; retry after Retry-After seconds","code":"upstream_unavailable"}\n')


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {result.stderr.strip()[-2000:]}")
    return result


def small_jpeg(path: Path, long_side: int = 640) -> bytes:
    """A dev photo scaled down as a client SDK would send it: keeps the load's CPU modest on 2 cores."""
    import cv2

    image = cv2.imread(str(path))
    assert image is not None, f"not an image: {path}"
    scale = long_side / max(image.shape[:2])
    resized = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                         interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", resized, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return encoded.tobytes()


def haproxy_config(frontend: int, exporter: int, workdir: Path, servers: dict[str, int]) -> str:
    """The load balancer. Every choice here is argued in docs/KUBERNETES.md (load balancer)."""
    lines = [f"      server {name} 127.0.0.1:{port}" for name, port in servers.items()]
    return f"""global
  log stdout format raw local0
  stats socket {workdir}/haproxy.sock mode 600 level admin
  server-state-file {workdir}/haproxy.state
  # A request is retried only if it is held whole in one buffer: 1 MiB covers a verify of small frames.
  tune.bufsize 1048576
  maxconn 512

defaults
  mode http
  log global
  load-server-state-from-file global
  timeout connect 1s
  timeout client 30s
  # Longer than faceseal's queue timeout (10 s) plus an inference; a slow answer is never retried.
  timeout server 30s
  timeout queue 10s
  timeout http-request 15s
  timeout check 2s
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response junk-response
  errorfile 502 {workdir}/503.http
  errorfile 503 {workdir}/503.http
  errorfile 504 {workdir}/503.http

frontend faceseal
  bind 127.0.0.1:{frontend}
  # The whole body before any replica sees the request: slow uploads wait here, and a retry can resend it.
  option http-buffer-request
  unique-id-format %[uuid()]
  http-request set-header X-Request-ID %[unique-id]
  http-response set-header X-Served-By %s
  http-response set-header X-LB-Request-ID %[unique-id]
  log-format "%ID %s %ST %rc %Tt %{{+Q}}r"
  default_backend replicas

backend replicas
  balance leastconn
  option httpchk
  http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host faceseal
  http-check expect status 200
  # 2 inferences and 2 waiting per replica; beyond that requests queue here, for whichever frees first.
  # A refused connection from live traffic also triggers fast checks (observe layer4).
  default-server check inter 1s fastinter 250ms downinter 1s rise 2 fall 2 maxconn 4
  default-server observe layer4 error-limit 1 on-error fastinter
{chr(10).join(lines)}

frontend exporter
  bind 127.0.0.1:{exporter}
  http-request use-service prometheus-exporter if {{ path /metrics }}
"""


@dataclass
class Replica:
    name: str  # HAProxy server name and Prometheus `pod` label
    port: int
    metrics_port: int
    tampered: bool = False
    containers: list[str] = field(default_factory=list)

    @property
    def container(self) -> str:
        return self.containers[-1]


@dataclass
class Record:
    started: float
    ended: float
    status: int | str  # HTTP status, or the transport error's name
    served_by: str = ""
    retry_after: str | None = None
    lb_request_id: str = ""
    decision: str | None = None


class Load:
    """Clients posting verifies through the load balancer back to back (a short pause between), in threads."""

    def __init__(self, url: str, key: str, selfie: bytes, reference: bytes, clients: int) -> None:
        self.url, self.key, self.clients = url, key, clients
        self.files = [("selfie", ("s.jpg", selfie, "image/jpeg")), ("reference", ("r.jpg", reference, "image/jpeg"))]
        self.records: list[Record] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(clients)]

    def _client(self, index: int) -> None:
        pause = random.Random(index)
        with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {self.key}"}) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    response = client.post(self.url + "/v1/verify", files=self.files)
                    body = response.json() if response.headers.get("content-type", "").endswith("json") else {}
                    record = Record(started, time.monotonic(), response.status_code,
                                    response.headers.get("x-served-by", ""), response.headers.get("retry-after"),
                                    response.headers.get("x-lb-request-id", ""), body.get("decision"))
                except (httpx.TransportError, ValueError) as error:
                    record = Record(started, time.monotonic(), type(error).__name__)
                with self._lock:
                    self.records.append(record)
                self._stop.wait(0.05 + 0.1 * pause.random())

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=90)

    def between(self, start: float, end: float) -> list[Record]:
        with self._lock:
            return [r for r in self.records if start <= r.started < end]


@dataclass
class Counts:
    """What each part of the demo measured (printed, and checked by check())."""
    requests: int = 0
    per_replica: dict[str, int] = field(default_factory=dict)
    decisions: dict[str | None, int] = field(default_factory=dict)
    steady_failed: int = 0
    kill_in_flight: int = 0          # requests the killed replica was serving when it died
    kill_retried: int = 0            # requests HAProxy sent again (another replica) in the kill window
    kill_503_retry_after: int = 0    # answered 503 with Retry-After in the kill window
    kill_failed_otherwise: int = 0   # any other failure in the kill window (must be 0)
    kill_window_requests: int = 0
    rolling_requests: int = 0
    rolling_failed: int = 0
    rolling_retried: int = 0
    rolling_drained: int = 0         # requests a replica finished after its SIGTERM
    rolling_exit_codes: list[int] = field(default_factory=list)
    rolling_drain_s: list[float] = field(default_factory=list)
    ready_s: list[float] = field(default_factory=list)  # docker run -> UP in HAProxy, per new replica
    tampered_exit_code: int | None = None
    tampered_restarts: int = 0
    tampered_refusal: str = ""
    tampered_ever_up: bool = True
    tampered_requests: int = -1      # HAProxy's session count for the tampered server
    tampered_check_status: str = ""  # HAProxy's last health check result for it (L4CON: connection refused)
    prometheus_pods: list[str] = field(default_factory=list)
    prometheus_verifies: dict[str, float] = field(default_factory=dict)
    prometheus_in_progress: dict[str, float] = field(default_factory=dict)
    prometheus_tampered_up: float | None = None
    prometheus_tampered_alert: str = ""
    audit_lines_sharing_lb_id: int = 0
    failed_total: int = 0


class Demo:
    def __init__(self, image: str, workdir: Path, clients: int = 3, log: Callable[[str], None] = print) -> None:
        self.image, self.workdir, self.clients, self.log = image, workdir, clients, log
        self.run_id = f"{os.getpid()}-{random.randrange(16**6):06x}"
        ports = iter(free_ports(11))  # distinct: a port given twice would let one replica answer for two
        self.replicas = [Replica(f"faceseal-{i}", next(ports), next(ports)) for i in range(3)]
        self.tampered = Replica("faceseal-tampered", next(ports), next(ports), tampered=True)
        self.frontend, self.exporter, self.prometheus_port = next(ports), next(ports), next(ports)
        self.url = f"http://127.0.0.1:{self.frontend}"
        self.prometheus_url = f"http://127.0.0.1:{self.prometheus_port}"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.statuses: dict[str, set[str]] = {}  # every HAProxy status each server was seen in
        self._monitor_stop = threading.Event()
        self.counts = Counts()
        self.load: Load | None = None
        self.key = ""

    # ----- containers

    def run_replica(self, replica: Replica) -> str:
        name = f"faceseal-scale-{self.run_id}-{replica.name.removeprefix('faceseal-')}-{len(replica.containers)}"
        mounts = ["-v", f"{self.workdir / 'api-keys.json'}:/run/secrets/faceseal/api-keys.json:ro"]
        if replica.tampered:
            mounts += ["-v", f"{self.workdir / 'minifasnetv2se.onnx'}:/app/models/minifasnetv2se.onnx:ro",
                       "--restart", "on-failure:20"]  # as a pod restarts: CrashLoopBackOff, never ready
        docker("run", "-d", "--name", name, "--label", f"faceseal.scale-demo={self.run_id}",
               "--network", "host", "--read-only", "--tmpfs", "/tmp:size=16m", "--cap-drop", "ALL",
               "--security-opt", "no-new-privileges", "--user", "10001:10001", "--memory", "1536m",
               "--cpus", "2", "--pids-limit", "256", "--stop-timeout", "45", *mounts,
               "-e", "FACESEAL_API_KEYS_FILE=/run/secrets/faceseal/api-keys.json",
               "-e", "FACESEAL_METRICS_HOST=127.0.0.1", "-e", f"FACESEAL_METRICS_PORT={replica.metrics_port}",
               "-e", "FACESEAL_REVERIFY_INTERVAL_S=60",
               self.image, "--host", "127.0.0.1", "--port", str(replica.port))
        replica.containers.append(name)
        return name

    # ----- HAProxy

    def haproxy(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX) as unix:
            unix.settimeout(5)
            unix.connect(str(self.workdir / "haproxy.sock"))
            unix.sendall(command.encode() + b"\n")
            out = b""
            while chunk := unix.recv(65536):
                out += chunk
        return out.decode()

    def stats(self) -> dict[str, dict[str, str]]:
        rows = [line.split(",") for line in self.haproxy("show stat").splitlines() if line]
        header = [h.lstrip("# ") for h in rows[0]]
        return {row[1]: dict(zip(header, row)) for row in rows[1:] if row[0] == "replicas" and row[1] != "BACKEND"}

    def _monitor(self) -> None:
        while not self._monitor_stop.is_set():
            with contextlib.suppress(OSError):
                for name, row in self.stats().items():
                    self.statuses.setdefault(name, set()).add(row["status"].split(" ")[0])
            self._monitor_stop.wait(0.1)

    def wait_status(self, replica: Replica, status: str, timeout: float = 120) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.stats()[replica.name]["status"] == status:
                return time.monotonic() - started
            if status == "UP" and not replica.tampered:
                state = docker("inspect", "-f", "{{.State.Status}}", replica.container, check=False).stdout.strip()
                if state == "exited":
                    logs = docker("logs", replica.container, check=False)
                    raise RuntimeError(f"{replica.container} exited: {(logs.stdout + logs.stderr)[-1500:]}")
            time.sleep(0.1)
        raise TimeoutError(f"{replica.name} not {status} in HAProxy after {timeout} s: {self.stats()[replica.name]}")

    def retried(self) -> dict[str, int]:
        """LB request id -> retries HAProxy made for it (its log's %rc; "+N" when redispatched)."""
        retries = {}
        for line in (self.workdir / "haproxy.log").read_text(errors="replace").splitlines():
            fields = line.split(" ", 5)
            if len(fields) == 6 and len(fields[0]) == 36 and fields[3].lstrip("+").isdigit():
                retries[fields[0]] = int(fields[3].lstrip("+"))
        return retries

    # ----- Prometheus

    def query(self, promql: str) -> list[dict[str, Any]]:
        response = httpx.get(self.prometheus_url + "/api/v1/query", params={"query": promql}, timeout=10)
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()["data"]["result"]
        return result

    def by_pod(self, promql: str) -> dict[str, float]:
        return {r["metric"].get("pod", ""): float(r["value"][1]) for r in self.query(promql)}

    # ----- set-up and tear-down

    def start(self) -> None:
        from app.api.auth import create_key

        for tool in ("docker", "haproxy", "prometheus"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"{tool} not installed: devkit/prerequisites.sh installs Debian's docker.io, "
                                   "haproxy and prometheus")
        keys = self.workdir / "api-keys.json"
        self.key = create_key(keys, "scale-demo")
        keys.chmod(0o644)  # UID 10001 reads it, as the pod's Secret (0440, fsGroup 10001) allows
        model = bytearray((REPO / "models/minifasnetv2se.onnx").read_bytes())
        model[len(model) // 2] ^= 0x01  # one bit: the sealed gate must refuse it
        (self.workdir / "minifasnetv2se.onnx").write_bytes(bytes(model))
        (self.workdir / "503.http").write_text(PROBLEM_503)
        everyone = [*self.replicas, self.tampered]
        (self.workdir / "haproxy.state").write_text(STATE_HEADER + "".join(
            f"3 replicas {i} {r.name} 127.0.0.1 0 0 1 1 0 8 2 0 6 0 0 0 - {r.port} - 0 0 - - 0\n"
            for i, r in enumerate(everyone, 1)))
        config = self.workdir / "haproxy.cfg"
        servers = {r.name: r.port for r in everyone}
        config.write_text(haproxy_config(self.frontend, self.exporter, self.workdir, servers))
        checked = subprocess.run(["haproxy", "-c", "-q", "-f", str(config)], capture_output=True, text=True)
        if checked.returncode != 0:
            raise RuntimeError(f"haproxy -c: {checked.stdout}{checked.stderr}")
        log = (self.workdir / "haproxy.log").open("wb")
        self.processes.append(subprocess.Popen(["haproxy", "-db", "-f", str(config)], stdout=log,
                                               stderr=subprocess.STDOUT))
        self._write_prometheus_config(everyone)
        self.processes.append(subprocess.Popen(
            ["prometheus", f"--config.file={self.workdir / 'prometheus.yml'}",
             f"--storage.tsdb.path={self.workdir / 'tsdb'}", f"--web.listen-address=127.0.0.1:{self.prometheus_port}"],
            stdout=subprocess.DEVNULL, stderr=(self.workdir / "prometheus.log").open("wb")))
        for _ in range(100):
            with contextlib.suppress(OSError):
                self.stats()
                break
            time.sleep(0.1)
        threading.Thread(target=self._monitor, daemon=True).start()
        started = time.monotonic()
        for replica in self.replicas:
            self.run_replica(replica)
        for replica in self.replicas:
            self.wait_status(replica, "UP")
            self.counts.ready_s.append(round(time.monotonic() - started, 2))
        self.log(f"3 replicas UP in HAProxy {time.monotonic() - started:.1f} s after docker run (image {self.image})")

    def _write_prometheus_config(self, everyone: list[Replica]) -> None:
        targets = "\n".join(
            f"      - targets: ['127.0.0.1:{r.metrics_port}']\n"
            f"        labels: {{namespace: {NAMESPACE}, pod: {r.name}}}"
            for r in everyone)
        (self.workdir / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"rule_files: ['{REPO / 'ops/prometheus/alerts.yml'}']\n"
            "scrape_configs:\n"
            "  - job_name: faceseal\n    static_configs:\n" + targets + "\n"
            f"  - job_name: haproxy\n    static_configs:\n      - targets: ['127.0.0.1:{self.exporter}']\n")

    def close(self) -> None:
        self._monitor_stop.set()
        if self.load:
            self.load.stop()
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
        names = docker("ps", "-aq", "--filter", f"label=faceseal.scale-demo={self.run_id}", check=False).stdout.split()
        if names:
            docker("rm", "-f", *names, check=False)

    # ----- the demo

    def run(self, steady_seconds: float = 8) -> Counts:
        counts = self.counts
        images = Path(os.environ.get("FACESEAL_SHARED", REPO.parent / "shared")) / "data/verify-dev/images"
        self.load = Load(self.url, self.key, small_jpeg(images / "img1.jpg"), small_jpeg(images / "img2.jpg"),
                         self.clients)
        # (c) first: the tampered replica is started now and watched for the whole run.
        self.run_replica(self.tampered)
        self.load.start()
        steady_from = time.monotonic()
        time.sleep(steady_seconds)
        counts.steady_failed = sum(r.status != 200 for r in self.load.between(steady_from, time.monotonic()))
        self.log(f"steady: {len(self.load.between(steady_from, time.monotonic()))} verifies, "
                 f"{counts.steady_failed} failed")

        # (a) docker kill one replica under load; the ReplicaSet's replacement comes once it is gone.
        victim = self.replicas[0]
        deadline = time.monotonic() + 10  # kill it while it is serving (it almost always is)
        while (in_flight := int(self.stats()[victim.name]["scur"])) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        kill_at = time.monotonic()
        docker("kill", victim.container)
        counts.kill_in_flight = in_flight
        self.wait_status(victim, "DOWN", timeout=30)
        restarted = time.monotonic()
        self.run_replica(victim)
        self.wait_status(victim, "UP")
        counts.ready_s.append(round(time.monotonic() - restarted, 2))
        time.sleep(2)
        kill_window = self.load.between(kill_at - 2, time.monotonic())  # from before the kill: requests in flight
        counts.kill_window_requests = len(kill_window)
        retried = self.retried()
        counts.kill_retried = sum(retried.get(r.lb_request_id, 0) > 0 for r in kill_window)
        counts.kill_503_retry_after = sum(r.status == 503 and r.retry_after is not None for r in kill_window)
        counts.kill_failed_otherwise = sum(r.status != 200 and not (r.status == 503 and r.retry_after)
                                           for r in kill_window)
        self.log(f"(a) docker kill {victim.name}: {counts.kill_in_flight} in flight on it, "
                 f"{counts.kill_retried} retried on another replica, {counts.kill_503_retry_after} answered 503 + "
                 f"Retry-After, {counts.kill_failed_otherwise} other failures, of {len(kill_window)} requests")

        # (b) rolling replacement: SIGTERM (the drain), a new container on the same ports, UP, next.
        rolling_from = time.monotonic()
        for replica in self.replicas:
            old = replica.container
            stopping = time.monotonic()
            docker("stop", "-t", "45", old, timeout=90)
            counts.rolling_drain_s.append(round(time.monotonic() - stopping, 2))
            counts.rolling_exit_codes.append(int(docker("inspect", "-f", "{{.State.ExitCode}}", old).stdout))
            counts.rolling_drained += sum(r.served_by == replica.name and r.started < stopping < r.ended
                                          for r in self.load.between(stopping - 60, stopping))
            started = time.monotonic()
            self.run_replica(replica)
            self.wait_status(replica, "UP")
            counts.ready_s.append(round(time.monotonic() - started, 2))
        time.sleep(2)
        rolling = self.load.between(rolling_from, time.monotonic())
        counts.rolling_requests = len(rolling)
        counts.rolling_failed = sum(r.status != 200 for r in rolling)
        retried = self.retried()
        counts.rolling_retried = sum(retried.get(r.lb_request_id, 0) > 0 for r in rolling)
        self.log(f"(b) rolling replacement of 3 replicas: {len(rolling)} verifies, {counts.rolling_failed} failed, "
                 f"{counts.rolling_retried} retried, {counts.rolling_drained} finished by a draining replica; "
                 f"drains {counts.rolling_drain_s} s, exit codes {counts.rolling_exit_codes}")

        time.sleep(3)  # the last scrapes and rule evaluations
        self.load.stop()
        self._monitor_stop.set()
        self._tampered(counts)
        self._prometheus(counts)
        self._audit(counts)
        records = self.load.records
        counts.requests = len(records)
        counts.per_replica = dict(Counter(r.served_by for r in records if r.status == 200))
        counts.decisions = dict(Counter(r.decision for r in records if r.status == 200))
        counts.failed_total = sum(r.status != 200 for r in records)
        return counts

    def _tampered(self, counts: Counts) -> None:
        for _ in range(100):  # between two restarts (a running attempt has no exit code yet)
            state = docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}",
                           self.tampered.container).stdout.split()
            if state[0] != "running":
                break
            time.sleep(0.1)
        state = state[1:]
        counts.tampered_exit_code, counts.tampered_restarts = int(state[0]), int(state[1])
        logs = docker("logs", self.tampered.container, check=False)
        refusal: dict[str, Any] = next((json.loads(line) for line in (logs.stdout + logs.stderr).splitlines()
                        if "integrity check failed" in line), {})
        counts.tampered_refusal = f"{refusal.get('model')} {refusal.get('check')}" if refusal else ""
        row = self.stats()[self.tampered.name]
        counts.tampered_requests = int(row["stot"])
        counts.tampered_check_status = row["check_status"]
        counts.tampered_ever_up = "UP" in self.statuses.get(self.tampered.name, {"?"})
        self.log(f"(c) tampered replica: exit code {counts.tampered_exit_code} ({counts.tampered_refusal}), "
                 f"restarted {counts.tampered_restarts} times, "
                 f"HAProxy states seen {sorted(self.statuses[self.tampered.name])}, "
                 f"{counts.tampered_requests} requests sent to it, last health check {counts.tampered_check_status}")

    def _prometheus(self, counts: Counts) -> None:
        adapter = REPO / "deploy/kubernetes/monitoring/prometheus-adapter-rules.yaml"
        import yaml

        template = yaml.safe_load(adapter.read_text())["rules"][0]["metricsQuery"]
        pods = "|".join(r.name for r in self.replicas)
        in_progress = template.replace("<<.GroupBy>>", "namespace,pod").replace(
            "<<.LabelMatchers>>", f'namespace="{NAMESPACE}",pod=~"{pods}"')
        counts.prometheus_pods = sorted(self.by_pod('count by (pod) (faceseal_build_info{job="faceseal"})'))
        counts.prometheus_verifies = self.by_pod(
            'sum by (pod) (increase('
            'faceseal_http_requests_total{job="faceseal",route="/v1/verify",status="200"}[10m]))')
        counts.prometheus_in_progress = self.by_pod(in_progress)
        tampered = self.by_pod(f'max_over_time(up{{pod="{self.tampered.name}"}}[10m])')
        counts.prometheus_tampered_up = tampered.get(self.tampered.name)
        alerts = self.query(f'ALERTS{{alertname="FacesealDown",pod="{self.tampered.name}"}}')
        counts.prometheus_tampered_alert = alerts[0]["metric"]["alertstate"] if alerts else ""
        self.log(f"(d) Prometheus: faceseal_build_info from {counts.prometheus_pods}; verifies answered 200 per pod "
                 f"{ {k: round(v) for k, v in sorted(counts.prometheus_verifies.items())} }; HPA Pods metric "
                 f"(prometheus-adapter's query) "
                 f"{ {k: round(v, 2) for k, v in sorted(counts.prometheus_in_progress.items())} }; "
                 f"tampered replica max(up) {counts.prometheus_tampered_up}, "
                 f"FacesealDown {counts.prometheus_tampered_alert or 'absent'}")

    def _audit(self, counts: Counts) -> None:
        """Retried requests whose first attempt reached a decision: two audit lines, one LB request id."""
        seen: Counter[str] = Counter()
        for replica in self.replicas:
            for name in replica.containers:
                logs = docker("logs", name, check=False).stdout
                for line in logs.splitlines():
                    if '"decision"' in line and '"client_request_id"' in line:
                        with contextlib.suppress(ValueError):
                            seen[json.loads(line).get("client_request_id") or ""] += 1
        seen.pop("", None)
        counts.audit_lines_sharing_lb_id = sum(1 for n in seen.values() if n > 1)


def check(counts: Counts) -> list[str]:
    """What must hold; empty when the run proved it."""
    problems = []
    if counts.steady_failed:
        problems.append(f"steady load: {counts.steady_failed} requests failed")
    if counts.kill_failed_otherwise:
        problems.append(f"(a) {counts.kill_failed_otherwise} requests failed other than 503 with Retry-After")
    if counts.kill_503_retry_after > counts.kill_in_flight:
        problems.append(f"(a) {counts.kill_503_retry_after} answered 503, "
                        f"more than the {counts.kill_in_flight} in flight")
    if counts.rolling_failed:
        problems.append(f"(b) {counts.rolling_failed} requests failed during the rolling replacement")
    if counts.rolling_exit_codes != [0, 0, 0]:
        problems.append(f"(b) SIGTERM exit codes {counts.rolling_exit_codes}, not 0")
    if counts.tampered_exit_code != 3 or not counts.tampered_refusal.startswith("minifasnetv2se"):
        problems.append(f"(c) tampered replica: exit {counts.tampered_exit_code}, refusal {counts.tampered_refusal!r}")
    if counts.tampered_ever_up or counts.tampered_requests != 0:
        problems.append(f"(c) tampered replica was UP or got requests ({counts.tampered_requests})")
    if not counts.tampered_check_status.startswith(("L4", "L6", "L7")) or counts.tampered_check_status == "L7OK":
        problems.append(f"(c) HAProxy's health check of the tampered replica: {counts.tampered_check_status!r}")
    if "faceseal-tampered" in counts.per_replica:
        problems.append("(c) a client was answered by the tampered replica")
    replicas = ["faceseal-0", "faceseal-1", "faceseal-2"]
    if counts.prometheus_pods != replicas:
        problems.append(f"(d) per-replica series from {counts.prometheus_pods}, not {replicas}")
    if sorted(p for p, v in counts.prometheus_verifies.items() if v > 0) != replicas:
        problems.append(f"(d) verifies per replica in Prometheus: {counts.prometheus_verifies}")
    if sorted(counts.prometheus_in_progress) != replicas:
        problems.append(f"(d) the HPA's Pods metric per replica: {counts.prometheus_in_progress}")
    if counts.prometheus_tampered_up != 0:
        problems.append(f"(d) the tampered replica's up was {counts.prometheus_tampered_up}")
    if sorted(counts.per_replica) != replicas:
        problems.append(f"load did not reach every replica: {counts.per_replica}")
    if len(counts.decisions) != 1:
        problems.append(f"decisions differ between replicas or attempts: {counts.decisions}")
    return problems


@contextlib.contextmanager
def demo(image: str, clients: int = 3, log: Callable[[str], None] = print) -> Iterator[Demo]:
    with tempfile.TemporaryDirectory(prefix="faceseal-scale-") as tmp:
        os.chmod(tmp, 0o755)  # the containers' UID 10001 reads the keys file and the tampered model in it
        running = Demo(image, Path(tmp), clients, log)
        try:
            running.start()
            yield running
        finally:
            running.close()


def default_image() -> str:
    env = REPO / "build/release/compose.env"
    if env.exists():
        return env.read_text().strip().removeprefix("FACESEAL_IMAGE=")
    return "faceseal:latest"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default=default_image(),
                        help="the signed release by digest (default: build/release/compose.env, else faceseal:latest)")
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--steady-seconds", type=float, default=8)
    args = parser.parse_args()
    started = time.monotonic()
    with demo(args.image, args.clients) as running:
        counts = running.run(args.steady_seconds)
    print(f"\n{counts.requests} verifies through HAProxy in {time.monotonic() - started:.0f} s, "
          f"{counts.failed_total} not answered 200; served per replica {dict(sorted(counts.per_replica.items()))}; "
          f"decisions {counts.decisions}; replica ready (docker run -> UP) {counts.ready_s} s; "
          f"audit lines sharing an LB request id: {counts.audit_lines_sharing_lb_id}")
    problems = check(counts)
    for problem in problems:
        print("FAILED:", problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
