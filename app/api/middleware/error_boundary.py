"""The one boundary for errors no handler knows: logged by type with the request's id, answered as a generic 500
`internal_error` problem. The exception's text never leaves the service (it could name a path or a value)."""

import logging

from starlette.types import Message, Receive, Scope, Send

from app.api.errors import problem_response
from app.api.middleware.base import HttpMiddleware
from app.inference.errors import ProblemCode

_logger = logging.getLogger("faceseal.api")


class ErrorBoundary(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        answered = False

        async def send_tracked(message: Message) -> None:
            nonlocal answered
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception as error:
            request_id = scope.get("state", {}).get("request_id")
            _logger.error("unhandled error", exc_info=error,
                          extra={"fields": {"request_id": request_id, "path": scope["path"]}})
            if answered:  # too late for a problem: the server closes the connection
                raise
            answer = problem_response(ProblemCode.internal_error, "the request could not be processed", 500,
                                      request_id)
            await answer(scope, receive, send)
