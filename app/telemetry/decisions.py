"""Decision metrics: outcomes, reasons, liveness verdicts, faces per image and stage latency of one result."""

from app.inference.results import CompareResult, VerifyResult
from app.telemetry.metrics import DECISION_REASONS, DECISIONS, FACES_PER_IMAGE, LIVENESS_VERDICTS, STAGE_LATENCY


def observe_decision(route: str, result: VerifyResult | CompareResult) -> None:
    outcome: str
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
