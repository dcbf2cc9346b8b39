"""`faceseal_http_requests_total` and `faceseal_http_request_duration_seconds` for every answer, by route template,
method and status (closed label sets: app.telemetry.labels)."""

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.telemetry.labels import method_label, route_label, status_label
from app.telemetry.metrics import REQUEST_LATENCY, REQUESTS


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
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
