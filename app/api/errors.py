"""RFC 9457 problem details with a stable `code`; never a stack trace or a path."""

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.inference.errors import InputError, ProblemCode

PROBLEM_MEDIA_TYPE = "application/problem+json"


class Problem(BaseModel):
    """An error answer: branch on `code` (stable); `detail` is for people and may change."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "type": f"urn:faceseal:problem:{ProblemCode.image_too_large}", "title": "Request Entity Too Large",
        "status": 413,
        "detail": "selfie[0]: image is 50000x50000; limits are 12000 px a side and 40000000 pixels",
        "code": ProblemCode.image_too_large, "request_id": "79847e6753ce4b2ab9cadc89ebb4da13"}]})

    type: str = Field(description="`urn:faceseal:problem:` and the code")
    title: str = Field(description="the HTTP status phrase")
    status: int
    detail: str
    code: ProblemCode
    request_id: str | None = Field(description="the server's id of the request, as in X-Request-ID; null when the "
                                               "connection was answered before a request was read")

    @classmethod
    def of(cls, code: ProblemCode, detail: str, status: int, request_id: str | None) -> "Problem":
        return cls(type=f"urn:faceseal:problem:{code}", title=HTTPStatus(status).phrase, status=status,
                   detail=detail, code=code, request_id=request_id)


class ApiError(Exception):
    """An error answered as problem+json, with optional extra headers (Retry-After, WWW-Authenticate). Its
    arguments come in InputError's order: code, detail, status."""

    def __init__(self, code: ProblemCode, detail: str, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.code, self.detail, self.status, self.headers = code, detail, status, headers or {}


def problem_response(code: ProblemCode, detail: str, status: int, request_id: str | None,
                     headers: dict[str, str] | None = None) -> JSONResponse:
    body = Problem.of(code, detail, status, request_id)
    return JSONResponse(body.model_dump(mode="json"), status_code=status, media_type=PROBLEM_MEDIA_TYPE,
                        headers=headers)


def problem(request: Request, code: ProblemCode, detail: str, status: int,
            headers: dict[str, str] | None = None) -> JSONResponse:
    return problem_response(code, detail, status, getattr(request.state, "request_id", None), headers)


def install_error_handlers(app: FastAPI) -> None:
    """The errors the service raises on purpose. Anything else is the error boundary's (app.api.middleware): a
    handler for `Exception` would run outside the middleware, so its 500 would be unnamed and uncounted."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return problem(request, error.code, error.detail, error.status, error.headers)

    @app.exception_handler(InputError)
    async def input_error(request: Request, error: InputError) -> JSONResponse:
        return problem(request, error.code, error.detail, error.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        return problem(request, ProblemCode.malformed_request, f"{len(error.errors())} invalid field(s)", 400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: ProblemCode.not_found, 405: ProblemCode.method_not_allowed}.get(error.status_code,
                                                                                     ProblemCode.http_error)
        return problem(request, code, HTTPStatus(error.status_code).phrase, error.status_code,
                       getattr(error, "headers", None))
