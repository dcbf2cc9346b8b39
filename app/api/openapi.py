"""OpenAPI request bodies: each image endpoint takes multipart uploads or JSON with base64."""

from typing import Any


def image_request_body(fields: dict[str, tuple[str, bool]], preset: bool) -> dict[str, Any]:
    """`fields`: name -> (description, accepts several images)."""
    multipart: dict[str, Any] = {}
    json_props: dict[str, Any] = {}
    for name, (description, many) in fields.items():
        binary = {"type": "string", "format": "binary"}
        b64 = {"type": "string", "contentEncoding": "base64"}
        multipart[name] = {"type": "array", "items": binary, "description": description} if many else {**binary, "description": description}
        json_props[name] = {"oneOf": [b64, {"type": "array", "items": b64, "minItems": 1}], "description": description} if many else {**b64, "description": description}
    if preset:
        text = {"type": "string", "description": "operating point (default: the policy's default preset)"}
        multipart["preset"] = text
        json_props["preset"] = text
    required = list(fields)
    example = {name: (["<base64 JPEG/PNG/WebP>"] if many else "<base64 JPEG/PNG/WebP>") for name, (_, many) in fields.items()}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {"schema": {"type": "object", "properties": multipart, "required": required,
                                                   "additionalProperties": False}},
                "application/json": {"schema": {"type": "object", "properties": json_props, "required": required,
                                                "additionalProperties": False}, "example": example},
            },
        }
    }
