"""Benchmarks. `app` is imported first so onnxruntime telemetry is off before any benchmark imports it."""

import app  # noqa: F401
