"""Turn a request (multipart upload or JSON with base64) into named lists of image bytes.

Both encodings are common in mobile backends; they must give byte-identical images.
"""

import asyncio
import base64
import binascii
import json
import re
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser

from app.api.errors import ApiError

DATA_URL = re.compile(r"^data:[\w/+.-]+;base64,")
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


@dataclass(frozen=True)
class Field:
    name: str
    min_count: int
    max_count: int


@dataclass(frozen=True)
class Upload:
    images: dict[str, list[bytes]]
    preset: str | None


def _depth(value: Any) -> int:
    """Nesting depth of decoded JSON, computed iteratively (no recursion on hostile input)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(node, dict):
            stack.extend((child, level + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, level + 1) for child in node)
    return deepest


def _decode_base64(name: str, text: Any) -> bytes:
    if not isinstance(text, str):
        raise ApiError(400, "malformed_request", f"'{name}' must be a base64 string or a list of them")
    payload = DATA_URL.sub("", text.strip())
    try:
        if len(payload) % 4:
            raise ValueError("length is not a multiple of 4")
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "invalid_base64", f"'{name}' is not valid base64") from None


def _count(field: Field, values: list[bytes]) -> list[bytes]:
    if not field.min_count <= len(values) <= field.max_count:
        expected = field.min_count if field.min_count == field.max_count else f"{field.min_count}..{field.max_count}"
        raise ApiError(400, "missing_field" if not values else "too_many_images", f"'{field.name}' takes {expected} image(s), got {len(values)}")
    return values


async def _from_json(request: Request, fields: list[Field], max_depth: int) -> Upload:
    try:
        document = json.loads(await request.body())
    except (ValueError, RecursionError):
        raise ApiError(400, "malformed_json", "body is not valid JSON") from None
    if not isinstance(document, dict):
        raise ApiError(400, "malformed_json", "body must be a JSON object")
    if _depth(document) > max_depth:
        raise ApiError(400, "malformed_json", f"JSON nests deeper than {max_depth}")
    images = {}
    for field in fields:
        raw = document.get(field.name)
        values = [] if raw is None else raw if isinstance(raw, list) else [raw]
        images[field.name] = _count(field, [_decode_base64(field.name, v) for v in values])
    preset = document.get("preset")
    if preset is not None and not isinstance(preset, str):
        raise ApiError(400, "malformed_request", "'preset' must be a string")
    return Upload(images, preset)


async def _from_multipart(request: Request, fields: list[Field], max_part_bytes: int) -> Upload:
    parser = MultiPartParser(request.headers, request.stream(), max_files=sum(f.max_count for f in fields),
                             max_fields=8, max_part_size=max_part_bytes)
    # Starlette spools file parts over 1 MB to a temporary file; face images must never touch a disk.
    # The body is already capped (BodyGuard), so keeping every part in memory is bounded.
    parser.spool_max_size = sys.maxsize
    try:
        form = await parser.parse()
    except (MultiPartException, HTTPException) as error:
        raise ApiError(400, "malformed_multipart", getattr(error, "detail", None) or str(error)) from None
    try:
        images = {}
        for field in fields:
            parts = form.getlist(field.name)
            if any(not isinstance(part, UploadFile) for part in parts):
                raise ApiError(400, "malformed_request", f"'{field.name}' must be sent as a file part")
            images[field.name] = _count(field, [await part.read() for part in parts if isinstance(part, UploadFile)])
        preset = form.get("preset")
        if preset is not None and not isinstance(preset, str):
            raise ApiError(400, "malformed_request", "'preset' must be a text field")
        return Upload(images, preset)
    finally:
        await form.close()


async def read_upload(request: Request, fields: list[Field], max_part_bytes: int, max_json_depth: int) -> Upload:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json":
        return await _from_json(request, fields, max_json_depth)
    if media_type == "multipart/form-data":
        return await _from_multipart(request, fields, max_part_bytes)
    raise ApiError(415, "unsupported_media_type", "send multipart/form-data or application/json")


class BodyGuard:
    """ASGI middleware: cap the body size and the wait between body chunks (slow-body attacks)."""

    def __init__(self, app: Any, max_bytes: int, read_timeout_s: float) -> None:
        self.app, self.max_bytes, self.read_timeout_s = app, max_bytes, read_timeout_s

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        too_large = ApiError(413, "body_too_large", f"body exceeds {self.max_bytes} bytes")
        declared_too_large = declared.isdigit() and int(declared) > self.max_bytes
        received = 0

        async def guarded_receive() -> MutableMapping[str, Any]:
            nonlocal received
            if declared_too_large:
                raise too_large
            try:
                message = await asyncio.wait_for(receive(), timeout=self.read_timeout_s)
            except TimeoutError:
                raise ApiError(408, "body_timeout", "request body arrived too slowly") from None
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise too_large
            return message

        await self.app(scope, guarded_receive, send)
