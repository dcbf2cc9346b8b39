"""HTTP metric labels from closed sets only, so no client can mint a time series.

h11 accepts any token as a method and any path; each distinct label value would be a series kept for
the life of the process and sent on every scrape (one 8,000-character method: 16 KB more per scrape).
"""

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

UNMATCHED = "unmatched"
OTHER = "other"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
STATUSES = frozenset(status.value for status in HTTPStatus)


def route_label(scope: Mapping[str, Any]) -> str:
    """The matched route's template (routes are fixed at start), never the path that was asked for."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNMATCHED


def method_label(method: str) -> str:
    return method if method in METHODS else OTHER


def status_label(status: int) -> str:
    return str(status) if status in STATUSES else OTHER
