"""What the pipeline is tuned by, gathered once: the service's settings and the sealed policy.

The models' own contracts (input layout, colour order, normalisation, crops) stay with each model in
the sealed lock and are checked by its wrapper; everything else the pipeline reads comes from here,
so no part of it looks at the environment or the lock on its own.
"""

from dataclasses import dataclass

from app.config import Settings
from app.inference.imaging import ImageLimits
from app.inference.policy import Policy
from app.integrity.gate import SealedSet


@dataclass(frozen=True)
class PipelineOptions:
    policy: Policy
    lanes: int
    image_limits: ImageLimits
    max_request_pixels: int
    detector_long_side: int
    detector_large_side: int
    detector_score: float
    reference_detector_long_side: int
    reference_detector_score: float
    dominant_face_ratio: float


def pipeline_options(settings: Settings, sealed: SealedSet) -> PipelineOptions:
    """The options of a pipeline serving `sealed` under `settings`: its policy is the sealed set's."""
    return PipelineOptions(
        policy=Policy.from_bytes(sealed.policy_bytes),
        lanes=settings.lanes,
        image_limits=ImageLimits(settings.max_image_bytes, settings.max_image_pixels, settings.max_image_side,
                                 settings.decode_work_side),
        max_request_pixels=settings.max_request_pixels,
        detector_long_side=settings.detector_long_side,
        detector_large_side=settings.detector_large_side,
        detector_score=settings.detector_score,
        reference_detector_long_side=settings.reference_detector_long_side,
        reference_detector_score=settings.reference_detector_score,
        dominant_face_ratio=settings.dominant_face_ratio,
    )
