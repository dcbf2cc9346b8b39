"""Turn a request (multipart upload or JSON with base64) into named lists of image bytes.

Both encodings are common in mobile backends; they must give byte-identical images, and both refuse
a field they do not know (it could only be a mistake or an attack, never a reason to approve).
"""

import asyncio
import base64
import binascii
import json
import math
import re
import sys
from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser

from app.api.errors import ApiError
from app.inference.errors import ProblemCode

DATA_URL = re.compile(r"^data:[\w/+.-]+;base64,")
WHITESPACE = re.compile(rb"[ \t\n\r]*")
STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')  # unrolled: runs in C over a 20 MB base64 string
PRESET = "preset"


@dataclass(frozen=True)
class Field:
    name: str
    min_count: int
    max_count: int


@dataclass(frozen=True)
class Upload:
    images: dict[str, list[bytes]]
    preset: str | None


def json_limit(fields: list[Field], max_image_bytes: int) -> int:
    """The largest JSON body a valid request needs: every image at the byte limit in base64, plus room for
    escaped slashes (`\\/`, as PHP writes them: at most 1 in 64 base64 characters) and a data: URL prefix."""
    encoded = 4 * math.ceil(max_image_bytes / 3)
    return sum(field.max_count for field in fields) * (encoded + encoded // 64 + 256) + 4096


def malformed() -> ApiError:
    return ApiError(ProblemCode.malformed_json, "body is not valid JSON", 400)


def unknown_field(name: str) -> ApiError:
    return ApiError(ProblemCode.unknown_field, f"unknown field {name[:40]!r}", 400)


class _Shape:
    """Check that a JSON body is what a request can be, without building it: one object whose keys are the
    route's fields (each a string, null or a list of at most its count of strings) and `preset` (a string or
    null), each key once. Anything else is refused at the first token that breaks the shape, so an unknown
    field or a huge array costs a scan, never millions of Python objects; strings are skipped in C."""

    def __init__(self, body: bytes, fields: list[Field]) -> None:
        self.body, self.position = body, 0
        self.counts = {field.name: field.max_count for field in fields}

    def check(self) -> None:
        if not self._take(b"{"):
            raise ApiError(ProblemCode.malformed_json, "body must be a JSON object", 400)
        seen: set[str] = set()
        closed = self._take(b"}")
        while not closed:
            self._value(self._key(seen))
            closed = self._take(b"}")
            if not closed:
                self._expect(b",")
        if self._skip_whitespace() != len(self.body):
            raise malformed()

    def _key(self, seen: set[str]) -> str:
        token = self._string()
        if token is None:
            raise malformed()
        start, end = token.span()
        if end - start > 64:  # no field name is this long: refused without building it
            raise unknown_field(self.body[start + 1 : start + 41].decode(errors="replace"))
        try:
            name: str = json.loads(token.group())
        except ValueError:
            raise malformed() from None
        if name != PRESET and name not in self.counts:
            raise unknown_field(name)
        if name in seen:
            raise ApiError(ProblemCode.malformed_json, f"field {name!r} appears twice", 400)
        seen.add(name)
        self._expect(b":")
        return name

    def _value(self, name: str) -> None:
        if self._take(b"null") or self._string() is not None:
            return
        if name == PRESET:
            raise ApiError(ProblemCode.malformed_request, "'preset' must be a string", 400)
        not_images = ApiError(ProblemCode.malformed_request, f"'{name}' must be a base64 string or a list of them",
                              400)
        if not self._take(b"["):
            raise not_images
        if self._take(b"]"):
            return
        for _ in range(self.counts[name]):
            if self._string() is None:
                raise not_images
            if self._take(b"]"):
                return
            self._expect(b",")
        raise ApiError(ProblemCode.too_many_images, f"'{name}' takes at most {self.counts[name]} image(s)", 400)

    def _skip_whitespace(self) -> int:
        self.position = WHITESPACE.match(self.body, self.position).end()  # type: ignore[union-attr]  # `*` always matches
        return self.position

    def _take(self, token: bytes) -> bool:
        start = self._skip_whitespace()
        if self.body.startswith(token, start):
            self.position = start + len(token)
            return True
        return False

    def _expect(self, token: bytes) -> None:
        if not self._take(token):
            raise malformed()

    def _string(self) -> re.Match[bytes] | None:
        """The string here, skipped (its match, not a copy)."""
        found = STRING.match(self.body, self._skip_whitespace())
        if found is not None:
            self.position = found.end()
        return found


def _decode_base64(name: str, text: str) -> bytes:
    payload = DATA_URL.sub("", text.strip())
    try:
        if len(payload) % 4:
            raise ValueError("length is not a multiple of 4")
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(ProblemCode.invalid_base64, f"'{name}' is not valid base64", 400) from None


def _count(field: Field, values: list[bytes]) -> list[bytes]:
    if not field.min_count <= len(values) <= field.max_count:
        expected = field.min_count if field.min_count == field.max_count else f"{field.min_count}..{field.max_count}"
        code = ProblemCode.too_many_images if values else ProblemCode.missing_field
        raise ApiError(code, f"'{field.name}' takes {expected} image(s), got {len(values)}", 400)
    return values


def parse_json(body: bytes, fields: list[Field]) -> Upload:
    """Shape first, then parse what can only be a few strings, then decode them; run off the event loop."""
    _Shape(body, fields).check()
    try:
        document = json.loads(body)
    except ValueError:  # an invalid escape or encoding inside a string
        raise malformed() from None
    images = {}
    for field in fields:
        raw = document.get(field.name)
        values = [] if raw is None else raw if isinstance(raw, list) else [raw]
        images[field.name] = _count(field, [_decode_base64(field.name, v) for v in values])
    return Upload(images, document.get(PRESET))


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused (413) as soon as it is known to exceed `limit`; not kept on the request, so it is
    freed once parsed rather than with the request."""
    too_large = ApiError(ProblemCode.body_too_large, f"JSON body exceeds {limit} bytes", 413)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def _from_json(request: Request, fields: list[Field], max_image_bytes: int) -> Upload:
    body = await _read_body(request, json_limit(fields, max_image_bytes))
    return await asyncio.to_thread(parse_json, body, fields)


async def _from_multipart(request: Request, fields: list[Field], max_part_bytes: int) -> Upload:
    parser = MultiPartParser(request.headers, request.stream(), max_files=sum(f.max_count for f in fields),
                             max_fields=8, max_part_size=max_part_bytes)
    # Starlette spools file parts over 1 MB to a temporary file; face images must never touch a disk.
    # The body is already capped (app.api.middleware.body_guard), so keeping every part in memory is bounded.
    parser.spool_max_size = sys.maxsize
    try:
        form = await parser.parse()
    except (MultiPartException, HTTPException) as error:
        detail = getattr(error, "detail", None) or str(error)
        # Starlette stops at `max_files` file parts: too many images, the same answer as in JSON.
        code = ProblemCode.too_many_images if detail.startswith("Too many files") else ProblemCode.malformed_multipart
        raise ApiError(code, detail, 400) from None
    try:
        unknown = set(form.keys()) - {field.name for field in fields} - {PRESET}
        if unknown:
            raise unknown_field(min(unknown))
        images = {}
        for field in fields:
            parts = form.getlist(field.name)
            if any(not isinstance(part, UploadFile) for part in parts):
                raise ApiError(ProblemCode.malformed_request, f"'{field.name}' must be sent as a file part", 400)
            images[field.name] = _count(field, [await part.read() for part in parts if isinstance(part, UploadFile)])
        presets = form.getlist(PRESET)
        if len(presets) > 1:  # as a duplicated JSON key: one request, one reading
            raise ApiError(ProblemCode.malformed_request, "'preset' appears more than once", 400)
        preset = presets[0] if presets else None
        if preset is not None and not isinstance(preset, str):
            raise ApiError(ProblemCode.malformed_request, "'preset' must be a text field", 400)
        return Upload(images, preset)
    finally:
        await form.close()


async def read_upload(request: Request, fields: list[Field], max_image_bytes: int) -> Upload:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json":
        return await _from_json(request, fields, max_image_bytes)
    if media_type == "multipart/form-data":
        return await _from_multipart(request, fields, max_image_bytes)
    raise ApiError(ProblemCode.unsupported_media_type, "send multipart/form-data or application/json", 415)
