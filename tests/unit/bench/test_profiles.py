"""Upload profiles shrink like a mobile SDK (cap, aspect, no upscaling, upright, JPEG) and leave `full` as stored;
bench.peer's pure pieces. No timings are asserted."""

import argparse
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PIL.JpegImagePlugin import JpegImageFile

from bench.load import profile_ms
from bench.peer import REPO, ensure_venv, ratio
from bench.peer_worker import largest
from bench.profiles import JPEG_QUALITY, PROFILES, all_profiles, apply, capped_size, chosen_profiles, mean_upload_kib


def _jpeg(width: int, height: int, orientation: int | None = None) -> bytes:
    """A photo-like JPEG: top half red, bottom half blue, so which way is up survives resizing and re-encoding."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[: height // 2] = (220, 30, 30)
    pixels[height // 2 :] = (30, 30, 220)
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    encoded = io.BytesIO()
    Image.fromarray(pixels).save(encoded, "JPEG", quality=95, exif=exif.tobytes())
    return encoded.getvalue()


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("profile", ["1280", "640"])
@pytest.mark.parametrize(("width", "height"), [(2500, 1728), (1382, 1868), (1000, 541), (3001, 7), (640, 640)])
def test_long_side_is_capped_and_aspect_kept(profile: str, width: int, height: int) -> None:
    cap = PROFILES[profile]
    assert cap is not None
    shrunk = _open(apply(profile, _jpeg(width, height)))
    assert shrunk.format == "JPEG"
    assert max(shrunk.size) == min(cap, max(width, height))
    # Aspect kept within a pixel: the short side is the exactly scaled one, rounded.
    scale = max(shrunk.size) / max(width, height)
    assert abs(shrunk.width - width * scale) <= 1 and abs(shrunk.height - height * scale) <= 1


@pytest.mark.parametrize("profile", ["1280", "640"])
def test_small_images_are_never_upscaled_but_still_re_encoded(profile: str) -> None:
    original = _jpeg(400, 300)
    shrunk = apply(profile, original)
    assert _open(shrunk).size == (400, 300)
    assert shrunk != original  # quality 85 and no metadata: the SDK's compression step runs on every capture


def test_capped_size_never_grows_and_keeps_a_pixel() -> None:
    assert capped_size(100, 50, 640) == (100, 50)
    assert capped_size(1920, 1080, 1280) == (1280, 720)
    assert capped_size(5000, 1, 640) == (640, 1)  # a sliver keeps at least one pixel


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_exif_orientation_is_applied_before_resizing(orientation: int) -> None:
    """A 900x600 scene stored rotated, as a phone stores it, with the tag that turns it back: the upload's
    pixels are the upright scene (landscape, red on top) capped to 640x427, and carry no tag."""
    upright = np.asarray(Image.open(io.BytesIO(_jpeg(900, 600))))
    # The stored pixels are the scene turned the opposite way to what the tag's rotation for display does.
    stored = Image.fromarray(np.rot90(upright, k={1: 0, 3: 2, 6: 1, 8: -1}[orientation]).copy())
    exif = Image.Exif()
    exif[0x0112] = orientation
    encoded = io.BytesIO()
    stored.save(encoded, "JPEG", quality=95, exif=exif.tobytes())

    shrunk = _open(apply("640", encoded.getvalue()))
    assert shrunk.getexif().get(0x0112) is None
    assert shrunk.size == (640, 427)
    rgb = np.asarray(shrunk.convert("RGB")).astype(int)
    top, bottom = rgb[: rgb.shape[0] // 4].mean(axis=(0, 1)), rgb[-rgb.shape[0] // 4 :].mean(axis=(0, 1))
    assert top[0] > 180 > top[2] and bottom[2] > 180 > bottom[0]  # red on top, blue below: upright


def test_output_is_a_jpeg_at_quality_85() -> None:
    shrunk = _open(apply("1280", _jpeg(2000, 1500)))
    reference = io.BytesIO()
    Image.new("RGB", (8, 8)).save(reference, "JPEG", quality=JPEG_QUALITY)
    assert JPEG_QUALITY == 85
    expected = _open(reference.getvalue())
    assert isinstance(shrunk, JpegImageFile) and isinstance(expected, JpegImageFile)
    assert shrunk.quantization == expected.quantization


def test_full_profile_is_the_bytes_as_stored() -> None:
    stored = [(_jpeg(3000, 2000, orientation=6), _jpeg(50, 40))]
    profiles = all_profiles(["full", "640"], stored)
    assert profiles["full"] == stored
    assert mean_upload_kib(profiles["640"]) < mean_upload_kib(profiles["full"])


def test_profile_choice_keeps_order_drops_repeats_and_defaults_to_all() -> None:
    assert chosen_profiles(None) == list(PROFILES)
    assert chosen_profiles(["640", "full", "640"]) == ["640", "full"]


def test_load_takes_pipeline_cpu_per_profile() -> None:
    assert profile_ms("640=91.5") == ("640", 91.5)
    for bad in ("91.5", "small=91.5"):
        with pytest.raises(argparse.ArgumentTypeError):
            profile_ms(bad)


def test_peer_compares_the_largest_face_and_reports_the_ratio_of_means() -> None:
    small, big = (10, 30, 30, 10), (40, 200, 200, 40)  # (top, right, bottom, left)
    assert largest([small, big]) == [big] and largest([]) == []
    assert ratio([300.0, 500.0], [100.0, 100.0]) == pytest.approx(4.0)


def test_peer_venv_is_never_built_in_the_repo_nor_over_a_folder_it_did_not_make(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="outside the repository"):
        ensure_venv(REPO / ".peer-venv")
    (tmp_path / "notes.txt").write_text("someone's files")
    with pytest.raises(SystemExit, match="not a peer venv"):
        ensure_venv(tmp_path)
    assert (tmp_path / "notes.txt").exists()
