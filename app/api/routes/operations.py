"""The sealed model set in service, and the liveness and readiness probes."""

from fastapi import APIRouter, Depends

from app.api.deps import ServiceDep, authenticate
from app.api.errors import ApiError
from app.api.openapi import KEYED, responses
from app.api.schemas import Health, ModelsResponse, Readiness
from app.inference.errors import ProblemCode

router = APIRouter(tags=["operations"])


@router.get("/v1/models", operation_id="models", response_model=ModelsResponse, dependencies=[Depends(authenticate)],
            responses=responses("the sealed model set", 401, 403, 429, 500), openapi_extra={"security": KEYED})
async def models(service: ServiceDep) -> ModelsResponse:
    """The sealed model set in service: digests, lock version, signature and self-test status."""
    return ModelsResponse.of(service.sealed, service.pipeline.policy, service.is_sealed, service.integrity_ok)


@router.get("/healthz", operation_id="healthz", responses=responses("alive"))
async def healthz() -> Health:
    """The process is alive (says nothing about models)."""
    return Health(status="alive")


@router.get("/readyz", operation_id="readyz", responses=responses("ready", 503))
async def readyz(service: ServiceDep) -> Readiness:
    """Models verified, loaded and warmed (a Service exists only then), and still matching on disk."""
    if not service.integrity_ok:
        raise ApiError(ProblemCode.not_ready, "models are not verified", 503, {"Retry-After": "5"})
    return Readiness(status="ready", lock_version=service.sealed.lock.lock_version, sealed=service.is_sealed)
