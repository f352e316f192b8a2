"""Before Tesseract: oversized scans scaled down, big 1-bit pages read in grey, skewed pages levelled.

Both are decided from pixels already decoded (lib.ocr.images decodes every
upload to check it), and both are recorded as an affine map so that the
boxes come back in the page's own pixels (lib.ocr.geometry).

Every figure below is from ``make accuracy`` (docs/accuracy.md).

- **Scale**: a page whose file says more than ``max_dpi`` (400) is scaled to
  it: Tesseract's layout analysis grows with the pixels; at 400 dpi a 600 dpi
  scan reads with no more errors than as it is, in 0.8 of the time (300 dpi
  was faster still but lost characters on small print).
- **1-bit pages** of book size are read in grey at 2/3 of their size: the
  averaged edges read with 0.83 of the errors (0.6 on the old books) in 0.9
  of the time.
- **Skew**: Tesseract reads a page 2° off with a third more errors than
  once levelled, and 5° off with four times as many. The angle is
  estimated by projection profiles on a reduced grey copy (about 450 pixels
  on the long side, 20 ms): the page is tried at angles up to ``MAX_SKEW``,
  and text lines lie level where the rows' darkness varies most. Only an
  estimate clearly better than level (``MIN_GAIN``) and at least
  ``min_deskew`` degrees is applied; no second OCR pass is needed for it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from PIL import Image

from lib.ocr.geometry import Affine, rotation, scaling

# 1-bit pages at least this long (pixels) are read in grey at ``bilevel_scale``: a book or letter page scanned
# at 220 dpi or more, never a small fax or a screenshot.
MIN_BILEVEL_SIDE = 2000
MAX_SKEW = 6.0  # degrees searched either way; the pages are skewed up to 5°
_COARSE_STEP = 1.0
_FINE_STEP = 0.25
_REDUCED_SIDE = 450  # long side of the copy the angle is estimated on
# The best angle's row variance over the level page's: below this the page has no clear text lines
# (a photograph, a sideways page) and is left as it is.
MIN_GAIN = 1.1


@dataclass(frozen=True)
class Adjusted:
    """The image Tesseract reads and how it was made from the page as displayed."""

    image: Image.Image
    forward: Affine  # page as displayed -> this image
    scale: float  # 1.0: not scaled
    deskew: float  # degrees turned counter-clockwise; 0.0: not deskewed
    dpi: int  # the resolution to tell Tesseract; 0: none, Tesseract estimates it from the text

    @property
    def changed(self) -> bool:
        return self.scale != 1.0 or self.deskew != 0.0


def _reduced(image: Image.Image) -> Image.Image:
    grey = image if image.mode == "L" else image.convert("L")
    factor = max(1, round(max(grey.size) / _REDUCED_SIDE))
    return grey.reduce(factor) if factor > 1 else grey


def _row_variance(small: Image.Image, angle: float) -> float:
    turned = small.rotate(angle, resample=Image.Resampling.NEAREST, fillcolor=255) if angle else small
    # Pillow averages each row in C: the row profile without a per-pixel Python loop.
    return statistics.pvariance(turned.resize((1, turned.height), Image.Resampling.BOX).getdata())


def estimate_skew(image: Image.Image) -> float:
    """The counter-clockwise turn (degrees) that levels the page's text lines; 0.0 when none clearly does."""
    small = _reduced(image)
    if min(small.size) < 32:
        return 0.0
    level = _row_variance(small, 0.0)
    steps = int(MAX_SKEW / _COARSE_STEP)
    scores = {a * _COARSE_STEP: _row_variance(small, a * _COARSE_STEP) for a in range(-steps, steps + 1)}
    coarse = max(scores, key=scores.__getitem__)
    for i in range(-3, 4):
        angle = coarse + i * _FINE_STEP
        if abs(angle) <= MAX_SKEW and angle not in scores:
            scores[angle] = _row_variance(small, angle)
    best = max(scores, key=scores.__getitem__)
    if level <= 0 or scores[best] < level * MIN_GAIN or abs(best) >= MAX_SKEW:
        return 0.0
    return best


def deskewed(image: Image.Image, angle: float) -> tuple[Image.Image, Affine]:
    """The page turned ``angle`` degrees counter-clockwise about its centre, new corners white."""
    # A 1-bit page is turned in grey: interpolated edges read better than nearest-neighbour jaggies.
    source = image.convert("L") if image.mode in ("1", "P") else image
    white = 255 if source.mode == "L" else (255,) * len(source.getbands())
    turned = source.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=white)
    return turned, rotation(angle, source.size, turned.size)


def adjust(
    image: Image.Image,
    dpi: int,
    dpi_known: bool,
    *,
    max_dpi: int,
    min_deskew: float,
    bilevel_scale: float = 1.0,
) -> Adjusted:
    """What Tesseract should read: ``image`` scaled when oversized (``max_dpi`` 0: never), deskewed when skewed.

    Scans over ``max_dpi`` are scaled to it. ``min_deskew`` 0 turns
    deskewing off. A 1-bit page of ``MIN_BILEVEL_SIDE`` pixels or more is
    read in grey, scaled by ``bilevel_scale``, when that is not 1.
    """
    # A resolution the file does not state credibly is not made up: Tesseract's own estimate from the
    # text's size reads pages 150 dpi and untagged with 0.8 of the errors of assuming 300 (docs/accuracy.md).
    forward, scale, current, tess_dpi = Affine(), 1.0, image, dpi if dpi_known else 0
    if max_dpi and dpi_known and dpi > max_dpi:
        scale = max_dpi / dpi
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        grey = image.convert("L") if image.mode in ("1", "P") else image
        current = grey.resize(size, Image.Resampling.BOX)
        forward = scaling(size[0] / image.width, size[1] / image.height)
        tess_dpi = max_dpi
    elif bilevel_scale != 1.0 and image.mode == "1" and max(image.size) >= MIN_BILEVEL_SIDE:
        scale = bilevel_scale
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        current = image.convert("L").resize(size, Image.Resampling.BOX)
        forward = scaling(size[0] / image.width, size[1] / image.height)
        tess_dpi = round(tess_dpi * scale)
    angle = estimate_skew(current) if min_deskew else 0.0
    if min_deskew and abs(angle) >= min_deskew:
        current, step = deskewed(current, angle)
        forward = forward.then(step)
    else:
        angle = 0.0
    return Adjusted(current, forward, round(scale, 4), angle, tess_dpi)
