"""The audit trail: one JSON line per decision, enough to reproduce it, nothing biometric.

Carries request id, client, decision, reasons, scores, operating point, policy and model
digests and the SHA-256 of each uploaded image (never the image).
"""

import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.integrity.digests import sha256_bytes
from app.telemetry.logs import iso_utc

_logger = logging.getLogger("faceseal.audit")
# What the line keeps of an answer: all findings and every detail, whoever asked.
FINDINGS = frozenset({"decision", "reasons", "liveness_checked", "match", "liveness", "frames", "faces", "details"})


@dataclass(frozen=True)
class RequestContext:
    """Who asked, on which route, under which ids, and whether the answer carried the details."""

    request_id: str
    client_request_id: str | None
    client_id: str
    route: str
    details_returned: bool


def decision_record(context: RequestContext, answer: Mapping[str, Any], lock_sha256: str,
                    images: Mapping[str, list[bytes]], latency_s: float) -> dict[str, Any]:
    """The line of one decision. `answer` is the full answer as JSON-ready data, details included whether or not
    the client got them: the line records exactly what the service decided, with what policy and models."""
    return {
        "request_id": context.request_id,
        "client_request_id": context.client_request_id,
        "client_id": context.client_id,
        "route": context.route,
        **{name: value for name, value in answer.items() if name in FINDINGS},
        "details_returned": context.details_returned,
        "policy": answer["policy"],
        "models": {model["name"]: model["sha256"] for model in answer["models"]},
        "lock_sha256": lock_sha256,
        "sealed": answer["sealed"],
        "inputs_sha256": {name: [sha256_bytes(data) for data in datas] for name, datas in images.items()},
        "latency_ms": round(latency_s * 1000, 2),
    }


class AuditLog:
    def __init__(self, file: Path | None) -> None:
        self._file = file
        self._lock = threading.Lock()

    def record(self, event: dict[str, Any]) -> None:
        entry = {"event": "decision", "ts": iso_utc(time.time()), **event}
        _logger.info("decision", extra={"fields": entry})
        if self._file:
            line = json.dumps(entry, separators=(",", ":"), default=str) + "\n"
            with self._lock, self._file.open("a", encoding="utf-8") as handle:
                handle.write(line)
