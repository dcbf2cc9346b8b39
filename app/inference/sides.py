"""The sides of a request (the selfie frames, a reference image) examined as lane tasks."""

from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from app.inference.alignment import align
from app.inference.analysis import FaceAnalyser, Frame, Kind
from app.inference.embedder import FaceEmbedder
from app.inference.inputs import Labelled, RequestImages
from app.inference.judging import LivenessJudge
from app.inference.lanes import Lanes, Timings
from app.inference.results import FaceAnalysis, LivenessResult


@dataclass
class Side:
    """One side of a request (the selfie frames, or one reference image) and what its lane tasks found."""

    analyses: list[FaceAnalysis]
    embeddings: list[np.ndarray | None] = field(default_factory=list, repr=False)
    liveness: LivenessResult | None = None


class SideExaminer:
    def __init__(self, images: RequestImages, analyser: FaceAnalyser, embedder: FaceEmbedder,
                 judge: LivenessJudge, lanes: Lanes) -> None:
        self.images = images
        self._analyser = analyser
        self._embedder = embedder
        self._judge = judge
        self._lanes = lanes

    def embed(self, aligned: np.ndarray, timings: Timings) -> np.ndarray:
        with timings.stage("embed"):
            embedding: np.ndarray
            (embedding,) = self._embedder.embed([aligned])
            return embedding

    def examine_reference(self, image: Labelled, timings: Timings) -> Side:
        """A reference image decoded, its face found and embedded (whatever its quality); one lane task."""
        analysis = self._analyser.analyse(self.images.decode(image, timings), "reference", timings)
        return Side([analysis], [self.embed(analysis.aligned, timings) if analysis.aligned is not None else None])

    def embed_largest(self, image: Labelled, kind: Kind, timings: Timings) -> np.ndarray | None:
        """The embedding of an image's largest face found by the kind's detector route, whatever its capture
        (a selfie's one-face rule included); None when it has no face. For evaluation, which matches each
        pair's first image as a selfie and its second as a reference."""
        rgb = self.images.decode(image, timings)
        faces = self._analyser.find(rgb, kind, timings)
        return self.embed(align(rgb, faces[0].landmarks), timings) if faces else None

    def start_reference(self, image: Labelled, timings: Timings) -> Future[Side]:
        return self._lanes.submit(self.examine_reference, image, timings)

    def _selfie_frame(self, image: Labelled, timings: Timings) -> Frame:
        rgb = self.images.decode(image, timings)
        return rgb, self._analyser.analyse(rgb, "selfie", timings)

    def start_selfie(self, images: list[Labelled], timings: Timings) -> list[Future[Frame]]:
        """One lane task per selfie frame, started now: decode it, find and assess its face."""
        return [self._lanes.submit(self._selfie_frame, image, timings) for image in images]

    def examine_selfie(self, found: list[Future[Frame]], timings: Timings, embed: bool) -> Side:
        """Once the faces are found: each frame's embedding (to bind the frames to one person and match
        every frame) and liveness, as lane tasks; embeddings are queued first because they are the longest.
        A single frame on the liveness route needs no embedding."""
        frames = [frame.result() for frame in found]
        analyses = [analysis for _, analysis in frames]
        embed = embed or len(frames) > 1
        tasks = [self._lanes.submit(self.embed, a.aligned, timings) if embed and a.aligned is not None else None
                 for a in analyses]
        liveness = self._judge.judge(frames, timings)
        return Side(analyses, [task.result() if task else None for task in tasks], liveness)
