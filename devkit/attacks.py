"""The hostile-input and overload catalogue (issue 13): each attack with the answer it must get, run against a
running faceseal while /healthz latency and the server's RSS are watched. bench.robustness prints the report;
tests/server/test_hostile.py asserts every row.
"""

import asyncio
import base64
import contextlib
import io
import math
import random
import re
import selectors
import socket
import string
import struct
import subprocess  # nosec B404
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Self
from urllib.parse import urljoin, urlsplit

import cv2
import httpx
import numpy as np
from PIL import Image

from app.api.auth import create_key
from devkit.paths import data_file
from devkit.proc import reset_peak_rss, rss_mib
from devkit.rawhttp import Outcome, answer, connect, raw_request, raw_status
from devkit.server import Server, metric_series, running

SELFIE = data_file("verify-dev/images/img1.jpg")  # a clear error without the dev data, not rows failing oddly
REFERENCE = data_file("verify-dev/images/img2.jpg")
# Default limits (memory figures hold for them); only the waits are shortened, so the report runs in minutes.
SERVER_ENV = {"FACESEAL_BODY_READ_TIMEOUT_S": "2", "FACESEAL_QUEUE_TIMEOUT_S": "5"}
MIB = 1024 * 1024


@dataclass(frozen=True)
class Attack:
    name: str
    expected: Outcome
    send: Callable[[str], Outcome]


def _outcome(response: httpx.Response) -> Outcome:
    is_problem = response.headers.get("content-type", "").startswith("application/problem+json")
    return Outcome(response.status_code, response.json()["code"] if is_problem else "-")


Parts = list[tuple[str, tuple[str, bytes, str]]]


def _multipart(selfie: bytes, reference: bytes = REFERENCE, selfie_type: str = "image/jpeg") -> Parts:
    return [("selfie", ("s.jpg", selfie, selfie_type)), ("reference", ("r.jpg", reference, "image/jpeg"))]


def post_files(files: Parts) -> Callable[[str], Outcome]:
    return lambda url: _outcome(httpx.post(url + "/v1/verify", files=files, timeout=60))


def post_raw(body: bytes, content_type: str) -> Callable[[str], Outcome]:
    headers = {"content-type": content_type}
    return lambda url: _outcome(httpx.post(url + "/v1/verify", content=body, headers=headers, timeout=60))


def raw_multipart(filename: bytes) -> Callable[[str], Outcome]:
    """A multipart body whose filename is not UTF-8 (httpx refuses to encode one)."""
    boundary = b"faceseal-robustness"
    body = b""
    for field, name, data in ((b"selfie", filename, SELFIE), (b"reference", b"r.jpg", REFERENCE)):
        body += (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + field + b'"; filename="' + name
                 + b'"\r\nContent-Type: image/jpeg\r\n\r\n' + data + b"\r\n")
    body += b"--" + boundary + b"--\r\n"
    return post_raw(body, "multipart/form-data; boundary=" + boundary.decode())


def png_bomb(side: int = 50_000) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    rows = zlib.compress(b"\x00" * (side * 3 + 1) * 8, 9)  # a few rows; the header promises 50000
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def jpeg_with_huge_exif() -> bytes:
    image = Image.open(io.BytesIO(SELFIE))
    exif = Image.Exif()
    exif[0x010E] = "A" * 60_000  # ImageDescription: an almost-full 64 KiB APP1 segment
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, exif=exif.tobytes())
    return buffer.getvalue()


def slow_body(url: str) -> Outcome:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(f"POST /v1/verify HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                     "Content-Length: 1000000\r\n\r\n{\"selfie\": \"".encode())
        reply = ""
        while '"request_id"' not in reply:
            chunk = conn.recv(65536).decode(errors="replace")
            if not chunk:
                break
            reply += chunk
    status = int(reply.split(" ", 2)[1])
    code = reply.split('"code":"', 1)[1].split('"', 1)[0] if '"code":"' in reply else "-"
    return Outcome(status, code)


def overload(url: str) -> Outcome:
    """32 simultaneous verifies against 2 slots + a queue of 8: the excess must get 429 at once."""
    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as client:
            return await asyncio.gather(*(client.post(url + "/v1/verify", files=_multipart(SELFIE)) for _ in range(32)))
    responses = asyncio.run(burst())
    refused = [r for r in responses if r.status_code == 429]
    assert all(r.headers.get("retry-after") for r in refused)
    assert all(r.status_code in (200, 429) for r in responses), [r.status_code for r in responses]
    return Outcome(429, "overloaded") if refused else Outcome(200, "-")


# ---- Issue 13, rows 1, 2, 9, 10, 12, 13: metric labels, onnxruntime telemetry, wrong-key throttling,
# server-made request ids, /metrics off the API port, the healthcheck's port. Rows 1, 2 and 9 start a server
# of their own (its /metrics listener, an empty HOME, API keys); the others use the bench's server.
TOKEN = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"  # what h11 accepts in a method


@contextmanager
def own_server(env: dict[str, str] | None = None) -> Iterator[Server]:
    with tempfile.TemporaryDirectory() as tmp, running(Path(tmp), env) as server:
        yield server


def random_methods(_: str) -> Outcome:
    """Row 1: 200 random method tokens on random paths, then one 8,000-character method."""
    rng = random.Random(13)
    with own_server() as server:
        for path in ("/v1/verify", "/no-such-path"):  # the fixed labels they map to exist from here on
            raw_status(server.url, "PROBE", path)
        before = metric_series(server)
        for _round in range(200):
            token = "".join(rng.choice(TOKEN) for _letter in range(rng.randint(1, 40)))
            raw_status(server.url, token, rng.choice(["/v1/verify", "/" + token]))
        status = raw_status(server.url, "M" * 8000, "/v1/verify")
        return Outcome(status, f"series +{metric_series(server) - before}")


def onnxruntime_telemetry(_: str) -> Outcome:
    """Row 2: a verify with HOME empty and ORT_DISABLE_TELEMETRY=0 asked for; nothing may appear under HOME."""
    with tempfile.TemporaryDirectory() as home:
        with own_server({"HOME": home, "ORT_DISABLE_TELEMETRY": "0"}) as server:
            status = httpx.post(server.url + "/v1/verify", files=_multipart(SELFIE), timeout=60).status_code
            not_json = [line for line in server.logs().splitlines() if not line.startswith("{")]
        written = list(Path(home).rglob("*"))
    return Outcome(status, f"HOME +{len(written)}, {len(not_json)} non-JSON")


def wrong_keys(spoof_forwarded_for: bool) -> Callable[[str], Outcome]:
    """Row 9: 700 wrong keys from 127.0.0.1 (with a new X-Forwarded-For each, when spoofing), then the right
    key from 127.0.0.2 must still be served."""
    def send(_: str) -> Outcome:
        with tempfile.TemporaryDirectory() as tmp:
            keys = Path(tmp) / "keys.json"
            key = create_key(keys, "bench")
            with own_server({"FACESEAL_AUTH_DISABLED": "false", "FACESEAL_API_KEYS_FILE": str(keys)}) as server:
                with httpx.Client(timeout=30) as client:
                    for attempt in range(700):
                        spoofed = {"X-Forwarded-For": f"198.51.{attempt // 250}.{attempt % 250 + 1}"}
                        last = client.get(server.url + "/v1/models", headers={
                            "Authorization": "Bearer fs_guess", **(spoofed if spoof_forwarded_for else {})})
                neighbour = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=30)
                with neighbour:
                    served = neighbour.get(server.url + "/v1/models", headers={"Authorization": f"Bearer {key}"})
        return _outcome(last) if served.status_code == 200 else Outcome(served.status_code, "neighbour refused")
    return send


def one_client_request_id(url: str) -> Outcome:
    """Row 10: two decisions sent with one X-Request-ID must get two request ids."""
    answers = [httpx.post(url + "/v1/verify", files=_multipart(SELFIE), headers={"X-Request-ID": "same"}, timeout=60)
               for _ in range(2)]
    return Outcome(answers[-1].status_code, f"{len({a.json()['request_id'] for a in answers})} request ids")


def metrics_on_the_api_port(url: str) -> Outcome:
    """Row 12: the API port does not serve /metrics (tenant ids and volumes)."""
    return _outcome(httpx.get(url + "/metrics", timeout=10))


def healthcheck(url: str) -> Outcome:
    """Row 13: the image's healthcheck, pointed at this server's process, probes the port it was given."""
    port = url.rsplit(":", 1)[1].encode()
    pid = next(int(path.parent.name) for path in Path("/proc").glob("[0-9]*/cmdline")
               if {b"serve", port} <= set(path.read_bytes().split(b"\0")))
    # Fixed argv, no shell: our own module.
    check = subprocess.run([sys.executable, "-m", "app.healthcheck", "--pid", str(pid)], timeout=30)  # nosec B603
    return Outcome(200, "healthy") if check.returncode == 0 else Outcome(503, "unhealthy")


def rows_1_2_9_10_12_13() -> list[Attack]:
    return [
        Attack("random HTTP methods and paths (201)", Outcome(405, "series +0"), random_methods),
        Attack("onnxruntime telemetry (empty HOME)", Outcome(200, "HOME +0, 0 non-JSON"), onnxruntime_telemetry),
        Attack("700 wrong API keys", Outcome(429, "auth_throttled"), wrong_keys(spoof_forwarded_for=False)),
        Attack("700 wrong keys, new X-Forwarded-For each", Outcome(429, "auth_throttled"),
               wrong_keys(spoof_forwarded_for=True)),
        Attack("two decisions, one client X-Request-ID", Outcome(200, "2 request ids"), one_client_request_id),
        Attack("/metrics on the API port", Outcome(404, "not_found"), metrics_on_the_api_port),
        Attack("healthcheck of a server on another port", Outcome(200, "healthy"), healthcheck),
    ]
# ---- end of rows 1, 2, 9, 10, 12, 13


def idle_and_trickling(url: str, each: int = 150, within_s: float = 15) -> Outcome:
    """`each` connections trickling a header line a second and `each` sending nothing, /healthz asked
    meanwhile: the answer most of them got (408 from the head deadline; connections shed over the cap get
    none) and how many were still open after `within_s`."""
    trickling = [connect(url) for _ in range(each)]
    for conn in trickling:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: faceseal\r\n")
    replies = {conn: b"" for conn in [*trickling, *(connect(url) for _ in range(each))]}
    still_open, healthy = set(replies), True
    with selectors.DefaultSelector() as selector:
        for conn in replies:
            selector.register(conn, selectors.EVENT_READ)
        deadline = time.monotonic() + within_s
        while still_open and time.monotonic() < deadline:
            try:
                healthy &= httpx.get(url + "/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                healthy = False
            for conn in still_open.intersection(trickling):
                with contextlib.suppress(OSError):
                    conn.sendall(b"X-Trickle: 1\r\n")
            for key, _ in selector.select(timeout=1):
                ready = key.fileobj
                assert isinstance(ready, socket.socket)
                conn = ready
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    chunk = b""
                replies[conn] += chunk
                if not chunk:
                    still_open.discard(conn)
                    selector.unregister(conn)
    for conn in replies:
        conn.close()
    statuses = Counter(answer(reply).status for reply in replies.values() if reply)
    status = statuses.most_common(1)[0][0] if statuses else 0
    return Outcome(status, f"{len(still_open)} of {len(replies)} open" + ("" if healthy else ", /healthz failed"))


def docs_offline(url: str) -> Outcome:
    """/docs and every file it loads come from this service, under a CSP that lets its scripts run."""
    page = httpx.get(url + "/docs", timeout=10)
    if page.status_code != 200:
        return _outcome(page)
    assets = [urljoin(url + "/docs", link) for link in re.findall(r'(?:src|href)="([^"]+)"', page.text)]
    foreign = sorted({urlsplit(asset).netloc for asset in assets} - {urlsplit(url).netloc})
    if foreign:
        return Outcome(200, "loads from " + ", ".join(foreign))
    missing = [urlsplit(asset).path for asset in assets if httpx.get(asset, timeout=10).status_code != 200]
    if missing:
        return Outcome(200, "missing " + ", ".join(missing))
    if "script-src 'self'" not in page.headers.get("content-security-policy", ""):
        return Outcome(200, "CSP blocks its scripts")
    return Outcome(200, "assets self-hosted")


def json_with_unknown_field(body_bytes: int) -> bytes:
    """A valid verify in JSON plus an unknown field holding an array of ~body_bytes / 2 elements."""
    valid = (b'{"selfie": "' + base64.b64encode(SELFIE) + b'", "reference": "' + base64.b64encode(REFERENCE)
             + b'", "x": [')
    return valid + b"0," * ((body_bytes - len(valid)) // 2 - 1) + b"0]}"


def twice_at_once(send: Callable[[str], Outcome]) -> Callable[[str], Outcome]:
    """Two of the same attack in parallel; the answer when both agree."""
    def both(url: str) -> Outcome:
        with ThreadPoolExecutor(2) as pool:
            first, second = pool.map(send, [url, url])
        return first if first == second else Outcome(0, f"{show(first)} / {show(second)}")
    return both


def padded(image: bytes, size: int) -> bytes:
    """A valid JPEG grown to `size` bytes with data after its end marker, which decoders never read."""
    return image + b"\0" * (size - len(image))


def bodies_in_flight(count: int, image_bytes: int) -> Callable[[str], Outcome]:
    """`count` verifies at once, each a body of two `image_bytes` images: only MAX_CONCURRENCY + MAX_QUEUE
    bodies may be read and held; the rest must be refused (429) before their body is read."""
    boundary = "faceseal-bodies"
    body = b"".join(b"--" + boundary.encode() + b'\r\nContent-Disposition: form-data; name="' + name + b'"; filename="'
                    + name + b'.jpg"\r\nContent-Type: image/jpeg\r\n\r\n' + padded(image, image_bytes) + b"\r\n"
                    for name, image in ((b"selfie", SELFIE), (b"reference", REFERENCE)))
    body += b"--" + boundary.encode() + b"--\r\n"
    headers = {"content-type": "multipart/form-data; boundary=" + boundary}

    def send(url: str) -> Outcome:
        async def burst() -> list[httpx.Response]:
            async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=count)) as client:
                return await asyncio.gather(*(client.post(url + "/v1/verify", content=body, headers=headers)
                                              for _ in range(count)))
        responses = asyncio.run(burst())
        refused = [r for r in responses if r.status_code == 429]
        assert all(r.headers.get("retry-after") for r in refused)
        assert all(r.status_code in (200, 429, 503) for r in responses), [r.status_code for r in responses]
        return Outcome(429, "overloaded") if refused else Outcome(200, "-")
    return send


def gradient_png(width: int, height: int) -> bytes:
    """Cheap to make and decode, and not one flat colour (which is refused as blank)."""
    ramp = np.add.outer(np.linspace(0, 127, height, dtype=np.uint8), np.linspace(0, 127, width, dtype=np.uint8))
    return cv2.imencode(".png", cv2.merge([ramp] * 3), [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes()


def flat_png(side: int) -> bytes:
    return cv2.imencode(".png", np.full((side, side, 3), 127, np.uint8))[1].tobytes()


def no_face(image: bytes, tile: int = 64) -> bytes:
    """The photo cut into tiles and shuffled: the same size and texture, no face."""
    rgb = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR)
    assert rgb is not None, "not an image"
    rows, cols = rgb.shape[0] // tile, rgb.shape[1] // tile
    tiles = rgb[: rows * tile, : cols * tile].reshape(rows, tile, cols, tile, 3).swapaxes(1, 2)
    tiles = tiles.reshape(-1, tile, tile, 3)
    tiles = tiles[np.random.default_rng(0).permutation(len(tiles))]
    shuffled = tiles.reshape(rows, cols, tile, tile, 3).swapaxes(1, 2).reshape(rows * tile, cols * tile, 3)
    return cv2.imencode(".jpg", shuffled, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def frames(selfie: bytes, reference: bytes, count: int = 5, content_type: str = "image/jpeg") -> Parts:
    return ([("selfie", (f"s{i}", selfie, content_type)) for i in range(count)]
            + [("reference", ("r", reference, content_type))])


def attacks() -> list[Attack]:
    truncated = SELFIE[:600]
    flat = flat_png(6323)  # 40.0 MP, within the per-image limit
    return [
        Attack("decompression bomb (50000x50000 PNG)", Outcome(413, "image_too_large"),
               post_files(_multipart(png_bomb()))),
        Attack("truncated JPEG", Outcome(422, "corrupt_image"), post_files(_multipart(truncated))),
        Attack("polyglot: PNG magic over JPEG body", Outcome(422, "corrupt_image"),
               post_files(_multipart(b"\x89PNG\r\n\x1a\n" + SELFIE[8:]))),
        Attack("zero-byte file", Outcome(422, "empty_image"), post_files(_multipart(b""))),
        Attack("huge EXIF (60 KB APP1)", Outcome(200, "-"), post_files(_multipart(jpeg_with_huge_exif()))),
        Attack("lying part content-type (text/plain)", Outcome(200, "-"),
               post_files(_multipart(SELFIE, selfie_type="text/plain"))),
        Attack("unsupported request media type", Outcome(415, "unsupported_media_type"),
               post_raw(b"<xml/>", "application/xml")),
        Attack("base64 garbage", Outcome(400, "invalid_base64"),
               post_raw(b'{"selfie": "!!!", "reference": "AAAA"}', "application/json")),
        Attack("base64 wrong padding", Outcome(400, "invalid_base64"),
               post_raw(b'{"selfie": "QUJD=", "reference": "AAAA"}', "application/json")),
        Attack("deeply nested JSON (100000 levels)", Outcome(400, "malformed_json"),
               post_raw(b"[" * 100_000 + b"]" * 100_000, "application/json")),
        Attack("huge JSON (30 MB)", Outcome(413, "body_too_large"),
               post_raw(b'{"selfie": "' + b"A" * 30_000_000 + b'"}', "application/json")),
        Attack("many multipart parts (1000)", Outcome(400, "too_many_images"),
               post_files([("selfie", (f"{i}.jpg", b"x", "image/jpeg")) for i in range(1000)])),
        Attack("slow body (stalls after 12 bytes)", Outcome(408, "body_timeout"), slow_body),
        Attack("non-UTF-8 filename", Outcome(200, "-"), raw_multipart(b"\xff\xfe\x80.jpg")),
        Attack("base64 JSON with a data: URL prefix", Outcome(200, "-"), post_raw(
            b'{"selfie": "data:image/jpeg;base64,' + base64.b64encode(SELFIE) + b'", "reference": "'
            + base64.b64encode(REFERENCE) + b'"}', "application/json")),
        Attack("overload burst (32 at once)", Outcome(429, "overloaded"), overload),
        *rows_1_2_9_10_12_13(),
        # Issue 13 rows 7, 8 and 11: head deadline and connection cap, request framing, /docs offline.
        Attack("7: 150 trickling heads + 150 silent", Outcome(408, "0 of 300 open"), idle_and_trickling),
        Attack("8: Content-Length + Transfer-Encoding", Outcome(400, "malformed_http"), raw_request(
            b"POST /v1/verify HTTP/1.1\r\nHost: faceseal\r\nContent-Type: application/json\r\nContent-Length: 4\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: faceseal\r\n\r\n")),
        Attack("8: bare LF line endings", Outcome(400, "malformed_http"), raw_request(
            b"GET /healthz HTTP/1.1\nHost: faceseal\n\n")),
        Attack("8: HTTP/1.0 with Transfer-Encoding", Outcome(400, "malformed_http"), raw_request(
            b"POST /v1/verify HTTP/1.0\r\nHost: faceseal\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")),
        Attack("11: /docs offline", Outcome(200, "assets self-hosted"), docs_offline),
        # Issue 13, rows 3-6: JSON bloat, bodies in flight, extreme geometry, pixel-heavy frames.
        Attack("24 MiB JSON, unknown field: 11M-element array (x2)", Outcome(400, "unknown_field"),
               twice_at_once(post_raw(json_with_unknown_field(24 * MIB), "application/json"))),
        Attack("32 x 20 MiB bodies at once", Outcome(429, "overloaded"), bodies_in_flight(32, 10 * MIB - 4096)),
        *(Attack(f"extreme geometry {w}x{h} (gradient PNG)", Outcome(200, "-"),
                 post_files(_multipart(gradient_png(w, h), selfie_type="image/png")))
          for w, h in ((1000, 1), (1, 1000), (3000, 3), (12000, 12))),
        Attack("5 frames + reference, 6323^2 flat PNGs", Outcome(413, "too_many_pixels"),
               post_files(frames(flat, flat, content_type="image/png"))),
        Attack("selfie + reference, 6323^2 flat PNGs", Outcome(422, "blank_image"),
               post_files(frames(flat, flat, 1, "image/png"))),
        Attack("5 frames + reference without a face", Outcome(200, "-"),
               post_files(frames(no_face(SELFIE), no_face(REFERENCE)))),
    ]


def show(outcome: Outcome | str) -> str:
    return f"{outcome.status} {outcome.code}" if isinstance(outcome, Outcome) else outcome


class HealthProbe:
    """/healthz every 20 ms on its own connection while an attack runs: the event loop must keep answering."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.latencies_ms: list[float] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        with httpx.Client(timeout=30) as client:
            while True:  # at least once, however short the attack
                started = time.perf_counter()
                try:
                    client.get(self.url + "/healthz")
                except httpx.HTTPError:
                    pass  # counted at the time it took to fail
                self.latencies_ms.append((time.perf_counter() - started) * 1000)
                if self._done.wait(0.02):
                    return

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    def p99_ms(self) -> float:
        ranked = sorted(self.latencies_ms)
        return ranked[math.ceil(0.99 * len(ranked)) - 1]


@dataclass(frozen=True)
class Row:
    name: str
    expected: Outcome
    got: Outcome | str
    ok: bool  # the expected answer, and a valid request succeeded afterwards
    latency_ms: float
    healthz_p99_ms: float
    rss_before_mib: float
    rss_peak_mib: float
    rss_after_mib: float
    settled_s: float  # until RSS was back within 25 % of before (or the settle time ran out)

    @property
    def recovered(self) -> bool:
        return self.rss_after_mib <= 1.25 * self.rss_before_mib


def settle(pid: int, before_mib: float, limit_s: float) -> tuple[float, float]:
    """RSS once back within 25 % of `before_mib`, polled for up to `limit_s`; and the seconds it took."""
    started = time.perf_counter()
    while (rss := rss_mib(pid)) > 1.25 * before_mib and time.perf_counter() - started < limit_s:
        time.sleep(0.5)
    return rss, time.perf_counter() - started


def run_attacks(server: Server, settle_s: float = 60) -> list[Row]:
    rows = []
    pid = server.process.pid
    for attack in attacks():
        before = rss_mib(pid)
        reset_peak_rss(pid)
        started = time.perf_counter()
        with HealthProbe(server.url) as probe:
            try:
                got: Outcome | str = attack.send(server.url)
            except Exception as error:  # noqa: BLE001 (reported as a failed row)
                got = f"{type(error).__name__}: {error}"[:60]
        latency = (time.perf_counter() - started) * 1000
        peak = rss_mib(pid, "VmHWM")
        after, settled_s = settle(pid, before, settle_s)
        healthy = httpx.post(server.url + "/v1/verify", files=_multipart(SELFIE), timeout=60).status_code == 200
        rows.append(Row(attack.name, attack.expected, got, got == attack.expected and healthy, latency,
                        probe.p99_ms(), before, peak, after, settled_s))
    return rows
