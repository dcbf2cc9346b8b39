"""The inference pipeline: image bytes in, scores and a decision out.

Data flows one way: bytes -> image -> faces -> aligned / liveness crops -> scores -> decision.
Nothing here keeps an image, crop or embedding beyond the call that made it. This facade builds the
parts once from the sealed set (`inputs`, `finding`, `analysis`, `judging`, `sides` on shared `lanes`)
and offers the use cases (`usecases`) plus the one stage evaluation needs on its own.
"""

import numpy as np

from app.inference import usecases
from app.inference.alignment import ALIGNED_SIDE
from app.inference.analysis import FaceAnalyser, Kind
from app.inference.detector import FaceDetector
from app.inference.embedder import FaceEmbedder
from app.inference.faces import Face
from app.inference.finding import FaceFinder, ReferenceFinder
from app.inference.inputs import RequestImages
from app.inference.judging import LivenessJudge
from app.inference.lanes import Lanes, Timings
from app.inference.liveness import LivenessEnsemble, LivenessModel
from app.inference.options import PipelineOptions
from app.inference.results import CompareResult, VerifyResult
from app.inference.sides import SideExaminer
from app.inference.yunet import YuNetDetector
from app.integrity.gate import SealedSet


class Pipeline:
    def __init__(self, sealed: SealedSet, options: PipelineOptions) -> None:
        """The sessions and model contracts come from `sealed`; everything else from `options`."""
        (detector,), (embedder,) = sealed.by_role("detector"), sealed.by_role("embedder")
        (reference_detector,) = sealed.by_role("reference-detector")
        self.options = options
        self.policy = options.policy
        self.lanes = Lanes(options.lanes)
        self.finder = FaceFinder(FaceDetector(detector.session, detector.entry, options.detector_score),
                                 options.detector_long_side, options.detector_large_side)
        self.reference_finder = ReferenceFinder(
            YuNetDetector(reference_detector.session, reference_detector.entry, options.reference_detector_score),
            options.reference_detector_long_side, self.finder,
        )
        self.embedder = FaceEmbedder(embedder.session, embedder.entry)
        self.liveness = LivenessEnsemble(
            [LivenessModel(m.session, m.entry) for m in sealed.by_role("liveness")], self.policy.liveness
        )
        analyser = FaceAnalyser({"selfie": self.finder, "reference": self.reference_finder}, self.policy.capture,
                                options.dominant_face_ratio, self.liveness.tightest_crop_scale)
        self.sides = SideExaminer(RequestImages(options.image_limits, options.max_request_pixels), analyser,
                                  self.embedder, LivenessJudge(self.liveness, self.policy, self.lanes), self.lanes)

    def warm_up(self) -> None:
        """Run each model once at serving shapes so the first request does not pay for allocation."""
        size = self.finder.long_side
        blank = np.full((size * 3 // 4, size, 3), 127, np.uint8)
        self.finder.detector.detect(blank, size)
        self.reference_finder.detector.detect(blank, self.reference_finder.long_side)
        self.embedder.embed([blank[:ALIGNED_SIDE, :ALIGNED_SIDE]])
        face = Face(np.array([100.0, 60, 260, 260]), np.zeros((5, 2)), 1.0)
        for model in self.liveness.models:
            model.score([(blank, face)], self.policy.liveness.flip_average)

    def close(self) -> None:
        """Shut the lanes down; the pipeline takes no request after this."""
        self.lanes.close()

    def verify(self, selfies: list[bytes], reference: bytes, preset: str | None = None) -> VerifyResult:
        return usecases.verify(self.sides, self.policy, selfies, reference, preset)

    def check_liveness(self, selfies: list[bytes]) -> VerifyResult:
        return usecases.check_liveness(self.sides, self.policy, selfies)

    def compare(self, image1: bytes, image2: bytes, preset: str | None = None) -> CompareResult:
        return usecases.compare(self.sides, self.policy, image1, image2, preset)

    def embed_face(self, image: bytes, kind: Kind, label: str = "image") -> np.ndarray | None:
        """The embedding of an image's largest face found by the `kind`'s detector route, whatever its
        capture quality, in the calling thread; None when it has no face. For evaluation, which scores
        every pair of a set from one embedding per image and route. Raises `InputError` for an image the
        service would refuse."""
        (checked,) = self.sides.images.check_all([(label, image)])
        return self.sides.embed_largest(checked, kind, Timings())
