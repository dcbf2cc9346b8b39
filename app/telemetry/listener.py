"""`/metrics` on a listener of its own (FACESEAL_METRICS_HOST:PORT, loopback by default), never the API port.

The exposition names tenants (client ids) and their volumes and shows the service's load. On its own
listener only the scraper's network reaches it: Prometheus holds no credential, a tenant's API key
cannot read other tenants' figures, and scrapes keep being answered while the API port sheds load.
"""

import socket
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

Message = MutableMapping[str, Any]


async def metrics_app(scope: Message, receive: Callable[[], Awaitable[Message]],
                      send: Callable[[Message], Awaitable[None]]) -> None:
    """GET or HEAD /metrics; every other path 404, every other method 405."""
    if scope["type"] != "http":
        return
    headers: list[tuple[bytes, bytes]] = []
    if scope["path"] != "/metrics":
        status, body, media_type = 404, b"not found\n", "text/plain; charset=utf-8"
    elif scope["method"] not in ("GET", "HEAD"):
        status, body, media_type = 405, b"method not allowed\n", "text/plain; charset=utf-8"
        headers.append((b"allow", b"GET, HEAD"))
    else:
        status, body, media_type = 200, generate_latest(), CONTENT_TYPE_LATEST
    headers += [(b"content-type", media_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


class MetricsListener:
    """uvicorn serving `metrics_app` in a thread with its own event loop, so a busy API loop cannot delay a
    scrape. The socket is bound when this is made: a port in use stops the start with a clear error."""

    def __init__(self, host: str, port: int) -> None:
        try:
            self._socket = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
        except OSError as error:
            raise OSError(f"metrics listener {host}:{port}: {error.strerror or error}") from None
        config = uvicorn.Config(metrics_app, lifespan="off", log_config=None, access_log=False, server_header=False,
                                proxy_headers=False, limit_concurrency=8)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name="metrics-listener", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
