"""HTTP over a bare socket: requests no HTTP client would send (any method token, ambiguous framing) and the
raw answer read back, for the connection-layer tests and the hostile-input bench."""

import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    status: int
    code: str


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def read_until_closed(conn: socket.socket, within_s: float) -> tuple[bytes, bool]:
    """What the server sends on `conn` within `within_s`, and whether it closed the connection."""
    data, deadline = b"", time.monotonic() + within_s
    try:
        while (left := deadline - time.monotonic()) > 0:
            conn.settimeout(left)
            chunk = conn.recv(65536)
            if not chunk:
                return data, True
            data += chunk
    except TimeoutError:
        pass
    except ConnectionResetError:
        return data, True
    return data, False


def answer(data: bytes) -> Outcome:
    """Status and problem code of the first HTTP answer in raw bytes (status 0: no answer)."""
    if not data.startswith(b"HTTP/1."):
        return Outcome(0, "-")
    code = re.search(rb'"code":\s*"([^"]+)"', data)
    return Outcome(int(data.split(b" ", 2)[1]), code.group(1).decode() if code else "-")


def raw_request(request: bytes) -> Callable[[str], Outcome]:
    """`request` sent as is on one connection: its first answer, noting further answers or a connection left open."""
    def send(url: str) -> Outcome:
        with connect(url) as conn:
            conn.sendall(request)
            data, closed = read_until_closed(conn, 3)
        answers = data.count(b"HTTP/1.1 ")
        notes = [f"{answers} answers"] * (answers > 1) + ["kept open"] * (not closed)
        return Outcome(answer(data).status, ", ".join([answer(data).code, *notes]))
    return send


def raw_status(url: str, method: str, path: str) -> int:
    """One request over a bare socket, so any token can be the method (HTTP clients validate theirs)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    return int(reply.split(b" ", 2)[1])
