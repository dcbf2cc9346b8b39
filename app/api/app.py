"""The FastAPI application: middleware, error handlers, routes and background re-verification."""

import asyncio
import contextlib
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI, Request, Response

from app import __version__
from app.api.docs import install_docs
from app.api.errors import install_error_handlers
from app.api.intake import BodyGuard
from app.api.openapi import DESCRIPTION, SERVERS, TAGS, install_openapi
from app.api.routes import router
from app.api.service import Service
from app.telemetry.labels import method_label, route_label, status_label
from app.telemetry.metrics import REQUEST_LATENCY, REQUESTS

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


def create_app(service: Service) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(service.reverify_forever())
        yield
        service.admission.drain()
        task.cancel()

    app = FastAPI(
        title="faceseal",
        version=__version__,
        summary="Sealed face verification: digest-locked face match and passive liveness",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        servers=SERVERS,
        license_info={"name": "Apache-2.0", "identifier": "Apache-2.0"},
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # served by install_docs, without a CDN
        redoc_url=None,
    )
    app.state.service = service
    install_error_handlers(app)
    app.include_router(router)
    policy = service.pipeline.policy
    install_openapi(app, service.settings.max_frames, sorted(policy.match.presets), policy.default_preset)
    if service.settings.docs:
        install_docs(app)
    # Added first so it sits inside `observe`: its errors surface in the route and become problems.
    app.add_middleware(
        BodyGuard, max_bytes=service.settings.max_body_bytes, read_timeout_s=service.settings.body_read_timeout_s
    )

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        # The server names every request: a client-chosen id could make two decisions share one audit id.
        # A client's own id (validated) is kept beside it, as `client_request_id` in the audit line.
        request.state.request_id = uuid.uuid4().hex
        offered = request.headers.get("x-request-id", "")
        request.state.client_request_id = offered if REQUEST_ID.match(offered) else None
        started = time.perf_counter()
        response = await call_next(request)
        route = route_label(request.scope)
        REQUESTS.labels(route, method_label(request.method), status_label(response.status_code)).inc()
        REQUEST_LATENCY.labels(route).observe(time.perf_counter() - started)
        response.headers["X-Request-ID"] = request.state.request_id
        for name, value in SECURITY_HEADERS.items():  # a route's own CSP (the /docs page's) stands
            response.headers.setdefault(name, value)
        return response

    return app
