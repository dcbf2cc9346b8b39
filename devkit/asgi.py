"""One request to an ASGI app in this process, as a client would send it (no server, no socket)."""

import asyncio
from typing import Any

import httpx
from starlette.types import ASGIApp


def asgi_request(app: ASGIApp, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """The app's answer, whatever it is: an exception the app does not handle becomes the 500 a server sends."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://faceseal.test") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(send())
