"""`faceseal_http_requests_total` and `faceseal_http_request_duration_seconds` for every answer, by route template,
method and status (closed label sets: app.telemetry.labels)."""

import time

from starlette.types import Message, Receive, Scope, Send

from app.api.middleware.base import HttpMiddleware
from app.telemetry.labels import method_label, route_label, status_label
from app.telemetry.metrics import REQUEST_LATENCY, REQUESTS


class RequestMetrics(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status: int | None = None

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        except Exception:
            status = status or 500  # the server answers 500 for what escaped
            raise
        finally:
            if status is not None:
                route = route_label(scope)  # the router set scope["route"] on this same scope
                REQUESTS.labels(route, method_label(scope["method"]), status_label(status)).inc()
                REQUEST_LATENCY.labels(route).observe(time.perf_counter() - started)
