"""/v1/verify traffic on the dev image pairs: the closed loop of bench.load, bench.soak and deploy.capacity, and one
verify at a time for deploy.capacity's open loop."""

import asyncio
import csv
import functools
import re
import time
from collections import Counter
from typing import TypedDict
from urllib.parse import urlsplit

import httpx
import numpy as np

from devkit.paths import DATA, VERIFY_IMAGES


class Level(TypedDict):
    """One concurrency level: requests answered 200, their rate and latency percentiles (ms), other answers."""

    c: int
    ok: int
    rps: float
    p50: float
    p95: float
    p99: float
    other: dict[str, int]


def pairs(limit: int = 12) -> list[tuple[bytes, bytes]]:
    rows = list(csv.DictReader((DATA / "verify-dev" / "pairs.csv").open()))[:limit]
    return [((VERIFY_IMAGES / r["file_x"]).read_bytes(), (VERIFY_IMAGES / r["file_y"]).read_bytes()) for r in rows]


@functools.cache
def verify_body(selfie: bytes, reference: bytes) -> tuple[bytes, str]:
    """A verify's multipart body and content type, encoded once per pair: the load generator shares the server's
    cores, and encoding the same megabytes for every request took 2.3 ms of CPU per full-size verify from them."""
    files = [("selfie", ("s.jpg", selfie, "image/jpeg")), ("reference", ("r.jpg", reference, "image/jpeg"))]
    request = httpx.Request("POST", "http://127.0.0.1/v1/verify", files=files)
    return request.read(), request.headers["Content-Type"]


async def post_verify(client: httpx.AsyncClient, url: str, pair: tuple[bytes, bytes],
                      statuses: Counter[int | str], latencies: list[float]) -> int | str:
    """One verify of `pair`; its status (or transport error) is counted and its latency kept when 200."""
    body, content_type = verify_body(*pair)
    started = time.perf_counter()
    try:
        response = await client.post(url + "/v1/verify", content=body, headers={"Content-Type": content_type})
    except httpx.TransportError as error:
        statuses[type(error).__name__] += 1
        return type(error).__name__
    statuses[response.status_code] += 1
    if response.status_code == 200:
        latencies.append((time.perf_counter() - started) * 1000)
    return response.status_code


CONTENT_LENGTH = re.compile(rb"(?i)\r\ncontent-length: *(\d+)")
CLOSING = re.compile(rb"(?i)\r\nconnection: *close")
STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3}) ")


@functools.cache
def encoded_verify(authority: str, selfie: bytes, reference: bytes) -> bytes:
    """A whole /v1/verify request (head and multipart body) for `authority` (host:port), encoded once and
    shared by every client of the loop."""
    body, content_type = verify_body(selfie, reference)
    return (f"POST /v1/verify HTTP/1.1\r\nHost: {authority}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


class Connection:
    """One keep-alive HTTP/1.1 connection sending encoded requests and reading each answer's head and body.

    The closed loop's client: it shares the server's cores, and httpx spent 2.0 ms of CPU per verify there, taken
    from the server being measured; a bare connection spends 0.25 ms."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"{url}: expected http://host:port")
        self.authority = parts.netloc
        self._host, self._port = parts.hostname, parts.port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def send(self, request: bytes) -> int:
        """The answer's status. An answer that is not HTTP/1.x with a Content-Length raises ConnectionError; the
        connection is opened again next time after any error or a server's "connection: close"."""
        if self._streams is None:
            self._streams = await asyncio.open_connection(self._host, self._port)
        reader, writer = self._streams
        try:
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status, length = STATUS_LINE.match(head), CONTENT_LENGTH.search(head)
            if status is None or length is None:
                raise ConnectionError(f"not an HTTP/1.x answer with a Content-Length: {head[:80]!r}")
            await reader.readexactly(int(length.group(1)))
        except BaseException:
            self.close()
            raise
        if CLOSING.search(head):
            self.close()
        return int(status.group(1))

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


async def drive(url: str, images: list[tuple[bytes, bytes]], concurrency: int, deadline: float,
                statuses: Counter[int | str], latencies: list[float]) -> None:
    """`concurrency` clients, each on its own connection, posting /v1/verify back to back until `deadline`
    (monotonic)."""

    async def client_loop(index: int) -> None:
        connection = Connection(url)
        requests = [encoded_verify(connection.authority, *pair) for pair in images]
        n = index
        try:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    status: int | str = await asyncio.wait_for(connection.send(requests[n % len(requests)]), 60)
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:  # a timeout too
                    status = type(error).__name__
                statuses[status] += 1
                if status == 200:
                    latencies.append((time.perf_counter() - started) * 1000)
                n += concurrency
                if status in (429, 503):
                    await asyncio.sleep(0.2)  # a polite client backs off instead of spinning on the CPU we measure
        finally:
            connection.close()

    await asyncio.gather(*(client_loop(i) for i in range(concurrency)))


async def run_level(url: str, images: list[tuple[bytes, bytes]], concurrency: int, duration: float) -> Level:
    latencies: list[float] = []
    statuses: Counter[int | str] = Counter()
    started = time.monotonic()
    await drive(url, images, concurrency, started + duration, statuses, latencies)
    elapsed = time.monotonic() - started
    values = np.array(latencies) if latencies else np.array([float("nan")])
    return {
        "c": concurrency, "ok": len(latencies), "rps": len(latencies) / elapsed,
        "p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95)),
        "p99": float(np.percentile(values, 99)),
        "other": {str(k): v for k, v in statuses.items() if k != 200},
    }

