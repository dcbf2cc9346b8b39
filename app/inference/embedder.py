"""FaceNet embeddings for aligned crops, as many crops as a call brings in one batch."""

import numpy as np
import onnxruntime as ort

from app.inference.alignment import ALIGNED_SIDE
from app.inference.contract import require_all, require_input, single_output
from app.integrity.lockfile import ModelEntry


class FaceEmbedder:
    def __init__(self, session: ort.InferenceSession, entry: ModelEntry) -> None:
        """Feeds aligned RGB crops, NHWC, at the alignment template's size, normalised as the contract says;
        refuses a contract that asks for anything else."""
        require_all(entry, {"layout": ["NHWC"], "colour": ["RGB"], "size": [[ALIGNED_SIDE] * 2],
                            "crop_scale": [None], "crop_mode": [None], "real_index": [None]})
        contract = entry.preprocessing
        self._session = session
        self._input = require_input(entry)
        self._output = single_output(entry)
        self._mean = np.float32(contract.mean)
        self._inv_std = np.float32(1.0 / contract.std)

    def embed(self, crops: list[np.ndarray]) -> np.ndarray:
        """(N, 512) L2-normalised embeddings for N aligned RGB 160x160 crops."""
        batch = (np.stack(crops).astype(np.float32) - self._mean) * self._inv_std
        (embeddings,) = self._session.run([self._output], {self._input: batch})
        normalised: np.ndarray = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
        return normalised


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
