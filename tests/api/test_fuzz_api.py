"""Property-based fuzzing of every endpoint from the OpenAPI schema: never a 5xx, always problem+json."""

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.core.transport import Response

from app.api.app import create_app
from app.api.service import Service
from app.config import Settings
from app.integrity.gate import SealedSet
from devkit.paths import MODELS


@pytest.fixture(scope="module")
def fuzz_app(sealed: SealedSet) -> FastAPI:
    config = Settings(models_dir=MODELS, auth_disabled=True, reverify_interval_s=0, rate_limit_per_minute=100_000)
    return create_app(Service.start(config, sealed))


def check(response: Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"][0].startswith("application/problem+json")
        assert set(response.json()) >= {"type", "title", "status", "detail", "code"}


def test_every_operation_survives_generated_requests(fuzz_app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} >= {
        "POST /v1/verify", "POST /v1/liveness", "POST /v1/compare", "GET /v1/models", "GET /readyz"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: schemathesis.Case[Any]) -> None:
            check(case.call())

        run()
