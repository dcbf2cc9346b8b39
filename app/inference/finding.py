"""Face finding: the detector's normal pass, then the retries that rescue tight crops and small faces.

Two routes. A selfie frame goes through CenterFace's search (`FaceFinder`): its boxes are what the
liveness models were calibrated on, so changing the detector would move every liveness score. A
reference image goes to YuNet at a small size first and to that same search only when YuNet finds
nothing (`ReferenceFinder`): a reference is only matched, and its landmarks are all the match uses.
"""

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from app.inference.detector import FaceDetector
from app.inference.faces import Face
from app.inference.yunet import YuNetDetector

# Tight crops (forehead to chin) defeat CenterFace; shrinking the face inside a border cures most.
PADDED_RETRIES = ((0.5, cv2.BORDER_CONSTANT), (0.25, cv2.BORDER_REPLICATE), (1.0, cv2.BORDER_CONSTANT))


class Finder(Protocol):
    def find(self, rgb: np.ndarray) -> list[Face]: ...


@dataclass(frozen=True)
class FaceFinder:
    detector: FaceDetector
    long_side: int
    large_side: int

    def find(self, rgb: np.ndarray) -> list[Face]:
        """Normal pass; if it finds nothing, padded passes for tight crops, or for an image larger than the
        large pass, that pass for small faces instead.

        Bounded so an image without a face costs under twice one with a face, not 2.6-2.9x
        (docs/PERFORMANCE.md): four passes at the detector's size, or one and the large pass (4 normal ones at twice
        the size). Below its own size the large pass could only enlarge the image, and the normal pass finds
        faces 6 px between the eyes (40 of 40 dev faces), so 12 px on an image twice its size: fewer than a
        selfie or a reference may have. On the dev data (1,407 images) padded passes found faces only in
        images under 480 px and the large pass none: every face found is the same as before.

        Padding happens on a copy already shrunk to the detector's size: the same input the detector
        would see, without allocating a padded full-resolution image (up to 9x its pixels).
        """
        size, large = self.long_side, self.large_side
        faces = self.detector.detect(rgb, size)
        if faces or min(rgb.shape[:2]) * size < max(rgb.shape[:2]):  # under 1 px thick at the detector's size:
            return faces  # no face, and a copy shrunk to that size would have no pixels
        if max(rgb.shape[:2]) > large:
            return self.detector.detect(rgb, large)
        scale = min(1.0, size / max(rgb.shape[:2]))
        small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
        for fraction, border in PADDED_RETRIES:
            pad = int(fraction * max(small.shape[:2]))
            padded = cv2.copyMakeBorder(small, pad, pad, pad, pad, border, value=(127, 127, 127))
            found = self.detector.detect(padded, size)
            if found:
                return [face.unmapped(pad, scale) for face in found]
        return []


@dataclass(frozen=True)
class ReferenceFinder:
    detector: YuNetDetector
    long_side: int
    fallback: FaceFinder

    def find(self, rgb: np.ndarray) -> list[Face]:
        """YuNet's single pass (2.2 ms against CenterFace's 18 ms on the dev references, and it found all
        201 of their faces); CenterFace's whole search, retries included, when it finds none, so a
        reference only YuNet misses (a tight crop, a rotated face) is still found as before."""
        return self.detector.detect(rgb, self.long_side) or self.fallback.find(rgb)
