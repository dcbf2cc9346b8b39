"""The FastAPI application: middleware, error handlers, routes and background re-verification."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from app import __version__
from app.api import middleware
from app.api.docs import install_docs
from app.api.errors import install_error_handlers
from app.api.openapi import DESCRIPTION, SERVERS, TAGS, install_openapi
from app.api.routes import operations, verification
from app.api.service import Service


def create_app(service: Service) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(service.reverify_forever())
        yield
        service.admission.drain()
        task.cancel()
        service.pipeline.close()

    app = FastAPI(
        title="faceseal",
        version=__version__,
        summary="Sealed face verification: digest-locked face match and passive liveness",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        servers=SERVERS,
        license_info={"name": "Apache-2.0", "identifier": "Apache-2.0"},
        lifespan=lifespan,
        middleware=middleware.stack(service.settings),
        openapi_url="/openapi.json",
        docs_url=None,  # served by install_docs, without a CDN
        redoc_url=None,
    )
    app.state.service = service
    install_error_handlers(app)
    app.include_router(verification.router)
    app.include_router(operations.router)
    policy = service.pipeline.policy
    install_openapi(app, service.settings.max_frames, sorted(policy.match.presets), policy.default_preset)
    if service.settings.docs:
        install_docs(app)
    return app
