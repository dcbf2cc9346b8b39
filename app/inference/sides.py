"""The sides of a request (the selfie frames, a reference image) examined as lane tasks."""

from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace

import numpy as np

from app.inference.alignment import align
from app.inference.analysis import FaceAnalyser, Frame, Kind
from app.inference.embedder import FaceEmbedder
from app.inference.inputs import Labelled, RequestImages
from app.inference.judging import LivenessJudge
from app.inference.lanes import Lanes, Timings
from app.inference.results import FaceAnalysis, LivenessResult


@dataclass(frozen=True)
class Side:
    """One side of a request (the selfie frames, or one reference image) and what its lane tasks found.
    `embedding_pending`: its faces are still to be embedded, in the request's one batch (made by
    `SideExaminer.examine_selfie` or `SideExaminer.embedded`)."""

    analyses: list[FaceAnalysis]
    embeddings: list[np.ndarray | None] = field(default_factory=list, repr=False)
    liveness: LivenessResult | None = None
    embedding_pending: bool = False


class SideExaminer:
    def __init__(self, images: RequestImages, analyser: FaceAnalyser, embedder: FaceEmbedder,
                 judge: LivenessJudge, lanes: Lanes) -> None:
        self.images = images
        self._analyser = analyser
        self._embedder = embedder
        self._judge = judge
        self._lanes = lanes

    def batches_embeddings(self) -> bool:
        """Whether a request starting now embeds its faces in one batch: on one lane, or when any lane task
        (another request's, running or queued) is unfinished, so that its own embedding tasks would mostly run
        instead of other work rather than beside the rest of this request. FaceNet then streams its 94 MB of
        weights once: two faces cost 26.9 instead of 2 x 14.6 ms of CPU, with bit-identical embeddings
        (tests/e2e/test_pipeline.py checks that on every machine it runs on). A request alone on idle lanes
        embeds each side in a task of its own, beside the other side's detection, which keeps its latency low."""
        return self._lanes.count == 1 or not self._lanes.idle

    def embed(self, crops: list[np.ndarray], timings: Timings) -> list[np.ndarray]:
        """One embedding per aligned crop, in one batch."""
        with timings.stage("embed"):
            return list(self._embedder.embed(crops))

    def examine_reference(self, image: Labelled, timings: Timings, batched: bool) -> Side:
        """A reference image decoded, its face found and embedded (whatever its quality); one lane task,
        which leaves the embedding to the request's batch when `batched`."""
        analysis = self._analyser.analyse(self.images.decode(image, timings), "reference", timings)
        if batched:
            return Side([analysis], embedding_pending=True)
        aligned = analysis.aligned
        return Side([analysis], [self.embed([aligned], timings)[0] if aligned is not None else None])

    def embed_largest(self, image: Labelled, kind: Kind, timings: Timings) -> np.ndarray | None:
        """The embedding of an image's largest face found by the kind's detector route, whatever its capture
        (a selfie's one-face rule included); None when it has no face. For evaluation, which matches each
        pair's first image as a selfie and its second as a reference."""
        rgb = self.images.decode(image, timings)
        faces = self._analyser.find(rgb, kind, timings)
        return self.embed([align(rgb, faces[0].landmarks)], timings)[0] if faces else None

    def start_reference(self, image: Labelled, timings: Timings, batched: bool) -> Future[Side]:
        return self._lanes.submit(self.examine_reference, image, timings, batched)

    def _selfie_frame(self, image: Labelled, timings: Timings) -> Frame:
        rgb = self.images.decode(image, timings)
        return rgb, self._analyser.analyse(rgb, "selfie", timings)

    def start_selfie(self, images: list[Labelled], timings: Timings) -> list[Future[Frame]]:
        """One lane task per selfie frame, started now: decode it, find and assess its face."""
        return [self._lanes.submit(self._selfie_frame, image, timings) for image in images]

    def examine_selfie(self, found: list[Future[Frame]], timings: Timings, embed: bool, batched: bool,
                       beside: Sequence[Future[Side]] = ()) -> list[Side]:
        """Once the faces are found: each frame's embedding (to bind the frames to one person and match every
        frame) and liveness, as lane tasks; the selfie's side comes back first, then the request's other sides
        (`beside`). Embeddings are queued before liveness because they are the longest: each frame's in a task
        of its own, or, when `batched`, every pending face of the request in one task. A single frame on the
        liveness route needs no embedding."""
        frames = [frame.result() for frame in found]
        analyses = [analysis for _, analysis in frames]
        embed = embed or len(frames) > 1
        if batched:
            sides = [Side(analyses, embedding_pending=embed), *(side.result() for side in beside)]
            batch = self._start_batch(sides, timings)
            liveness = self._judge.judge(frames, timings)
            selfie, *others = self._filled(sides, batch)
            return [replace(selfie, liveness=liveness), *others]
        tasks = [self._lanes.submit(self.embed, [a.aligned], timings) if embed and a.aligned is not None else None
                 for a in analyses]
        liveness = self._judge.judge(frames, timings)
        selfie = Side(analyses, [task.result()[0] if task else None for task in tasks], liveness)
        return [selfie, *(side.result() for side in beside)]

    def embedded(self, sides: list[Side], timings: Timings) -> list[Side]:
        """The sides with every pending embedding made, in one lane task and one batch (sides embedded in
        their own tasks come back as they are)."""
        return self._filled(sides, self._start_batch(sides, timings))

    def _start_batch(self, sides: list[Side], timings: Timings) -> Future[list[np.ndarray]] | None:
        crops = [a.aligned for side in sides if side.embedding_pending for a in side.analyses if a.aligned is not None]
        return self._lanes.submit(self.embed, crops, timings) if crops else None

    @staticmethod
    def _filled(sides: list[Side], batch: Future[list[np.ndarray]] | None) -> list[Side]:
        """The sides with the batch's embeddings put back in the order `_start_batch` took the faces."""
        slots = [(i, j) for i, side in enumerate(sides) if side.embedding_pending
                 for j, a in enumerate(side.analyses) if a.aligned is not None]
        made: dict[tuple[int, int], np.ndarray] = dict(zip(slots, batch.result() if batch else [], strict=True))
        return [replace(side, embedding_pending=False,
                        embeddings=[made.get((i, j)) for j in range(len(side.analyses))])
                if side.embedding_pending else side for i, side in enumerate(sides)]
