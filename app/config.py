"""Service configuration: `FACESEAL_*` environment variables, validated once at start."""

from pathlib import Path

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.integrity.trust import DEFAULT_TRUST_FILE, load_trust


def _development_only() -> PydanticCustomError:
    return PydanticCustomError("development_only", "honoured only in development mode (FACESEAL_DEVELOPMENT=true)")


# Settings that change what the sealed models see: fixed at the values the policy was calibrated with.
CALIBRATED_SETTINGS = ("decode_work_side", "detector_long_side", "detector_large_side", "detector_score",
                    "reference_detector_long_side", "reference_detector_score", "dominant_face_ratio")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FACESEAL_", frozen=True)

    # Integrity. `development` comes first: trust_file, require_signature and the calibrated settings are validated
    # against it.
    development: bool = Field(False, description="honour trust_file, require_signature=false and other values for "
                              "the calibrated settings; nothing is then sealed")
    models_dir: Path = Path("models")
    trust_file: Path = DEFAULT_TRUST_FILE
    require_signature: bool = True
    reverify_interval_s: float = Field(60.0, ge=0, description="0 disables periodic re-verification")

    # Runtime
    ort_threads: int = Field(1, ge=1, le=64, description="onnxruntime intra-op threads per session")
    lanes: int = Field(2, ge=1, le=64, description="threads running model work for all requests; one per core")
    max_concurrency: int = Field(2, ge=1, description="requests in inference at once")
    max_queue: int = Field(8, ge=0, description="requests waiting for a slot before 429")
    queue_timeout_s: float = Field(10.0, gt=0, description="longest wait for a slot before 503")

    # Requests
    max_body_bytes: int = Field(25 * 1024 * 1024, ge=1024)
    max_image_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    max_image_pixels: int = Field(40_000_000, ge=10_000)
    max_image_side: int = Field(12_000, ge=64)
    max_request_pixels: int = Field(80_000_000, ge=10_000, description="all images of a request, from their headers")
    max_frames: int = Field(5, ge=1, le=32)
    body_read_timeout_s: float = Field(15.0, gt=0, description="longest pause between body chunks")
    decode_work_side: int = Field(1280, ge=256, le=4096, description="JPEGs decode at 1/2, 1/4, 1/8 scale while "
                                  "their short side stays at least this")

    # Connections
    head_timeout_s: float = Field(10.0, gt=0, description="longest wait for a request's line and headers, then 408")
    keep_alive_s: int = Field(5, ge=1, description="an idle connection between requests is closed after this")
    max_connections: int = Field(256, ge=8,
                                 description="open connections; past it, the one waiting longest for a head is closed")

    # Detection
    detector_long_side: int = Field(480, ge=128, le=2048)
    detector_large_side: int = Field(960, ge=256, le=4096, description="small-face pass, on images larger than it")
    detector_score: float = Field(0.5, gt=0, lt=1)
    reference_detector_long_side: int = Field(320, ge=128, le=2048, description="YuNet's pass on a reference image")
    reference_detector_score: float = Field(0.6, gt=0, lt=1,
                                            description="YuNet's score; when no face reaches it, CenterFace searches")
    dominant_face_ratio: float = Field(0.4, gt=0, le=1,
                                       description="second face area / first above this = multiple_faces")

    # Auth, metrics, logging
    api_keys_file: Path | None = None
    auth_disabled: bool = False
    rate_limit_per_minute: int = Field(600, ge=1)
    auth_failure_limit: int = Field(10, ge=1, description="wrong API keys one address may send per window")
    auth_failure_window_s: float = Field(60.0, gt=0, description="the window over which that allowance refills")
    metrics_host: str = Field("127.0.0.1", description="the /metrics listener's address (never the API port)")
    metrics_port: int = Field(9464, ge=1, le=65535)
    docs: bool = Field(True, description="serve Swagger UI at /docs")
    audit_log_file: Path | None = None
    log_level: str = "INFO"

    @field_validator("development")
    @classmethod
    def _development_allowed_by_the_build(cls, development: bool) -> bool:
        """The baked trust anchors, not the environment, decide whether this build may be unsealed."""
        if development and not load_trust(DEFAULT_TRUST_FILE).development_allowed:
            raise PydanticCustomError("development_refused", "this build's trust anchors do not allow development mode")
        return development

    @field_validator("trust_file")
    @classmethod
    def _baked_trust_file(cls, trust_file: Path, info: ValidationInfo) -> Path:
        """Another trust file would let anyone sign their own lock, and with it their own thresholds."""
        if trust_file.resolve() != DEFAULT_TRUST_FILE.resolve() and not info.data.get("development"):
            raise _development_only()
        return trust_file

    @field_validator(*CALIBRATED_SETTINGS)
    @classmethod
    def _calibrated_value(cls, value: float, info: ValidationInfo) -> float:
        """What the models see decides the scores, and the policy was calibrated at these values: another would
        weaken decisions without touching a sealed byte (CenterFace at 320 px: BPCER 5.1 % -> 6.6 %)."""
        if value != cls.model_fields[str(info.field_name)].default and not info.data.get("development"):
            raise _development_only()
        return value

    @field_validator("require_signature")
    @classmethod
    def _signature_required(cls, require_signature: bool, info: ValidationInfo) -> bool:
        """An unchecked lock would let anyone edit a digest or a threshold."""
        if not require_signature and not info.data.get("development"):
            raise _development_only()
        return require_signature
