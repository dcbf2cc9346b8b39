"""A request's images: every header checked before any lane work, then each decoded in its lane task."""

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from app.inference.errors import InputError, ProblemCode
from app.inference.imaging import CheckedImage, ImageLimits, check_image, decode_checked
from app.inference.lanes import Timings

Labelled = tuple[str, CheckedImage]  # ("selfie[0]", ...): the label names the image in error messages


@contextmanager
def labelled(label: str) -> Iterator[None]:
    """Name the image an input error is about (`selfie[1]: image is empty`)."""
    try:
        yield
    except InputError as error:
        raise InputError(error.code, f"{label}: {error.detail}", error.status) from None


def selfie_labels(selfies: list[bytes]) -> list[tuple[str, bytes]]:
    return [(f"selfie[{i}]", data) for i, data in enumerate(selfies)]


class RequestImages:
    def __init__(self, limits: ImageLimits, max_request_pixels: int) -> None:
        self.limits = limits
        self.max_request_pixels = max_request_pixels

    def check_all(self, images: list[tuple[str, bytes]]) -> list[Labelled]:
        """Every image's header against the limits, then all of them against the request's pixel budget,
        before any lane work: a request refused by its headers (format, bytes, pixels) costs no decoding or
        inference, and no request decodes more pixels than the budget, however many frames it sends."""
        checked = []
        for label, data in images:
            with labelled(label):
                checked.append((label, check_image(data, self.limits)))
        pixels, budget = sum(image.width * image.height for _, image in checked), self.max_request_pixels
        if pixels > budget:
            raise InputError(ProblemCode.too_many_pixels,
                             f"the images hold {pixels} pixels together; the limit is {budget}", 413)
        return checked

    def decode(self, image: Labelled, timings: Timings) -> np.ndarray:
        label, checked = image
        with labelled(label), timings.stage("decode"):
            return decode_checked(checked, self.limits.work_side)
