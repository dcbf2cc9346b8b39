"""FaceNet embeddings for aligned crops, all crops of a request in one batch."""

import numpy as np
import onnxruntime as ort

from app.integrity.lockfile import ModelEntry


class FaceEmbedder:
    def __init__(self, session: ort.InferenceSession, entry: ModelEntry) -> None:
        contract = entry.preprocessing
        self._session = session
        self._input = contract.input_name
        self._mean = np.float32(contract.mean)
        self._inv_std = np.float32(1.0 / contract.std)

    def embed(self, crops: list[np.ndarray]) -> np.ndarray:
        """(N, 512) L2-normalised embeddings for N aligned RGB 160x160 crops."""
        batch = (np.stack(crops).astype(np.float32) - self._mean) * self._inv_std
        (embeddings,) = self._session.run(None, {self._input: batch})
        return embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
