"""The HTTP/1.1 connection layer: uvicorn's h11 protocol with a head deadline, a connection cap and
strict message framing. uvicorn arms no timer between accepting a connection and the end of its request
head, so connections that send nothing or trickle header lines would otherwise stay open for ever."""

import asyncio
import re
from http import HTTPStatus
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.api.errors import PROBLEM_MEDIA_TYPE, Problem
from app.inference.errors import ProblemCode

BARE_LF = re.compile(rb"(?<!\r)\n")
HEAD_END = b"\r\n\r\n"
MAX_HEAD_BYTES = 16 * 1024  # request line + headers (h11's default); a longer head is refused


class StrictConnection(h11.Connection):
    """h11, refusing what could frame a request differently here than in a proxy in front (request
    smuggling): a bare LF in the head (RFC 9112 §2.2), Transfer-Encoding with Content-Length or in
    HTTP/1.0 (§6.1). h11 itself accepts all three."""

    def next_event(self) -> Any:
        if self.their_state is h11.IDLE and BARE_LF.search(self.trailing_data[0].partition(HEAD_END)[0]):
            raise h11.RemoteProtocolError("bare LF in the request head", error_status_hint=400)
        event = super().next_event()
        if isinstance(event, h11.Request):
            names = {name for name, _ in event.headers}
            if b"transfer-encoding" in names and (b"content-length" in names or event.http_version == b"1.0"):
                raise h11.RemoteProtocolError("Transfer-Encoding with Content-Length or in HTTP/1.0",
                                              error_status_hint=400)
        return event


class GuardedH11Protocol(H11Protocol):
    """One connection. From its accept (or the end of a response on it) to the end of the next request
    head a deadline runs, then 408 and close. Past `max_connections`, the connection that has waited
    longest for a head is closed, so sockets that never send a request cannot crowd out those that do."""

    head_timeout_s: float = 10.0
    max_connections: int = 256

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn = StrictConnection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        self.head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()
        if len(self.connections) > self.max_connections:  # this one is waiting too, so `waiting` is never empty
            waiting = {c: c.head_deadline.when() for c in self.connections
                       if isinstance(c, GuardedH11Protocol) and c.head_deadline is not None}
            oldest = min(waiting, key=waiting.__getitem__)
            oldest._head_received()
            oldest.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_received()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:  # a request head was parsed
            self._head_received()

    def on_response_complete(self) -> None:
        if not self.transport.is_closing():
            self._await_head()
        super().on_response_complete()

    def send_400_response(self, msg: str) -> None:
        self._answer_and_close(ProblemCode.malformed_http, "the request is not well-formed HTTP/1.1", 400)

    def _await_head(self) -> None:
        self._head_received()
        self.head_deadline = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _head_received(self) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
            self.head_deadline = None

    def _head_timed_out(self) -> None:
        self.head_deadline = None
        self._answer_and_close(ProblemCode.head_timeout, f"no complete request head within {self.head_timeout_s:g} s",
                               408)

    def _answer_and_close(self, code: ProblemCode, detail: str, status: int) -> None:
        """A problem+json answer where HTTP still allows one (none after a response has begun), then close."""
        if self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            body = Problem.of(code, detail, status, None).model_dump_json().encode()
            headers = [(b"content-type", PROBLEM_MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode()),
                       (b"connection", b"close")]
            response = h11.Response(status_code=status, headers=headers, reason=HTTPStatus(status).phrase)
            for event in (response, h11.Data(data=body), h11.EndOfMessage()):
                self.transport.write(self.conn.send(event) or b"")
        self.transport.close()


def guarded_http(head_timeout_s: float, max_connections: int) -> type[GuardedH11Protocol]:
    """The protocol class for `uvicorn.run(http=...)`, carrying the service's connection limits."""
    limits = {"head_timeout_s": head_timeout_s, "max_connections": max_connections}
    return type("GuardedH11Protocol", (GuardedH11Protocol,), limits)
