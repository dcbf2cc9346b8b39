"""The heap set up as `faceseal serve` sets it (app/api/memory.py): back-to-back verifies do not fault their
buffers in again."""

import subprocess
import sys

from devkit.paths import REPO

# The real pipeline with the service's lanes verifying the dev pairs; the page faults of a second pass.
VERIFIES = """
import resource, sys
from app.api.memory import configure_heap
if sys.argv[1] == "configured":
    configure_heap()
from app.config import Settings
from app.inference.options import pipeline_options
from app.inference.pipeline import Pipeline
from app.integrity.gate import open_sealed_set
from app.integrity.trust import load_trust
from devkit.load import pairs
settings = Settings()
sealed = open_sealed_set(settings.models_dir, load_trust(settings.trust_file), True, settings.ort_threads)
pipeline = Pipeline(sealed, pipeline_options(settings, sealed))
images = pairs()
for selfie, reference in images:
    pipeline.verify([selfie], reference)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for selfie, reference in images:
    pipeline.verify([selfie], reference)
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / len(images))
"""


def faults_per_verify(mode: str) -> float:
    result = subprocess.run([sys.executable, "-c", VERIFIES, mode], cwd=REPO, capture_output=True, text=True,
                            check=True, timeout=300)
    return float(result.stdout)


def test_back_to_back_verifies_reuse_the_heap() -> None:
    """Measured on the 12 full-size load pairs: 0-40 faults per verify configured; 250-5,900 with glibc's
    defaults (up to 10 ms of kernel time), which vary with the heap's layout run to run."""
    assert faults_per_verify("configured") < 100
