"""Decode untrusted image bytes into an upright RGB array without ever over-allocating.

The header is read first (Pillow parses only the header on open), limits are enforced on the
declared size, and only then does OpenCV decode, honouring EXIF orientation and converting
grayscale, 16-bit and CMYK input to 8-bit RGB. libjpeg writes RGB directly
(`IMREAD_COLOR_RGB`): the same pixels as decoding to BGR and swapping, without a second full-size copy.
Images with transparency are shown as a reviewer's viewer shows them, on white; an image with nothing
to see (fully transparent, or one flat colour) is refused as `blank_image`.
"""

import io
import warnings
from dataclasses import dataclass, field
from typing import cast

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from app.inference.errors import InputError, ProblemCode

Image.MAX_IMAGE_PIXELS = None  # the limits below are ours and are checked before decoding

SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "JPEG": (b"\xff\xd8\xff",),
    "PNG": (b"\x89PNG\r\n\x1a\n",),
    "WEBP": (b"RIFF",),
}
# The REDUCED_GRAYSCALE_n flags carry only the scale; IMREAD_COLOR_RGB makes them colour, in RGB order.
REDUCED_FLAGS = (
    (8, cv2.IMREAD_REDUCED_GRAYSCALE_8 | cv2.IMREAD_COLOR_RGB),
    (4, cv2.IMREAD_REDUCED_GRAYSCALE_4 | cv2.IMREAD_COLOR_RGB),
    (2, cv2.IMREAD_REDUCED_GRAYSCALE_2 | cv2.IMREAD_COLOR_RGB),
)
PILLOW_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError)
ALPHA_MODES = frozenset({"RGBA", "LA", "PA"})
# A photo's colours vary; a flat colour does not. Dev photos (523 in verify-dev and liveness-dev) measure
# a per-channel standard deviation of at least 24 on this grid, a plain-wall crop 2.5: 1.0 is far below both.
BLANK_MAX_STD = 1.0
BLANK_GRID = 8  # every 8th pixel each way: 1/64 of the pixels, under 1 % of a JPEG decode's time


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int
    max_pixels: int
    max_side: int
    # Images whose short side exceeds this many times `work_side` are decoded at 1/2, 1/4, 1/8.
    work_side: int


def sniff_format(data: bytes) -> str:
    for name, magics in SIGNATURES.items():
        if any(data.startswith(magic) for magic in magics):
            if name == "WEBP" and data[8:12] != b"WEBP":
                continue
            return name
    raise InputError(ProblemCode.unsupported_format, "image must be JPEG, PNG or WebP", status=415)


def read_header(data: bytes, expected_format: str) -> tuple[int, int, bool]:
    """(width, height, has_alpha) from the header alone."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as header:
                if header.format != expected_format:
                    raise InputError(ProblemCode.corrupt_image,
                                     f"header says {header.format}, content says {expected_format}")
                has_alpha = header.mode in ALPHA_MODES or "transparency" in header.info
                return header.width, header.height, has_alpha
    except PILLOW_ERRORS as error:
        if isinstance(error, InputError):
            raise
        raise InputError(ProblemCode.corrupt_image, "image header could not be read") from None


def _reduction_flag(width: int, height: int, work_side: int) -> int:
    for factor, flag in REDUCED_FLAGS:
        if min(width, height) >= factor * work_side:
            return flag
    return cv2.IMREAD_COLOR_RGB


@dataclass(frozen=True)
class CheckedImage:
    """Bytes whose header passed every limit; decoding them cannot over-allocate."""

    data: bytes = field(repr=False)
    format: str
    width: int
    height: int
    has_alpha: bool


def check_image(data: bytes, limits: ImageLimits) -> CheckedImage:
    """Refuse from the header alone what must never be decoded: empty, too many bytes, an unknown
    format, too many pixels. Costs a header parse, so it runs before any image is decoded."""
    if not data:
        raise InputError(ProblemCode.empty_image, "image is empty")
    if len(data) > limits.max_bytes:
        raise InputError(ProblemCode.image_too_large, f"image exceeds {limits.max_bytes} bytes", status=413)
    image_format = sniff_format(data)
    width, height, has_alpha = read_header(data, image_format)
    if width < 1 or height < 1:
        raise InputError(ProblemCode.corrupt_image, "image has no pixels")
    if max(width, height) > limits.max_side or width * height > limits.max_pixels:
        raise InputError(
            ProblemCode.image_too_large,
            f"image is {width}x{height}; limits are {limits.max_side} px a side and {limits.max_pixels} pixels",
            status=413,
        )
    return CheckedImage(data, image_format, width, height, has_alpha)


def _decode_opaque(image: CheckedImage, work_side: int) -> np.ndarray:
    flag = _reduction_flag(image.width, image.height, work_side) if image.format == "JPEG" else cv2.IMREAD_COLOR_RGB
    rgb = cv2.imdecode(np.frombuffer(image.data, dtype=np.uint8), flag)
    if rgb is None or rgb.size == 0:
        raise InputError(ProblemCode.corrupt_image, "image data could not be decoded")
    return rgb


def _decode_on_white(data: bytes) -> np.ndarray:
    """Composite onto white, as a reviewer sees it; without this, pixels no one sees would be verified.

    Pillow decodes these: OpenCV keeps alpha only with IMREAD_UNCHANGED, which ignores EXIF orientation.
    Fully transparent is blank. A nearly transparent image becomes nearly white and the flat-colour rule
    refuses it; a small visible area is judged by face detection and quality, which know what is too small.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as opened:
                ImageOps.exif_transpose(opened, in_place=True)
                rgba = opened.convert("RGBA")
    except PILLOW_ERRORS:
        raise InputError(ProblemCode.corrupt_image, "image data could not be decoded") from None
    if cast(tuple[tuple[int, int], ...], rgba.getextrema())[3][1] == 0:  # an RGBA image: (min, max) per band
        raise InputError(ProblemCode.blank_image, "image is fully transparent: no visible content")
    shown = Image.new("RGB", rgba.size, (255, 255, 255))
    shown.paste(rgba, mask=rgba)
    del rgba  # freed before the array copy: a 36 MP image then peaks at 480 MiB, not 620
    return np.array(shown)


def _refuse_flat(rgb: np.ndarray) -> None:
    """One flat colour (a covered lens, a blank upload) has no face to verify; a sparse grid keeps this cheap."""
    _, std = cv2.meanStdDev(rgb[::BLANK_GRID, ::BLANK_GRID])
    if float(std.max()) < BLANK_MAX_STD:
        raise InputError(ProblemCode.blank_image, "image is a single flat colour: no visible content")


def decode_checked(image: CheckedImage, work_side: int) -> np.ndarray:
    """Return an upright HxWx3 uint8 RGB array or raise `InputError` (data the header did not reveal as
    corrupt, or an image with nothing to see). Images without alpha decode exactly as OpenCV decodes them."""
    rgb = _decode_on_white(image.data) if image.has_alpha else _decode_opaque(image, work_side)
    _refuse_flat(rgb)
    return rgb
