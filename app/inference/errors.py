"""Input problems the caller can fix, each with a stable machine-readable code."""

from enum import StrEnum, auto


# The one list of problem codes: the OpenAPI `Problem.code` enum is made from it, and tests/api/test_openapi.py
# holds it equal to the codes raised anywhere in app/ and to README's table. Its docstring is the enum's description.
class ProblemCode(StrEnum):
    """Why a request was refused; stable, so branch on it (`detail` is for people and may change)."""

    # 400
    malformed_json = auto()
    malformed_multipart = auto()
    malformed_request = auto()
    invalid_base64 = auto()
    missing_field = auto()
    too_many_images = auto()
    unknown_preset = auto()
    unknown_field = auto()
    malformed_http = auto()
    # 401, 403, 404, 405
    unauthenticated = auto()
    forbidden = auto()
    not_found = auto()
    method_not_allowed = auto()
    # 408
    body_timeout = auto()
    head_timeout = auto()
    # 413
    body_too_large = auto()
    image_too_large = auto()
    too_many_pixels = auto()
    # 415
    unsupported_media_type = auto()
    unsupported_format = auto()
    # 422
    empty_image = auto()
    corrupt_image = auto()
    blank_image = auto()
    # 429
    overloaded = auto()
    rate_limited = auto()
    auth_throttled = auto()
    # 500
    internal_error = auto()
    # 503
    queue_timeout = auto()
    not_ready = auto()
    integrity_failed = auto()
    shutting_down = auto()
    # any other HTTP error
    http_error = auto()


class InputError(ValueError):
    """Raised for a request the service understood but cannot use; maps to a 4xx answer."""

    def __init__(self, code: ProblemCode, detail: str, status: int = 422) -> None:
        super().__init__(detail)
        self.code = ProblemCode(code)  # a code outside the list fails here, not in a client's enum
        self.detail = detail
        self.status = status
