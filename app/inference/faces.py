"""The face record passed between detection, selection, quality and alignment."""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Face:
    box: np.ndarray  # x1, y1, x2, y2 in original pixels
    landmarks: np.ndarray  # 5 x (x, y): eye in image-left, other eye, nose, mouth left, mouth right
    score: float

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])

    @property
    def area(self) -> float:
        return self.width * self.height

    def unmapped(self, offset: float, scale: float) -> "Face":
        """Coordinates found on an image padded by `offset` after scaling by `scale`, mapped back."""
        return Face(box=(self.box - offset) / scale, landmarks=(self.landmarks - offset) / scale, score=self.score)

    @property
    def eye_distance(self) -> float:
        return float(np.linalg.norm(self.landmarks[1] - self.landmarks[0]))
