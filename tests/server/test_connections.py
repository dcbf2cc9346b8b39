"""The connection layer of a real server over raw sockets: the head deadline, the idle timeout, the
connection cap, and request framing that could be read differently by a proxy (issue 13 rows 7 and 8)."""

import concurrent.futures
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.attacks import idle_and_trickling
from devkit.rawhttp import Outcome, answer, connect, raw_request, read_until_closed
from devkit.server import Server, running, start

HEAD_TIMEOUT_S, KEEP_ALIVE_S, MAX_CONNECTIONS = 2, 1, 64


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {"FACESEAL_HEAD_TIMEOUT_S": str(HEAD_TIMEOUT_S), "FACESEAL_KEEP_ALIVE_S": str(KEEP_ALIVE_S),
           "FACESEAL_MAX_CONNECTIONS": str(MAX_CONNECTIONS)}
    with running(tmp_path_factory.mktemp("connections"), env) as server:
        yield server


def open_fds(server: Server) -> int:
    return len(os.listdir(f"/proc/{server.process.pid}/fd"))


def test_a_silent_connection_gets_408_at_the_head_deadline(server: Server) -> None:
    with connect(server.url) as conn:
        started = time.monotonic()
        reply, closed = read_until_closed(conn, HEAD_TIMEOUT_S + 3)
    assert closed and HEAD_TIMEOUT_S - 0.2 < time.monotonic() - started < HEAD_TIMEOUT_S + 1.5
    assert answer(reply) == Outcome(408, "head_timeout")
    assert b"content-type: application/problem+json" in reply.lower()
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["status"] == 408


def test_trickling_header_lines_does_not_move_the_deadline(server: Server) -> None:
    reply, closed = b"", False
    with connect(server.url) as conn:
        started = time.monotonic()
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: faceseal\r\n")
        for _ in range(2 * HEAD_TIMEOUT_S + 2):
            data, closed = read_until_closed(conn, 0.5)
            reply += data
            if closed or reply:
                break
            conn.sendall(b"X-Trickle: 1\r\n")
        closed = closed or read_until_closed(conn, 1)[1]
    assert closed and time.monotonic() - started < HEAD_TIMEOUT_S + 1.5
    assert answer(reply) == Outcome(408, "head_timeout")


def test_an_idle_connection_closes_after_keep_alive_and_a_slow_next_head_at_the_deadline(server: Server) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: faceseal\r\n\r\n"
    with connect(server.url) as conn:
        conn.sendall(request)
        reply, _ = read_until_closed(conn, 0.5)
        assert answer(reply).status == 200
        started = time.monotonic()
        reply, closed = read_until_closed(conn, KEEP_ALIVE_S + 3)
        assert closed and reply == b"" and time.monotonic() - started < KEEP_ALIVE_S + 1.5
    with connect(server.url) as conn:
        conn.sendall(request)
        read_until_closed(conn, 0.5)
        started = time.monotonic()
        conn.sendall(b"GET /healthz HTTP/1.1\r\n")  # the next head, never finished
        reply, closed = read_until_closed(conn, HEAD_TIMEOUT_S + 3)
    assert closed and answer(reply) == Outcome(408, "head_timeout")
    assert HEAD_TIMEOUT_S - 0.8 < time.monotonic() - started < HEAD_TIMEOUT_S + 1.5


def test_the_deadline_ends_with_the_head_a_slow_body_is_answered(server: Server) -> None:
    """A body that takes longer than the head deadline (each pause shorter than the body timeout) is
    read and answered by the application."""
    pieces = (b'{"sel', b'fie": ', b'[]}')
    with connect(server.url) as conn:
        conn.sendall(b"POST /v1/verify HTTP/1.1\r\nHost: faceseal\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(b"".join(pieces)))
        for piece in pieces:
            time.sleep(HEAD_TIMEOUT_S * 0.6)
            conn.sendall(piece)
        reply, _ = read_until_closed(conn, 5)
    assert answer(reply) == Outcome(400, "missing_field")


def test_300_idle_and_trickling_connections_are_capped_closed_and_do_not_block_healthz(server: Server) -> None:
    """Issue 13 row 7 at its size: /healthz keeps answering, none is open past the deadline, and once the
    burst is accepted (asyncio accepts it whole, then each new connection sheds the one that has waited
    longest for a head) the server holds about MAX_CONNECTIONS."""
    baseline = open_fds(server)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        attack = pool.submit(idle_and_trickling, server.url, 150, HEAD_TIMEOUT_S + 6)
        held = []
        while not attack.done():
            held.append((time.monotonic() - started, open_fds(server) - baseline))
            time.sleep(0.05)
        assert attack.result() == Outcome(408, "0 of 300 open")
    # + a few being shed: a closed transport lets go of its socket on the next event-loop turn
    assert max(count for at, count in held if at > 0.5) <= MAX_CONNECTIONS + 4, held
    assert open_fds(server) <= baseline + 1


@pytest.mark.parametrize("request_bytes", [
    pytest.param(b"POST /v1/verify HTTP/1.1\r\nHost: faceseal\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                 b"GET /healthz HTTP/1.1\r\nHost: faceseal\r\n\r\n",
                 id="content-length-and-transfer-encoding-then-pipelined"),
    pytest.param(b"GET /healthz HTTP/1.1\nHost: faceseal\n\n", id="bare-lf"),
    pytest.param(b"GET /healthz HTTP/1.1\r\nHost: faceseal\nX-Other: 1\r\n\r\n", id="one-bare-lf"),
    pytest.param(b"POST /v1/verify HTTP/1.0\r\nHost: faceseal\r\nContent-Type: application/json\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", id="http-1.0-chunked"),
])
def test_ambiguous_framing_is_answered_400_and_the_connection_closed(server: Server, request_bytes: bytes) -> None:
    assert raw_request(request_bytes)(server.url) == Outcome(400, "malformed_http")


def test_well_framed_requests_still_work_chunked_and_kept_alive(server: Server) -> None:
    chunked = (b"POST /v1/verify HTTP/1.1\r\nHost: faceseal\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
    answers = []
    with connect(server.url) as conn:
        for request in (chunked, b"GET /healthz HTTP/1.1\r\nHost: faceseal\r\n\r\n"):
            conn.sendall(request)
            reply, closed = read_until_closed(conn, 0.5)
            answers.append((answer(reply), closed))
    assert answers == [(Outcome(400, "missing_field"), False), (Outcome(200, "-"), False)]


def test_connection_settings_are_validated(tmp_path: Path) -> None:
    server = start(tmp_path, {"FACESEAL_MAX_CONNECTIONS": "1"})
    assert server.process.wait(timeout=60) == 2
    assert "FACESEAL_MAX_CONNECTIONS" in server.logs()
