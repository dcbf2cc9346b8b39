"""Endpoints. Each inference route: authenticate -> take a place (before the body) -> read upload -> wait
for a slot -> infer off-loop -> audit every detail -> answer, with the details only when the key is granted them."""

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, Request

from app.api.auth import ANONYMOUS, Client
from app.api.errors import ApiError
from app.api.intake import Field, Upload, read_upload
from app.api.openapi import COMPARE, KEYED, LIVENESS, VERIFY, responses
from app.api.schemas import (
    CompareResponse,
    DecisionResponse,
    Health,
    ModelsResponse,
    Readiness,
    SealedModelOut,
    Stamp,
)
from app.api.service import Service
from app.inference.errors import ProblemCode
from app.inference.pipeline import CompareResult, VerifyResult
from app.integrity.digests import sha256_bytes
from app.telemetry.metrics import (
    AUTH_FAILURES,
    AUTH_THROTTLED,
    CLIENT_REQUESTS,
    DECISION_REASONS,
    DECISIONS,
    FACES_PER_IMAGE,
    IMAGE_BYTES,
    LIVENESS_VERDICTS,
    STAGE_LATENCY,
)

INFERENCE_ERRORS = (400, 401, 403, 408, 413, 415, 422, 429, 500, 503)
router = APIRouter()
_logger = logging.getLogger("faceseal.auth")
Result = TypeVar("Result", VerifyResult, CompareResult)
Answer = TypeVar("Answer", DecisionResponse, CompareResponse)
# What the audit line keeps of an answer: all findings and every detail, whoever asked.
AUDITED = {"decision", "reasons", "liveness_checked", "match", "liveness", "frames", "faces", "details"}


def service_of(request: Request) -> Service:
    return request.app.state.service


def authenticate(request: Request, service: Service) -> Client:
    if service.keyring is None:
        return ANONYMOUS
    peer = request.client.host if request.client else ""
    throttled_for = service.auth_throttle.retry_after(peer)
    if throttled_for > 0:
        AUTH_THROTTLED.inc()
        raise ApiError(ProblemCode.auth_throttled, "too many wrong API keys from this address", 429,
                       {"Retry-After": str(math.ceil(throttled_for))})
    header = request.headers.get("authorization", "")
    presented = header[7:].strip() if header[:7].lower() == "bearer " else request.headers.get("x-api-key", "")
    if not presented:
        AUTH_FAILURES.labels("missing").inc()
        raise ApiError(ProblemCode.unauthenticated, "send an API key as 'Authorization: Bearer …' or 'X-API-Key'",
                       401, {"WWW-Authenticate": "Bearer"})
    client = service.keyring.client_for(presented)
    if client is None:
        AUTH_FAILURES.labels("invalid").inc()
        if service.auth_throttle.failed(peer):
            _logger.warning("wrong API keys: address throttled", extra={"fields": {"peer": peer}})
        raise ApiError(ProblemCode.forbidden, "API key not recognised", 403)
    wait = service.rate_limiter.retry_after(client.id)
    if wait > 0:
        raise ApiError(ProblemCode.rate_limited, "per-key rate limit reached", 429,
                       {"Retry-After": str(max(1, round(wait)))})
    return client


async def _infer(
    request: Request, route: str, fields: list[Field], run: Callable[[Service, Upload], Result],
    answer: Callable[[Result, Stamp], Answer],
) -> Answer:
    service = service_of(request)
    client = authenticate(request, service)
    CLIENT_REQUESTS.labels(client.id, route).inc()
    if not service.integrity_ok:
        raise ApiError(ProblemCode.integrity_failed, "model integrity re-verification failed; service is sealed shut",
                       503, {"Retry-After": "60"})
    with service.admission.place():  # before the body is read: overload costs no upload
        started = time.perf_counter()
        upload = await read_upload(request, fields, service.settings.max_image_bytes)
        for images in upload.images.values():
            for data in images:
                IMAGE_BYTES.observe(len(data))
        async with service.admission.slot():
            result = await asyncio.to_thread(run, service, upload)
        full = answer(result, Stamp(request.state.request_id, service.policy_out, service.models_out, service.is_sealed))
        _observe(route, result)
        service.audit.record({
            "request_id": request.state.request_id,
            "client_request_id": request.state.client_request_id,
            "client_id": client.id,
            "route": route,
            **full.model_dump(include=AUDITED),
            "details_returned": client.details,
            "policy": full.policy.model_dump(),
            "models": {m.name: m.sha256 for m in service.models_out},
            "lock_sha256": service.sealed.lock_sha256,
            "sealed": service.is_sealed,
            "inputs_sha256": {name: [sha256_bytes(d) for d in data] for name, data in upload.images.items()},
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        })
        return full if client.details else full.model_copy(update={"details": None})


def _observe(route: str, result: VerifyResult | CompareResult) -> None:
    if isinstance(result, CompareResult):
        outcome, analyses = result.outcome, [result.first, result.second]
    else:
        outcome, analyses = result.decision, [*result.selfie, *([result.reference] if result.reference else [])]
        if result.liveness:
            LIVENESS_VERDICTS.labels(result.liveness.verdict).inc()
    DECISIONS.labels(route, outcome).inc()
    for reason in result.reasons:
        DECISION_REASONS.labels(reason).inc()
    for analysis in analyses:
        FACES_PER_IMAGE.observe(analysis.faces_found)
    for stage, ms in result.timings.stages_ms.items():
        STAGE_LATENCY.labels(stage).observe(ms / 1000)


@router.post("/v1/verify", operation_id="verify", response_model=DecisionResponse, tags=["verification"],
             responses=responses("the decision", *INFERENCE_ERRORS), openapi_extra=VERIFY.operation())
async def verify(request: Request) -> DecisionResponse:
    """Selfie + reference -> match, liveness and an approve / reject / retake decision."""
    fields = VERIFY.intake(service_of(request).settings.max_frames)
    return await _infer(request, "/v1/verify", fields,
                        lambda s, u: s.pipeline.verify(u.images["selfie"], u.images["reference"][0], u.preset),
                        DecisionResponse.of)


@router.post("/v1/liveness", operation_id="liveness", response_model=DecisionResponse, tags=["verification"],
             responses=responses("the decision", *INFERENCE_ERRORS), openapi_extra=LIVENESS.operation())
async def liveness(request: Request) -> DecisionResponse:
    """Passive liveness on selfie frames only."""
    fields = LIVENESS.intake(service_of(request).settings.max_frames)
    return await _infer(request, "/v1/liveness", fields, lambda s, u: s.pipeline.check_liveness(u.images["selfie"]),
                        DecisionResponse.of)


@router.post("/v1/compare", operation_id="compare", response_model=CompareResponse, tags=["verification"],
             responses=responses("the outcome", *INFERENCE_ERRORS), openapi_extra=COMPARE.operation())
async def compare(request: Request) -> CompareResponse:
    """Two images -> match / no_match (or retake when a face is missing).

    Makes no liveness claim (`liveness_checked` is always false): a printed photo matches its original,
    so a compare `match` must never be used alone to onboard anyone. Onboarding uses /v1/verify.
    """
    fields = COMPARE.intake(service_of(request).settings.max_frames)
    return await _infer(request, "/v1/compare", fields,
                        lambda s, u: s.pipeline.compare(u.images["image1"][0], u.images["image2"][0], u.preset),
                        CompareResponse.of)


@router.get("/v1/models", operation_id="models", response_model=ModelsResponse, tags=["operations"],
            responses=responses("the sealed model set", 401, 403, 429, 500), openapi_extra={"security": KEYED})
async def models(request: Request) -> ModelsResponse:
    """The sealed model set in service: digests, lock version, signature and self-test status."""
    service = service_of(request)
    authenticate(request, service)
    sealed = service.sealed
    return ModelsResponse(
        lock_version=sealed.lock.lock_version,
        lock_sha256=sealed.lock_sha256,
        signature_verified=sealed.signature_verified,
        sealed=service.is_sealed,
        known_answer_ok=True,  # the service only exists after every known-answer test passed
        integrity_ok=service.integrity_ok,
        policy=service.policy_out,
        models=[SealedModelOut(name=m.name, version=m.version, role=m.role, sha256=m.sha256, file=m.file,
                               size=m.size, licence=m.licence, transform=m.transform) for m in sealed.lock.models],
    )


@router.get("/healthz", operation_id="healthz", tags=["operations"], responses=responses("alive"))
async def healthz() -> Health:
    """The process is alive (says nothing about models)."""
    return Health(status="alive")


@router.get("/readyz", operation_id="readyz", tags=["operations"], responses=responses("ready", 503))
async def readyz(request: Request) -> Readiness:
    """Models verified, loaded and warmed (a Service exists only then), and still matching on disk."""
    service = service_of(request)
    if not service.integrity_ok:
        raise ApiError(ProblemCode.not_ready, "models are not verified", 503, {"Retry-After": "5"})
    return Readiness(status="ready", lock_version=service.sealed.lock.lock_version, sealed=service.is_sealed)
