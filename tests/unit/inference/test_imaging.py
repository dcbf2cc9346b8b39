"""Decoding untrusted bytes: formats, orientation, odd pixel types, limits and hostile input."""

import io
import struct
import zlib
from collections.abc import Callable

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from PIL import Image

from app.inference.errors import InputError
from app.inference.imaging import ImageLimits, check_image, decode_checked
from devkit.paths import data_file

LIMITS = ImageLimits(max_bytes=5_000_000, max_pixels=20_000_000, max_side=8000, work_side=800)


def decode_image(data: bytes, limits: ImageLimits) -> np.ndarray:
    """What the pipeline does to each upload: the header checked, then the pixels decoded."""
    return decode_checked(check_image(data, limits), limits.work_side)


def _gradient(width: int = 64, height: int = 48) -> np.ndarray:
    """An RGB test pattern: red grows to the right, green downwards."""
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None].repeat(width, 1)
    return np.stack([x, y, np.full_like(x, 40)], axis=2).astype(np.uint8)


def _pil_bytes(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_decodes_each_format_to_rgb(fmt: str) -> None:
    rgb = _gradient()
    decoded = decode_image(_pil_bytes(Image.fromarray(rgb), fmt, quality=95), LIMITS)
    assert decoded.shape == rgb.shape and decoded.dtype == np.uint8
    assert np.abs(decoded.astype(int) - rgb.astype(int)).mean() < 4  # RGB order kept (not BGR)


@pytest.mark.parametrize(("work_side", "bgr_flag"), [(800, cv2.IMREAD_COLOR), (15, cv2.IMREAD_REDUCED_COLOR_4)])
def test_jpeg_pixels_are_exactly_opencvs_bgr_decode_reordered(work_side: int, bgr_flag: int) -> None:
    """Decoding straight to RGB must not move a single pixel: calibrated scores depend on them."""
    noisy = np.random.default_rng(7).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    payload = _pil_bytes(Image.fromarray(noisy), "JPEG", quality=90)
    limits = ImageLimits(LIMITS.max_bytes, LIMITS.max_pixels, LIMITS.max_side, work_side)
    bgr = cv2.imdecode(np.frombuffer(payload, np.uint8), bgr_flag)
    assert bgr is not None
    expected = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    assert np.array_equal(decode_image(payload, limits), expected)


def test_exif_orientation_is_applied() -> None:
    rgb = _gradient(64, 32)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    decoded = decode_image(_pil_bytes(Image.fromarray(rgb), "JPEG", quality=95, exif=exif.tobytes()), LIMITS)
    assert decoded.shape[:2] == (64, 32)
    expected = np.rot90(rgb, k=-1)
    assert np.abs(decoded.astype(int) - expected.astype(int)).mean() < 6


def test_grayscale_alpha_sixteen_bit_and_cmyk_become_rgb() -> None:
    gray = Image.fromarray(_gradient()[:, :, 0])
    rgba = Image.fromarray(np.dstack([_gradient(), np.full((48, 64), 128, np.uint8)]), "RGBA")
    cmyk = Image.fromarray(_gradient()).convert("CMYK")
    deep = cv2.imencode(".png", _gradient().astype(np.uint16) * 257)[1].tobytes()  # 16 bits per channel
    payloads = [_pil_bytes(gray, "PNG"), _pil_bytes(rgba, "PNG"), _pil_bytes(cmyk, "JPEG"), deep]
    for payload in payloads:
        decoded = decode_image(payload, LIMITS)
        assert decoded.shape == (48, 64, 3) and decoded.dtype == np.uint8


def _photo() -> np.ndarray:
    """A real dev photo (250x250 LFW portrait) as RGB."""
    portrait = data_file("verify-dev/lfw10/Ariel_Sharon/Ariel_Sharon_0001.jpg")
    rgb = cv2.imdecode(np.frombuffer(portrait, np.uint8), cv2.IMREAD_COLOR_RGB)
    assert rgb is not None
    return rgb


def _with_alpha(rgb: np.ndarray, alpha: np.ndarray | int) -> bytes:
    """An RGBA PNG: `rgb` under `alpha` (0 = fully transparent)."""
    return _pil_bytes(Image.fromarray(np.dstack([rgb, np.broadcast_to(np.uint8(alpha), rgb.shape[:2])]), "RGBA"), "PNG")


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: _with_alpha(_photo(), 0), id="fully-transparent-photo"),
        pytest.param(lambda: _with_alpha(_photo(), 1), id="nearly-transparent-photo"),
        pytest.param(lambda: _pil_bytes(Image.new("RGB", (640, 480), (93, 140, 200)), "PNG"), id="one-colour-png"),
        pytest.param(lambda: _pil_bytes(Image.new("L", (640, 480), 12), "JPEG"), id="one-colour-jpeg"),
    ],
)
def test_an_image_with_nothing_to_see_is_blank(make: Callable[[], bytes]) -> None:
    """Blank as a reviewer sees it, though a transparent photo's colour channels still hold a face."""
    with pytest.raises(InputError) as caught:
        decode_image(make(), LIMITS)
    assert (caught.value.code, caught.value.status) == ("blank_image", 422)


def test_transparent_pixels_are_shown_on_white_and_opaque_ones_unchanged() -> None:
    photo = _photo()
    alpha = np.zeros(photo.shape[:2], np.uint8)
    alpha[:, 125:] = 255
    decoded = decode_image(_with_alpha(photo, alpha), LIMITS)
    assert decoded.shape == photo.shape and decoded.dtype == np.uint8
    assert (decoded[:, :125] == 255).all() and np.array_equal(decoded[:, 125:], photo[:, 125:])


def test_exif_orientation_is_applied_to_images_with_alpha() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    rgba = Image.fromarray(np.dstack([_gradient(64, 32), np.full((32, 64), 255, np.uint8)]), "RGBA")
    decoded = decode_image(_pil_bytes(rgba, "PNG", exif=exif.tobytes()), LIMITS)
    assert np.array_equal(decoded, np.rot90(_gradient(64, 32), k=-1))


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that declares a huge canvas: the classic decompression bomb."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_from_the_header() -> None:
    bomb = _png_header_only(50_000, 50_000)
    assert len(bomb) < 2_000
    with pytest.raises(InputError) as caught:
        decode_image(bomb, LIMITS)
    assert caught.value.code == "image_too_large" and caught.value.status == 413


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_image"),
        (b"GIF89a" + b"\x00" * 20, "unsupported_format"),
        (b"%PDF-1.4 not an image", "unsupported_format"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 8, "corrupt_image"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 garbage", "corrupt_image"),
    ],
)
def test_bad_bytes_get_their_own_code(data: bytes, code: str) -> None:
    with pytest.raises(InputError) as caught:
        decode_image(data, LIMITS)
    assert caught.value.code == code


def test_truncated_jpeg_is_refused_or_decoded_never_crashes() -> None:
    full = _pil_bytes(Image.fromarray(_gradient(256, 256)), "JPEG")
    for cut in (20, 100, len(full) // 2):
        try:
            image = decode_image(full[:cut], LIMITS)
        except InputError as error:
            assert error.code == "corrupt_image"
        else:
            assert image.shape == (256, 256, 3)


def test_byte_limit_is_checked_first() -> None:
    with pytest.raises(InputError) as caught:
        decode_image(b"\xff\xd8\xff" + b"\x00" * 6_000_000, LIMITS)
    assert caught.value.code == "image_too_large"


@hsettings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048),
       st.sampled_from([b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF\x10\x00\x00\x00WEBPVP8 "]))
def test_any_bytes_give_an_image_or_an_input_error(payload: bytes, prefix: bytes) -> None:
    try:
        image = decode_image(prefix + payload, LIMITS)
    except InputError as error:
        assert error.status in (413, 415, 422)
    else:
        assert image.ndim == 3 and image.shape[2] == 3
