"""Hostile-input and overload report against a running faceseal on 127.0.0.1, default limits.

    python -m bench.robustness [--soak-seconds 0] [--settle-seconds 60]

Each attack is sent, its answer compared with the expected status and problem code, then a valid
request must still succeed. Prints per attack: expected and actual answer, its latency, the p99 of
/healthz polled while it ran (target < 100 ms), and the server's RSS before, at its peak during the
attack (target < 1.5 GiB) and once back within 25 % of before (waiting up to the settle time).
"""

import argparse
import asyncio
import base64
import io
import math
import socket
import struct
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import httpx
import numpy as np
from PIL import Image

from tests.conftest import VERIFY_IMAGES
from tests.e2e.server import Server, running

SELFIE = (VERIFY_IMAGES / "img1.jpg").read_bytes() if VERIFY_IMAGES.exists() else b""
REFERENCE = (VERIFY_IMAGES / "img2.jpg").read_bytes() if VERIFY_IMAGES.exists() else b""
# Default limits (memory figures hold for them); only the waits are shortened, so the report runs in minutes.
SERVER_ENV = {"FACESEAL_BODY_READ_TIMEOUT_S": "2", "FACESEAL_QUEUE_TIMEOUT_S": "5"}
MIB = 1024 * 1024


@dataclass(frozen=True)
class Outcome:
    status: int
    code: str


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
    return lambda url: _outcome(httpx.post(url + "/v1/verify", content=body, headers={"content-type": content_type}, timeout=60))


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
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


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


def json_with_unknown_field(body_bytes: int) -> bytes:
    """A valid verify in JSON plus an unknown field holding an array of ~body_bytes / 2 elements."""
    valid = b'{"selfie": "' + base64.b64encode(SELFIE) + b'", "reference": "' + base64.b64encode(REFERENCE) + b'", "x": ['
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
                    for name, image in ((b"selfie", SELFIE), (b"reference", REFERENCE))) + b"--" + boundary.encode() + b"--\r\n"
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
    rows, cols = rgb.shape[0] // tile, rgb.shape[1] // tile
    tiles = rgb[: rows * tile, : cols * tile].reshape(rows, tile, cols, tile, 3).swapaxes(1, 2).reshape(-1, tile, tile, 3)
    tiles = tiles[np.random.default_rng(0).permutation(len(tiles))]
    shuffled = tiles.reshape(rows, cols, tile, tile, 3).swapaxes(1, 2).reshape(rows * tile, cols * tile, 3)
    return cv2.imencode(".jpg", shuffled, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def frames(selfie: bytes, reference: bytes, count: int = 5, content_type: str = "image/jpeg") -> Parts:
    return [("selfie", (f"s{i}", selfie, content_type)) for i in range(count)] + [("reference", ("r", reference, content_type))]


def attacks() -> list[Attack]:
    truncated = SELFIE[:600]
    flat = flat_png(6323)  # 40.0 MP, within the per-image limit
    return [
        Attack("decompression bomb (50000x50000 PNG)", Outcome(413, "image_too_large"), post_files(_multipart(png_bomb()))),
        Attack("truncated JPEG", Outcome(422, "corrupt_image"), post_files(_multipart(truncated))),
        Attack("polyglot: PNG magic over JPEG body", Outcome(422, "corrupt_image"), post_files(_multipart(b"\x89PNG\r\n\x1a\n" + SELFIE[8:]))),
        Attack("zero-byte file", Outcome(422, "empty_image"), post_files(_multipart(b""))),
        Attack("huge EXIF (60 KB APP1)", Outcome(200, "-"), post_files(_multipart(jpeg_with_huge_exif()))),
        Attack("lying part content-type (text/plain)", Outcome(200, "-"), post_files(_multipart(SELFIE, selfie_type="text/plain"))),
        Attack("unsupported request media type", Outcome(415, "unsupported_media_type"), post_raw(b"<xml/>", "application/xml")),
        Attack("base64 garbage", Outcome(400, "invalid_base64"), post_raw(b'{"selfie": "!!!", "reference": "AAAA"}', "application/json")),
        Attack("base64 wrong padding", Outcome(400, "invalid_base64"), post_raw(b'{"selfie": "QUJD=", "reference": "AAAA"}', "application/json")),
        Attack("deeply nested JSON (100000 levels)", Outcome(400, "malformed_json"), post_raw(b"[" * 100_000 + b"]" * 100_000, "application/json")),
        Attack("huge JSON (30 MB)", Outcome(413, "body_too_large"), post_raw(b'{"selfie": "' + b"A" * 30_000_000 + b'"}', "application/json")),
        Attack("many multipart parts (1000)", Outcome(400, "malformed_multipart"), post_files([("selfie", (f"{i}.jpg", b"x", "image/jpeg")) for i in range(1000)])),
        Attack("slow body (stalls after 12 bytes)", Outcome(408, "body_timeout"), slow_body),
        Attack("non-UTF-8 filename", Outcome(200, "-"), raw_multipart(b"\xff\xfe\x80.jpg")),
        Attack("base64 JSON with a data: URL prefix", Outcome(200, "-"), post_raw(
            b'{"selfie": "data:image/jpeg;base64,' + base64.b64encode(SELFIE) + b'", "reference": "' + base64.b64encode(REFERENCE) + b'"}', "application/json")),
        Attack("overload burst (32 at once)", Outcome(429, "overloaded"), overload),
        # Issue 13, rows 3-6: JSON bloat, bodies in flight, extreme geometry, pixel-heavy frames.
        Attack("24 MiB JSON, unknown field: 11M-element array (x2)", Outcome(400, "unknown_field"),
               twice_at_once(post_raw(json_with_unknown_field(24 * MIB), "application/json"))),
        Attack("32 x 20 MiB bodies at once", Outcome(429, "overloaded"), bodies_in_flight(32, 10 * MIB - 4096)),
        *(Attack(f"extreme geometry {w}x{h} (gradient PNG)", Outcome(200, "-"),
                 post_files(_multipart(gradient_png(w, h), selfie_type="image/png")))
          for w, h in ((1000, 1), (1, 1000), (3000, 3), (12000, 12))),
        Attack("5 frames + reference, 6323^2 flat PNGs", Outcome(413, "too_many_pixels"),
               post_files(frames(flat, flat, content_type="image/png"))),
        Attack("selfie + reference, 6323^2 flat PNGs", Outcome(422, "blank_image"), post_files(frames(flat, flat, 1, "image/png"))),
        Attack("5 frames + reference without a face", Outcome(200, "-"),
               post_files(frames(no_face(SELFIE), no_face(REFERENCE)))),
    ]


def show(outcome: Outcome | str) -> str:
    return f"{outcome.status} {outcome.code}" if isinstance(outcome, Outcome) else outcome


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_rss(pid: int) -> None:
    """Restart the kernel's high-water mark (VmHWM), so each attack's peak is its own."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


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

    def __enter__(self) -> "HealthProbe":
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


def request_ms(url: str, files: Parts, runs: int = 3) -> float:
    """The fastest of `runs` requests: the cost of the request itself on a shared machine."""
    best = math.inf
    for _ in range(runs):
        started = time.perf_counter()
        httpx.post(url + "/v1/verify", files=files, timeout=120).raise_for_status()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--soak-seconds", type=float, default=0)
    parser.add_argument("--settle-seconds", type=float, default=60, help="longest wait for RSS to come back")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running(Path(tmp), SERVER_ENV) as server:
        rows = run_attacks(server, args.settle_seconds)
        print(f"{'attack':<52} {'expected':<24} {'got':<24} {'status':<6} {'ms':>7} {'healthz p99':>11} "
              f"{'RSS MiB before':>14} {'peak':>6} {'after':>6} {'after s':>7}")
        for row in rows:
            print(f"{row.name:<52} {show(row.expected):<24} {show(row.got):<24} {'PASS' if row.ok else 'FAIL':<6} "
                  f"{row.latency_ms:7.0f} {row.healthz_p99_ms:11.1f} {row.rss_before_mib:14.0f} {row.rss_peak_mib:6.0f} "
                  f"{row.rss_after_mib:6.0f} {row.settled_s:7.1f}")
        print(f"{sum(r.ok for r in rows)} passed, {sum(not r.ok for r in rows)} failed; "
              f"healthz p99 >= 100 ms: {[r.name for r in rows if not r.healthz_p99_ms < 100]}; "
              f"peak RSS >= 1.5 GiB: {[r.name for r in rows if not r.rss_peak_mib < 1536]}; "
              f"RSS not back within 25 %: {[r.name for r in rows if not r.recovered]}")
        face, faceless = frames(SELFIE, REFERENCE), frames(no_face(SELFIE), no_face(REFERENCE))
        face_ms, faceless_ms = request_ms(server.url, face), request_ms(server.url, faceless)
        print(f"verify, 5 frames + reference: with faces {face_ms:.0f} ms, without {faceless_ms:.0f} ms "
              f"({faceless_ms / face_ms:.2f}x)")
        if args.soak_seconds:
            from bench.soak import soak

            soak(server, args.soak_seconds)


if __name__ == "__main__":
    main()
