"""Pure ASGI middleware, one job a module. `stack` lists them outermost first: every answer, a 500 included,
passes back out through the request id, the security headers and the metrics; the body guard sits innermost,
so its refusals surface in the route and are answered as problems like any other."""

from starlette.middleware import Middleware

from app.api.middleware.body_guard import BodyGuard
from app.api.middleware.error_boundary import ErrorBoundary
from app.api.middleware.request_id import RequestId
from app.api.middleware.request_metrics import RequestMetrics
from app.api.middleware.security_headers import SecurityHeaders
from app.config import Settings


def stack(settings: Settings) -> list[Middleware]:
    return [
        Middleware(RequestId),
        Middleware(SecurityHeaders),
        Middleware(RequestMetrics),
        Middleware(ErrorBoundary),  # inside those three: the 500 it answers is named, headed and counted
        Middleware(BodyGuard, max_bytes=settings.max_body_bytes, read_timeout_s=settings.body_read_timeout_s),
    ]
