"""Hostile images against the real pipeline: any geometry within the limits gives an answer or a 4xx, the
pixel budget is checked before decoding, detection passes are bounded, a refused frame cancels its queued work."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.inference.errors import InputError
from app.inference.pipeline import Pipeline
from app.integrity.gate import SealedSet
from devkit.attacks import flat_png, gradient_png, png_bomb
from devkit.paths import data_file

SELFIE = "verify-dev/images/img1.jpg"


@st.composite
def geometries(draw: st.DrawFn) -> tuple[int, int]:
    """Widths and heights up to the limits (12000 px a side, 40 MP): slivers, squares and everything between."""
    width = draw(st.integers(1, 12_000))
    return width, draw(st.integers(1, min(12_000, 40_000_000 // width)))


@given(geometries())
@settings(max_examples=16, deadline=None, database=None)
def test_any_geometry_gives_an_answer_or_a_clear_4xx(pipeline: Pipeline, geometry: tuple[int, int]) -> None:
    """A gradient (one flat colour would be refused as blank) as selfie and as reference: never a 5xx."""
    image = gradient_png(*geometry)
    try:
        pipeline.verify([image], image)
    except InputError as error:
        assert 400 <= error.status < 500, (geometry, error.code)


def test_a_request_over_the_pixel_budget_is_refused_before_any_decoding(pipeline: Pipeline,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Six frames of 36 MP each pass the per-image limits; together they are 216 MP, over the 80 MP budget."""
    started: list[object] = []
    monkeypatch.setattr(pipeline.lanes, "submit", lambda *task: started.append(task))
    header_only = png_bomb(6000)
    with pytest.raises(InputError) as caught:
        pipeline.verify([header_only] * 5, header_only)
    assert (caught.value.code, caught.value.status) == ("too_many_pixels", 413) and started == []


@pytest.mark.parametrize(
    ("width", "height", "passes"),
    [(300, 400, [480] * 4), (960, 720, [480] * 4), (961, 720, [480, 960]), (4000, 3000, [480, 960]), (1000, 1, [480])],
)
def test_an_image_without_a_face_costs_a_bounded_number_of_detector_passes(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, width: int, height: int, passes: list[int]
) -> None:
    """Small images get the padded retries for tight crops, larger ones the large pass instead, slivers neither."""
    sizes: list[int] = []
    detect = pipeline.finder.detector.detect
    monkeypatch.setattr(pipeline.finder.detector, "detect",
                        lambda rgb, long_side: sizes.append(long_side) or detect(rgb, long_side))
    ramp = np.add.outer((np.arange(height) % 97).astype(np.uint8), (np.arange(width) % 89).astype(np.uint8))
    assert pipeline.finder.find(np.dstack([ramp] * 3)) == [] and sizes == passes


def test_a_refused_frame_cancels_the_lane_tasks_its_request_queued(
    pipeline: Pipeline, sealed: SealedSet, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """The first of five frames is blank: the others and the reference are not decoded for an answer already
    given (at most one more may have started in the lane meanwhile)."""
    one_lane = Pipeline(sealed, dataclasses.replace(pipeline.options, lanes=1))
    request.addfinalizer(one_lane.close)
    decoded: list[str] = []
    decode = one_lane.sides.images.decode
    monkeypatch.setattr(one_lane.sides.images, "decode",
                        lambda image, timings: decoded.append(image[0]) or decode(image, timings))
    face = data_file(SELFIE)
    with pytest.raises(InputError) as caught:
        one_lane.verify([flat_png(64), face, face, face, face], face)
    assert caught.value.code == "blank_image"
    one_lane.lanes.submit(lambda: None).result()  # every task queued before this one has run or was cancelled
    assert decoded[0] == "selfie[0]" and len(decoded) <= 2, decoded
