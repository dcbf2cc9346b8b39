"""Upload profiles: bench.load's dev image pairs as stored, and as a mobile onboarding SDK uploads them.

Onboarding SDKs shrink a capture before upload (typically a long side of at most 1280 px, a few hundred KB),
so timings on the stored dev photos alone (up to 2500 px and 2.2 MB) describe a workload few clients send.
Profiles:

- `full`: the pairs' bytes as stored;
- `1280`, `640`: upright (EXIF orientation applied first, as a phone's camera pipeline does before it
  resizes), the long side capped at that many pixels with the aspect kept and never upscaled, re-encoded
  as baseline JPEG at quality 85 without metadata, like the SDKs' own compression step.

Made in memory on each run from the pairs the caller read (bench.load's `pairs`), never written into the
repository.
"""

import argparse
import io

from PIL import Image, ImageOps

FULL = "full"
# Profile name -> long-side cap in pixels (None: the bytes as stored).
PROFILES: dict[str, int | None] = {FULL: None, "1280": 1280, "640": 640}
JPEG_QUALITY = 85

Pair = tuple[bytes, bytes]


def capped_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """(width, height) with the long side at most `long_side`, the aspect kept to within a pixel; never larger."""
    ratio = long_side / max(width, height)
    if ratio >= 1:
        return width, height
    return max(1, round(width * ratio)), max(1, round(height * ratio))


def downscale(data: bytes, long_side: int, quality: int = JPEG_QUALITY) -> bytes:
    """`data` as an SDK uploads it: upright, long side capped at `long_side`, re-encoded as JPEG (always,
    even when already small enough, as an SDK compresses every capture)."""
    with Image.open(io.BytesIO(data)) as opened:
        upright = ImageOps.exif_transpose(opened).convert("RGB")
    size = capped_size(upright.width, upright.height, long_side)
    if size != upright.size:
        upright = upright.resize(size, Image.Resampling.LANCZOS)
    encoded = io.BytesIO()
    upright.save(encoded, "JPEG", quality=quality)
    return encoded.getvalue()


def apply(profile: str, data: bytes) -> bytes:
    long_side = PROFILES[profile]
    return data if long_side is None else downscale(data, long_side)


def profile_pairs(profile: str, stored: list[Pair]) -> list[Pair]:
    return [(apply(profile, selfie), apply(profile, reference)) for selfie, reference in stored]


def all_profiles(names: list[str], stored: list[Pair]) -> dict[str, list[Pair]]:
    """The stored pairs under each named profile, in the order given."""
    return {name: profile_pairs(name, stored) for name in names}


def mean_upload_kib(images: list[Pair]) -> float:
    """Mean size of one uploaded image."""
    sizes = [len(data) for pair in images for data in pair]
    return sum(sizes) / len(sizes) / 1024


def add_profile_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile", action="append", choices=list(PROFILES), dest="profiles",
        help="upload profile, repeatable (default: all): full = the dev pairs as stored, "
        "1280 / 640 = long side capped at that many px, JPEG quality 85",
    )


def chosen_profiles(named: list[str] | None) -> list[str]:
    """The profiles named on the command line, once each in the order given; all of them when none is."""
    return list(dict.fromkeys(named or PROFILES))
