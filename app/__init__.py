"""faceseal: sealed face-verification microservice."""

import os

# onnxruntime's telemetry writes a device id and an event queue for a Microsoft endpoint under
# ~/.cache/Microsoft/DeveloperTools/ when it is imported (and warns, in colour, on a read-only HOME).
# disable_telemetry_events() after the import does not stop that; this variable set before it does.
# Every entry point (the CLI, `python -m app`, tests, bench, the model build) imports this package before
# onnxruntime. Forced, not defaulted: no environment can turn it back on.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

__version__ = "0.1.0"
