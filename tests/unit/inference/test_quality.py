"""Quality measures on synthetic geometry with known answers."""

import numpy as np
import pytest

from app.inference.faces import Face
from app.inference.quality import context_share


def _face(box: list[float]) -> Face:
    return Face(box=np.array(box, dtype=np.float64), landmarks=np.zeros((5, 2)), score=1.0)


def test_context_share_is_the_part_of_the_crop_inside_the_image() -> None:
    centred = _face([150, 100, 250, 200])  # 100 px box in a 400 x 300 image
    assert context_share(centred, (300, 400, 3), 1.5) == 1.0
    assert context_share(centred, (300, 400, 3), 4.0) == pytest.approx((300 / 400) * (400 / 400))
    tight = _face([0, 0, 400, 300])  # a forehead-to-chin crop: the box is the image
    assert context_share(tight, (300, 400, 3), 1.5) == pytest.approx((400 * 300) / 600**2)
