"""Reproducible model build: pinned sources -> verified bytes -> transforms -> lock.

`app` is imported first so onnxruntime telemetry is off before the build imports onnxruntime.
"""

import app  # noqa: F401
