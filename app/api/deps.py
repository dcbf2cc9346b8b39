"""What routes declare they need, resolved by FastAPI in dependency order before a route runs: the service, the
authenticated caller, an admitted inference and its images.

Every refusal comes before the body is read: no route declares a body parameter (bodies are documented through
`openapi_extra`), so FastAPI reads nothing, and `images` depends on `admit`, so the key, the rate limit, the
seal and the admission place are all checked before the first byte of an upload is.
"""

import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from itertools import chain
from typing import Annotated

from fastapi import Depends, Request

from app.api.auth import ANONYMOUS, Client
from app.api.errors import ApiError
from app.api.intake import Upload, read_upload
from app.api.openapi import ImageBody
from app.api.service import Service
from app.inference.errors import ProblemCode
from app.telemetry.audit import RequestContext
from app.telemetry.labels import route_label
from app.telemetry.metrics import AUTH_FAILURES, AUTH_THROTTLED, CLIENT_REQUESTS, IMAGE_BYTES

_logger = logging.getLogger("faceseal.auth")


async def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


async def authenticate(request: Request, service: ServiceDep) -> Client:
    """The caller of a keyed route. Async, so it runs on the event loop: the throttle is not thread-safe."""
    if service.keyring is None:
        return ANONYMOUS
    peer = request.client.host if request.client else ""
    throttled_for = service.auth_throttle.retry_after(peer)
    if throttled_for > 0:
        AUTH_THROTTLED.inc()
        raise ApiError(ProblemCode.auth_throttled, "too many wrong API keys from this address", 429,
                       {"Retry-After": str(math.ceil(throttled_for))})
    header = request.headers.get("authorization", "")
    presented = header[7:].strip() if header[:7].lower() == "bearer " else request.headers.get("x-api-key", "")
    if not presented:
        AUTH_FAILURES.labels("missing").inc()
        raise ApiError(ProblemCode.unauthenticated, "send an API key as 'Authorization: Bearer …' or 'X-API-Key'",
                       401, {"WWW-Authenticate": "Bearer"})
    client = service.keyring.client_for(presented)
    if client is None:
        AUTH_FAILURES.labels("invalid").inc()
        if service.auth_throttle.failed(peer):
            _logger.warning("wrong API keys: address throttled", extra={"fields": {"peer": peer}})
        raise ApiError(ProblemCode.forbidden, "API key not recognised", 403)
    wait = service.rate_limiter.retry_after(client.id)
    if wait > 0:
        raise ApiError(ProblemCode.rate_limited, "per-key rate limit reached", 429,
                       {"Retry-After": str(max(1, round(wait)))})
    return client


Caller = Annotated[Client, Depends(authenticate)]


@dataclass(frozen=True)
class Inference:
    """An admitted inference request: who asked, on which route, under which ids, and since when it holds its
    admission place (the audit's latency runs from then)."""

    service: Service
    client: Client
    route: str
    request_id: str
    client_request_id: str | None
    started: float

    @property
    def audit_context(self) -> RequestContext:
        return RequestContext(self.request_id, self.client_request_id, self.client.id, self.route, self.client.details)


async def admit(request: Request, service: ServiceDep, client: Caller) -> AsyncIterator[Inference]:
    """Count the caller, refuse while sealed shut, and hold an admission place until the route returns."""
    route = route_label(request.scope)
    CLIENT_REQUESTS.labels(client.id, route).inc()
    if not service.integrity_ok:
        raise ApiError(ProblemCode.integrity_failed, "model integrity re-verification failed; service is sealed shut",
                       503, {"Retry-After": "60"})
    with service.admission.place():
        yield Inference(service, client, route, request.state.request_id, request.state.client_request_id,
                        time.perf_counter())


# scope="function": the place is given back when the route returns, before the answer is sent.
Admitted = Annotated[Inference, Depends(admit, scope="function")]


def images(body: ImageBody) -> Callable[[Request, Inference], Awaitable[Upload]]:
    """A dependency reading `body`'s images (multipart or JSON) once the request is admitted."""

    async def read(request: Request, inference: Admitted) -> Upload:
        settings = inference.service.settings
        upload = await read_upload(request, body.intake(settings.max_frames), settings.max_image_bytes)
        for data in chain.from_iterable(upload.images.values()):
            IMAGE_BYTES.observe(len(data))
        return upload

    return read
