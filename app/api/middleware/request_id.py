"""Names every request. The server chooses the id (a client-chosen one could make two decisions share one audit
id) and answers it as X-Request-ID; a client's own X-Request-ID, when valid, is kept beside it as
`client_request_id` for the audit line."""

import re
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import Message, Receive, Scope, Send

from app.api.middleware.base import HttpMiddleware

CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestId(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = uuid.uuid4().hex
        offered = Headers(scope=scope).get("x-request-id", "")
        state = scope.setdefault("state", {})  # what `request.state` reads
        state["request_id"] = request_id
        state["client_request_id"] = offered if CLIENT_REQUEST_ID.match(offered) else None

        async def send_named(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        await self.app(scope, receive, send_named)
