"""Prometheus metrics, `faceseal_` prefix, base units.

Scaling model: one uvicorn process per container (scale with replicas), so the default
process-local registry is exact; no multiprocess mode is needed.
"""

from prometheus_client import Counter, Gauge, Histogram, Info

from app import __version__

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)
STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28)
BYTES_BUCKETS = (1e4, 3e4, 1e5, 3e5, 1e6, 3e6, 1e7, 3e7)

REQUESTS = Counter("faceseal_http_requests_total", "HTTP requests answered", ["route", "method", "status"])
REQUEST_LATENCY = Histogram(
    "faceseal_http_request_duration_seconds", "Request latency", ["route"], buckets=LATENCY_BUCKETS
)
STAGE_LATENCY = Histogram(
    "faceseal_stage_duration_seconds", "Pipeline stage latency per request", ["stage"], buckets=STAGE_BUCKETS
)
DECISIONS = Counter("faceseal_decisions_total", "Decisions by outcome", ["route", "outcome"])
DECISION_REASONS = Counter("faceseal_decision_reasons_total", "Reasons attached to decisions", ["reason"])
LIVENESS_VERDICTS = Counter("faceseal_liveness_verdicts_total", "Liveness verdicts", ["verdict"])
FACES_PER_IMAGE = Histogram("faceseal_faces_per_image", "Faces detected per image", buckets=(0, 1, 2, 3, 5, 10))
IMAGE_BYTES = Histogram("faceseal_image_bytes", "Size of uploaded images", buckets=BYTES_BUCKETS)
IN_FLIGHT = Gauge("faceseal_inflight_requests", "Inferences running now")
QUEUE_DEPTH = Gauge("faceseal_queue_depth", "Requests waiting for an inference slot")
REJECTIONS = Counter("faceseal_admission_rejections_total", "Requests refused by admission control", ["reason"])
AUTH_FAILURES = Counter("faceseal_auth_failures_total", "Rejected credentials", ["reason"])
AUTH_THROTTLED = Counter(
    "faceseal_auth_throttled_total", "Requests refused unchecked: their address sent too many wrong API keys"
)
CLIENT_REQUESTS = Counter("faceseal_client_requests_total", "Authenticated requests by client", ["client_id", "route"])
MODEL_INFO = Gauge("faceseal_model_info", "Sealed models in service (value 1)", ["name", "version", "role", "sha256"])
INTEGRITY_OK = Gauge("faceseal_integrity_ok", "1 while every model and the lock verify, else 0")
INTEGRITY_CHECKS = Counter("faceseal_integrity_checks_total", "Integrity re-verifications", ["result"])
LOCK_VERSION = Gauge("faceseal_model_lock_version", "lock_version of the loaded model lock")
BUILD_INFO = Info("faceseal_build", "faceseal build information; lock, signer and seal once the service started")
BUILD_INFO.info({"version": __version__})


def set_build_info(lock_sha256: str, signer_key_id: str | None, sealed: bool) -> None:
    """One service per process, so the lock it runs and whether it is sealed are facts of the build."""
    BUILD_INFO.info({"version": __version__, "lock_sha256": lock_sha256, "signer_key_id": signer_key_id or "",
                     "sealed": "true" if sealed else "false"})
