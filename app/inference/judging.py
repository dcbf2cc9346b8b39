"""Liveness of a selfie's frames: each model in its own lane task, fused and judged by the sealed policy."""

import numpy as np

from app.inference.analysis import Frame
from app.inference.faces import Face
from app.inference.lanes import Lanes, Timings
from app.inference.liveness import LivenessEnsemble, LivenessModel
from app.inference.policy import Policy, Verdict
from app.inference.results import LivenessResult


class LivenessJudge:
    def __init__(self, ensemble: LivenessEnsemble, policy: Policy, lanes: Lanes) -> None:
        self.ensemble = ensemble
        self._policy = policy
        self._lanes = lanes

    def _score_with(self, model: LivenessModel, pairs: list[tuple[np.ndarray, Face]], timings: Timings) -> np.ndarray:
        with timings.stage("liveness"):
            return model.score(pairs, self._policy.liveness.flip_average)

    def judge(self, frames: list[Frame], timings: Timings) -> LivenessResult | None:
        """Liveness of every frame whose capture allows it (no problem of any kind), each model in its own
        lane task; None when no frame can be judged."""
        judged = [i for i, (_, analysis) in enumerate(frames) if analysis.face and not analysis.problems]
        if not judged:
            return None
        pairs = [(frames[i][0], face) for i in judged if (face := frames[i][1].face)]  # every judged frame has one
        futures = {m.name: self._lanes.submit(self._score_with, m, pairs, timings) for m in self.ensemble.models}
        log_odds = {name: future.result() for name, future in futures.items()}
        fused = self.ensemble.fuse(log_odds)
        scores: list[float | None] = [None] * len(frames)
        verdicts: list[Verdict | None] = [None] * len(frames)
        per_model: dict[str, list[float | None]] = {name: [None] * len(frames) for name in log_odds}
        for position, frame in enumerate(judged):
            scores[frame] = float(fused[position])
            verdicts[frame] = self._policy.liveness_verdict(float(fused[position]))
            for name, values in log_odds.items():
                per_model[name][frame] = float(values[position])
        # A frame that could not be judged leaves the whole selfie unproven: never "live" overall.
        worst: Verdict = ("spoof" if "spoof" in verdicts else "live" if all(v == "live" for v in verdicts)
                          else "uncertain")
        point = self._policy.liveness
        return LivenessResult(worst, float(fused.min()), point.live_from, point.spoof_below, scores, verdicts,
                              per_model)
