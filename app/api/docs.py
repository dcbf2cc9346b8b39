"""Swagger UI at /docs, served from the pinned fastapi-offline package's files rather than a CDN, so it
works offline, under a CSP that allows exactly those files and the page's own inline start-up script."""

import base64
import hashlib
import re
from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/static"


def docs_policy(page: bytes) -> str:
    """The page's CSP: its inline script allowed by digest, so no 'unsafe-inline'; Swagger UI's CSS draws
    icons from data: URLs; 'Try it out' calls this origin."""
    inline = re.search(rb"<script>(.*?)</script>", page, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(inline.group(1) if inline else b"").digest()).decode()
    return (f"default-src 'none'; script-src 'self' 'sha256-{digest}'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def install_docs(app: FastAPI) -> None:
    page = bytes(get_swagger_ui_html(
        openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} - Swagger UI",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon.png",
    ).body)
    headers = {"Content-Security-Policy": docs_policy(page)}

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page, headers=headers)

    app.mount(ASSETS, StaticFiles(directory=str(files("fastapi_offline") / "static")), name="docs-assets")
