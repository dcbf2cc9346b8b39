"""Caps the body size and the wait between body chunks (slow-body attacks). Its errors are raised where the route
reads the body, so they become problems there like any other refusal."""

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import ApiError
from app.api.middleware.base import HttpMiddleware
from app.inference.errors import ProblemCode


class BodyGuard(HttpMiddleware):
    def __init__(self, app: ASGIApp, max_bytes: int, read_timeout_s: float) -> None:
        super().__init__(app)
        self.max_bytes, self.read_timeout_s = max_bytes, read_timeout_s

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        too_large = ApiError(ProblemCode.body_too_large, f"body exceeds {self.max_bytes} bytes", 413)
        declared_too_large = declared.isdigit() and int(declared) > self.max_bytes
        received = 0

        async def guarded_receive() -> Message:
            nonlocal received
            if declared_too_large:
                raise too_large
            try:
                message = await asyncio.wait_for(receive(), timeout=self.read_timeout_s)
            except TimeoutError:
                raise ApiError(ProblemCode.body_timeout, "request body arrived too slowly", 408) from None
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise too_large
            return message

        await self.app(scope, guarded_receive, send)
