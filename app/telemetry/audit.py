"""The audit trail: one JSON line per decision, enough to reproduce it, nothing biometric.

Carries request id, client, decision, reasons, scores, operating point, policy and model
digests and the SHA-256 of each uploaded image (never the image).
"""

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

_logger = logging.getLogger("faceseal.audit")


class AuditLog:
    def __init__(self, file: Path | None) -> None:
        self._file = file
        self._lock = threading.Lock()

    def record(self, event: dict[str, Any]) -> None:
        entry = {"event": "decision", "ts": time.time(), **event}
        _logger.info("decision", extra={"fields": entry})
        if self._file:
            line = json.dumps(entry, separators=(",", ":"), default=str) + "\n"
            with self._lock, self._file.open("a", encoding="utf-8") as handle:
                handle.write(line)
