"""The liveness crop, on synthetic geometry with known answers."""

import cv2
import numpy as np

from app.inference.faces import Face
from app.inference.liveness import reflect_pad_crop, shift_inside_crop


def _face(box: list[float]) -> Face:
    return Face(box=np.array(box, dtype=np.float64), landmarks=np.zeros((5, 2)), score=1.0)


def test_liveness_crop_is_square_scaled_and_mirror_padded() -> None:
    image = np.zeros((100, 100, 3), np.uint8)
    image[:, :50] = 200  # left half bright
    crop = reflect_pad_crop(image, _face([0, 25, 50, 75]), scale=1.5, size=128)
    assert crop.shape == (128, 128, 3)
    # Box centre x=25, side 75: columns -12.5..62.5; the part left of 0 mirrors the bright half.
    assert crop[:, :10].mean() > 150 and crop[:, -10:].mean() < 50


def test_liveness_crop_survives_padding_larger_than_the_image() -> None:
    image = np.full((20, 30, 3), 90, np.uint8)
    crop = reflect_pad_crop(image, _face([0, 0, 30, 20]), scale=4.0, size=64)
    assert crop.shape == (64, 64, 3) and int(crop.mean()) == 90


def test_shift_inside_crop_stays_in_the_image_and_caps_the_scale() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    image[:, 150:] = 255  # right quarter bright
    crop = shift_inside_crop(image, _face([170, 40, 190, 60]), scale=2.7, size=80)
    # A 54 px box around x=180 would leave the image on the right; it is shifted left instead.
    assert crop.shape == (80, 80, 3) and crop[:, -5:].mean() == 255 and crop[:, :5].mean() == 0
    whole = shift_inside_crop(image, _face([50, 10, 150, 90]), scale=4.0, size=80)
    assert whole.shape == (80, 80, 3)  # scale capped so the crop fits: 99/80 of the box height


def test_liveness_crop_mirrors_exactly_as_opencv_border_reflect_101() -> None:
    """Windows near the edges (one reflection) and far outside (repeated folding) alike."""
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (40, 70, 3), dtype=np.uint8)
    pad = 150
    reference = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
    for reach in (39, pad):
        for _ in range(200):
            side = int(rng.integers(1, 2 * reach))
            x0, y0 = int(rng.integers(-reach, 70 + reach - side)), int(rng.integers(-reach, 40 + reach - side))
            crop = reflect_pad_crop(image, _face([x0, y0, x0 + side, y0 + side]), scale=1.0, size=side)
            assert np.array_equal(crop, reference[y0 + pad : y0 + pad + side, x0 + pad : x0 + pad + side])


def test_liveness_crops_move_continuously_with_the_face_box() -> None:
    """A box that differs by 1e-4 px (as between CPUs) must not move a crop by a pixel row: cutting at
    integer edges made one model's P(real) jump from 0.35 to 0.19 for a dev face."""
    rng = np.random.default_rng(11)
    image = cv2.GaussianBlur(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8), (0, 0), 2.0)
    # Boxes whose crop edges sit 5e-5 px below a rounding (reflect_pad) or truncation (shift_inside) edge.
    for crop in (reflect_pad_crop, shift_inside_crop):
        for start in (100.34995, 100.75495, 120.0):
            before = crop(image, _face([start, start, start + 90.3, start + 110.7]), scale=2.7, size=80)
            moved = _face([start + 1e-4, start + 1e-4, start + 90.3001, start + 110.7001])
            after = crop(image, moved, scale=2.7, size=80)
            assert np.abs(before.astype(int) - after.astype(int)).max() <= 1, (crop.__name__, start)
