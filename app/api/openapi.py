"""The OpenAPI document integrators generate clients from (docs/INTEGRATION.md): stable operation ids, named
request bodies, every error a typed `Problem` under application/problem+json, and the security schemes.

An image body is declared once, as an `ImageBody`: the fields intake reads and the schemas the document names
come from it, so the counts the server enforces are the counts the document states."""

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from app.api.errors import PROBLEM_MEDIA_TYPE, Problem
from app.api.intake import Field

DESCRIPTION = """Sealed face verification for identity onboarding: a selfie (1 to MAX_FRAMES frames) and an \
ID-document photo in, `approve` / `reject` / `retake` with its reasons out, naming the exact models and policy \
that decided.

Send images as `multipart/form-data` files or as base64 strings in JSON; authenticate with \
`Authorization: Bearer KEY` or `X-API-Key: KEY`. Every error is an RFC 9457 `Problem` \
(`application/problem+json`) with a stable `code`; 429 and 503 carry `Retry-After`. `details` (scores, \
thresholds, face geometry) is null unless the key is granted it. How a backend integrates: docs/INTEGRATION.md \
in the faceseal repository."""
TAGS = [
    {"name": "verification", "description": "decisions on images: verify (onboarding), liveness, compare"},
    {"name": "operations", "description": "the sealed model set, liveness and readiness probes"},
]
SERVERS = [
    {"url": "/", "description": "the service that served this document"},
    {"url": "http://127.0.0.1:8000", "description": "local development (`make run`)"},
]
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer KEY`"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "the same key as `X-API-Key`"},
}
KEYED: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}]  # either one authenticates
# A valid 16x16 grey-gradient PNG: decodable, so "Try it out" gets a decision (retake: no_face), not a 415.
EXAMPLE_IMAGE = ("iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAAAAAA6mKC9AAAAE0lEQVQY02NkEEAFTAxoYGQJAAAIrwEQ5ll45AAAAABJRU5Er"
                 "kJggg==")

_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying",
                                "schema": {"type": "integer", "minimum": 1}}}
_REQUEST_ID = {"X-Request-ID": {"description": "the server's id of this request (quote it; also `request_id`)",
                                "schema": {"type": "string"}}}
_PROBLEMS: dict[int, tuple[str, dict[str, Any]]] = {
    400: ("malformed: bad JSON, multipart or base64, an unknown field, a missing or extra image, an unknown preset",
          {}),
    401: ("no API key was sent",
          {"WWW-Authenticate": {"description": "the scheme to send the key with", "schema": {"type": "string"}}}),
    403: ("the API key is not recognised", {}),
    408: ("the body arrived too slowly", {}),
    413: ("the body, an image, or all images of the request together exceed a limit", {}),
    415: ("neither multipart/form-data nor JSON, or an image that is not JPEG, PNG or WebP", {}),
    422: ("an image that is empty, corrupt or blank (nothing visible)", {}),
    429: ("overloaded, the key's rate limit, or too many wrong keys from this address", _RETRY_AFTER),
    500: ("an unexpected error; no detail leaves the service", {}),
    503: ("not ready, sealed shut after an integrity failure, shutting down, or no inference slot in time",
          _RETRY_AFTER),
}


def responses(description: str, *errors: int) -> dict[int | str, dict[str, Any]]:
    """The success answer's description and headers, and a typed `Problem` for each error status."""
    answers: dict[int | str, dict[str, Any]] = {200: {"description": description, "headers": _REQUEST_ID}}
    for status in errors:
        text, headers = _PROBLEMS[status]
        answers[status] = {"description": text, "headers": {**headers, **_REQUEST_ID},
                           "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    return answers


@dataclass(frozen=True)
class ImageField:
    name: str
    description: str
    frames: bool  # 1..MAX_FRAMES images; else exactly one


@dataclass(frozen=True)
class ImageBody:
    """An image operation's body: `{name}Form` (multipart) and `{name}Json` (base64) in the document."""

    name: str
    fields: tuple[ImageField, ...]
    preset: bool

    def intake(self, max_frames: int) -> list[Field]:
        return [Field(f.name, 1, max_frames if f.frames else 1) for f in self.fields]

    def operation(self) -> dict[str, Any]:
        """`openapi_extra` of the route: its body by reference, and either API key header."""
        example = {f.name: [EXAMPLE_IMAGE] if f.frames else EXAMPLE_IMAGE for f in self.fields}
        content = {"multipart/form-data": {"schema": {"$ref": f"#/components/schemas/{self.name}Form"}},
                   "application/json": {"schema": {"$ref": f"#/components/schemas/{self.name}Json"},
                                        "example": example}}
        return {"requestBody": {"required": True, "content": content}, "security": KEYED}

    def schemas(self, max_frames: int) -> dict[str, dict[str, Any]]:
        many = {"minItems": 1, "maxItems": max_frames}
        binary, b64 = {"type": "string", "format": "binary"}, {"type": "string", "contentEncoding": "base64"}
        form: dict[str, Any] = {}
        encoded: dict[str, Any] = {}
        for f in self.fields:
            files = {"type": "array", "items": binary, **many} if f.frames else binary
            strings = {"oneOf": [b64, {"type": "array", "items": b64, **many}]} if f.frames else b64
            form[f.name] = {**files, "description": f.description}
            encoded[f.name] = {**strings, "description": f"{f.description}; base64, or a data: URL"}
        if self.preset:
            form["preset"] = encoded["preset"] = {"$ref": "#/components/schemas/Preset"}
        required = [f.name for f in self.fields]
        return {f"{self.name}{kind}": {"title": f"{self.name}{kind}", "type": "object", "properties": properties,
                                       "required": required, "additionalProperties": False}
                for kind, properties in (("Form", form), ("Json", encoded))}


SELFIE = ImageField("selfie", "selfie frame(s) of the live user; every frame must be judged live and show the "
                              "same person", frames=True)
VERIFY = ImageBody("Verify", (SELFIE, ImageField("reference", "ID-document photo or portrait to match against",
                                                 frames=False)), preset=True)
LIVENESS = ImageBody("Liveness", (SELFIE,), preset=False)
COMPARE = ImageBody("Compare", (ImageField("image1", "first face image", frames=False),
                                ImageField("image2", "second face image", frames=False)), preset=True)


def install_openapi(app: FastAPI, max_frames: int, presets: list[str], default_preset: str) -> None:
    """Add to FastAPI's document what routes cannot declare: `Problem`, the bodies and presets as named schemas
    (with this service's MAX_FRAMES and the sealed policy's presets), the security schemes."""
    generate = app.openapi  # FastAPI's own: builds the document once and keeps it in app.openapi_schema

    def openapi() -> dict[str, Any]:
        document = generate()
        components = document.setdefault("components", {})
        if "securitySchemes" not in components:  # built just now
            schemas = components.setdefault("schemas", {})
            problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(problem.pop("$defs"), Problem=problem)
            schemas["Preset"] = {"title": "Preset", "type": "string", "enum": presets,
                                 "description": "operating point: the false match rate the match threshold holds "
                                                f"(default {default_preset})"}
            for body in (VERIFY, LIVENESS, COMPARE):
                schemas.update(body.schemas(max_frames))
            components["securitySchemes"] = SECURITY_SCHEMES
        return document

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the document
