"""Everything a running faceseal holds: settings, the sealed model set, pipeline and guards (domain objects only:
what an answer looks like is the API layer's, app/api/schemas.py)."""

import asyncio
import logging
import time
from dataclasses import dataclass

from app.api.admission import Admission
from app.api.auth import KeyRing, RateLimiter, load_keys
from app.api.throttle import FailedAuthThrottle
from app.config import Settings
from app.inference.options import pipeline_options
from app.inference.pipeline import Pipeline
from app.integrity.gate import IntegrityError, SealedSet, reverify_files
from app.telemetry.audit import AuditLog
from app.telemetry.metrics import INTEGRITY_CHECKS, INTEGRITY_OK, LOCK_VERSION, MODEL_INFO, set_build_info

_logger = logging.getLogger("faceseal.integrity")


@dataclass
class Service:
    settings: Settings
    sealed: SealedSet
    pipeline: Pipeline
    admission: Admission
    keyring: KeyRing | None
    rate_limiter: RateLimiter
    auth_throttle: FailedAuthThrottle
    audit: AuditLog
    startup_timings_s: dict[str, float]  # the gate's phases plus warm-up
    is_sealed: bool  # signature verified against the baked trust anchors: false in development mode
    integrity_ok: bool = True

    @classmethod
    def start(cls, settings: Settings, sealed: SealedSet) -> "Service":
        if settings.api_keys_file is None and not settings.auth_disabled:
            raise ValueError("set FACESEAL_API_KEYS_FILE (or FACESEAL_AUTH_DISABLED=true for local development)")
        keyring = (KeyRing(load_keys(settings.api_keys_file))
                   if settings.api_keys_file and not settings.auth_disabled else None)
        is_sealed = sealed.signature_verified and not settings.development
        if not is_sealed:
            _logger.warning("NOT SEALED (development mode): every response and audit line says sealed=false")
        pipeline = Pipeline(sealed, pipeline_options(settings, sealed))
        started = time.perf_counter()
        pipeline.warm_up()
        warm_up_s = time.perf_counter() - started
        service = cls(
            settings=settings,
            sealed=sealed,
            pipeline=pipeline,
            admission=Admission(settings.max_concurrency, settings.max_queue, settings.queue_timeout_s),
            keyring=keyring,
            rate_limiter=RateLimiter(settings.rate_limit_per_minute),
            auth_throttle=FailedAuthThrottle(settings.auth_failure_limit, settings.auth_failure_window_s),
            audit=AuditLog(settings.audit_log_file),
            startup_timings_s={**sealed.timings_s, "warm_up": warm_up_s},
            is_sealed=is_sealed,
        )
        for model in sealed.lock.models:
            MODEL_INFO.labels(model.name, model.version, model.role, model.sha256).set(1)
        LOCK_VERSION.set(sealed.lock.lock_version)
        set_build_info(sealed.lock_sha256, sealed.signer_key_id, is_sealed)
        INTEGRITY_OK.set(1)
        return service

    def reverify(self) -> None:
        try:
            reverify_files(self.settings.models_dir, self.sealed)
        except IntegrityError as error:
            self.integrity_ok = False
            INTEGRITY_OK.set(0)
            INTEGRITY_CHECKS.labels("failed").inc()
            _logger.error(str(error), extra={"fields": {"model": error.subject, "check": error.check}})
            return
        INTEGRITY_CHECKS.labels("ok").inc()

    async def reverify_forever(self) -> None:
        """Fail closed: once a file on disk stops matching, stay not-ready until restarted."""
        interval = self.settings.reverify_interval_s
        while interval > 0 and self.integrity_ok:
            await asyncio.sleep(interval)
            await asyncio.to_thread(self.reverify)
