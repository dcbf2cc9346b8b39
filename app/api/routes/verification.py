"""Decisions on images. Each route, once its dependencies admitted the caller and read the images: infer in an
inference slot off the event loop -> count and audit every detail -> answer, with the details only when the key
is granted them."""

import time
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends

from app.api.deps import Admitted, Inference, images
from app.api.intake import Upload
from app.api.openapi import COMPARE, LIVENESS, VERIFY, responses
from app.api.schemas import CompareResponse, DecisionResponse, Stamp
from app.inference.pipeline import Pipeline
from app.inference.results import CompareResult, VerifyResult
from app.telemetry.audit import decision_record
from app.telemetry.decisions import observe_decision

INFERENCE_ERRORS = (400, 401, 403, 408, 413, 415, 422, 429, 500, 503)
router = APIRouter(tags=["verification"])
Result = TypeVar("Result", VerifyResult, CompareResult)
Answer = TypeVar("Answer", DecisionResponse, CompareResponse)
VerifyImages = Annotated[Upload, Depends(images(VERIFY))]
LivenessImages = Annotated[Upload, Depends(images(LIVENESS))]
CompareImages = Annotated[Upload, Depends(images(COMPARE))]


async def _decide(inference: Inference, upload: Upload, work: Callable[[Pipeline], Result],
                  respond: Callable[[Result, Stamp], Answer]) -> Answer:
    service = inference.service
    result = await service.admission.run(lambda: work(service.pipeline))
    full = respond(result, Stamp.of(inference.request_id, service.sealed, service.pipeline.policy, service.is_sealed))
    observe_decision(inference.route, result)
    service.audit.record(decision_record(inference.audit_context, full.model_dump(), service.sealed.lock_sha256,
                                         upload.images, time.perf_counter() - inference.started))
    return full if inference.client.details else full.model_copy(update={"details": None})


@router.post("/v1/verify", operation_id="verify", response_model=DecisionResponse,
             responses=responses("the decision", *INFERENCE_ERRORS), openapi_extra=VERIFY.operation())
async def verify(inference: Admitted, upload: VerifyImages) -> DecisionResponse:
    """Selfie + reference -> match, liveness and an approve / reject / retake decision."""
    return await _decide(inference, upload,
                         lambda p: p.verify(upload.images["selfie"], upload.images["reference"][0], upload.preset),
                         DecisionResponse.of)


@router.post("/v1/liveness", operation_id="liveness", response_model=DecisionResponse,
             responses=responses("the decision", *INFERENCE_ERRORS), openapi_extra=LIVENESS.operation())
async def liveness(inference: Admitted, upload: LivenessImages) -> DecisionResponse:
    """Passive liveness on selfie frames only."""
    return await _decide(inference, upload, lambda p: p.check_liveness(upload.images["selfie"]), DecisionResponse.of)


@router.post("/v1/compare", operation_id="compare", response_model=CompareResponse,
             responses=responses("the outcome", *INFERENCE_ERRORS), openapi_extra=COMPARE.operation())
async def compare(inference: Admitted, upload: CompareImages) -> CompareResponse:
    """Two images -> match / no_match (or retake when a face is missing).

    Makes no liveness claim (`liveness_checked` is always false): a printed photo matches its original,
    so a compare `match` must never be used alone to onboard anyone. Onboarding uses /v1/verify.
    """
    return await _decide(inference, upload,
                         lambda p: p.compare(upload.images["image1"][0], upload.images["image2"][0], upload.preset),
                         CompareResponse.of)
