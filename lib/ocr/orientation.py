"""Pages that arrive turned: noticed from the first reading, turned by what Tesseract's OSD says (docs/accuracy.md).

Tesseract's page segmentation (psm 3) reads a page turned 90° clockwise as
it is, but an upside-down page or one turned the other way comes out as
garbage, with word confidences around 35-40 where an upright page's are
above 90 (measured on every shared page). Orientation detection on every
page would cost too much: ``--psm 0`` takes 0.5-0.9 s of CPU even on a
reduced copy (loading the legacy OSD model is most of it), 35-60% of an
upright page; ``--psm 1`` takes 28-180% more. So the first reading decides:

1. a page whose words' mean confidence is below ``LOW_CONFIDENCE`` (and has
   at least ``MIN_WORDS`` words) reads badly;
2. only then OSD runs, on a copy reduced to ``OSD_SIDE`` pixels on its long
   side (as OCRmyPDF does); when it is confident (``OSD_MIN_CONFIDENCE``)
   the page is turned the way it says, else it is turned 180° (how a book
   page is most often fed);
3. the turned page is read again and kept only if its words are read with
   more confidence than the first reading's.

An upright page pays nothing but the mean of its confidences; a turned page
pays OSD and a second reading.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytesseract
from PIL import Image

from lib.ocr.adjust import deskewed, estimate_skew
from lib.ocr.geometry import Affine, quarter_turn

LOW_CONFIDENCE = 60.0
MIN_WORDS = 10
OSD_SIDE = 1600
OSD_MIN_CONFIDENCE = 2.0
# Pillow turns clockwise with these transposes (its ROTATE_N turns counter-clockwise).
_CLOCKWISE = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}


def mean_confidence(blocks: list[dict[str, Any]]) -> tuple[float, int]:
    """(mean word confidence, word count) of a reading."""
    confs = [w["conf"] for b in blocks for p in b["paragraphs"] for line in p["lines"] for w in line["words"]]
    return (sum(confs) / len(confs), len(confs)) if confs else (0.0, 0)


def reads_badly(blocks: list[dict[str, Any]]) -> bool:
    mean, words = mean_confidence(blocks)
    return words >= MIN_WORDS and mean < LOW_CONFIDENCE


@dataclass(frozen=True)
class Osd:
    rotate: int  # degrees clockwise that make the page upright
    confidence: float


def detect(path: str, *, dpi: int, cmd: str, timeout: int) -> Osd | None:
    """Tesseract's orientation detection on a reduced copy of the image at ``path``; None when it finds nothing."""
    with Image.open(path) as image:
        image.load()
        grey = image if image.mode in ("1", "L") else image.convert("L")
        factor = max(image.size) / OSD_SIDE
        if factor > 1:
            size = (max(1, round(image.width / factor)), max(1, round(image.height / factor)))
            grey = (grey.convert("L") if grey.mode == "1" else grey).resize(size, Image.Resampling.BOX)
            dpi = max(1, round(dpi / factor)) if dpi else 0
        pytesseract.pytesseract.tesseract_cmd = cmd
        try:
            found = pytesseract.image_to_osd(
                grey,
                config=f"--psm 0 --dpi {dpi}" if dpi else "--psm 0",
                output_type=pytesseract.Output.DICT,
                timeout=timeout,
            )
        except (pytesseract.TesseractError, RuntimeError):
            # "Too few characters", or a timeout: no answer, the caller falls back.
            return None
    return Osd(int(found.get("rotate", 0)) % 360, float(found.get("orientation_conf", 0.0)))


def turn_for(osd: Osd | None) -> int:
    """The clockwise turn to try on a page that reads badly."""
    if osd is not None and osd.rotate in _CLOCKWISE and osd.confidence >= OSD_MIN_CONFIDENCE:
        return osd.rotate
    return 180


@dataclass(frozen=True)
class Turned:
    path: str
    forward: Affine  # the image read first -> this one
    deskew: float  # degrees levelled after turning (a sideways page's skew shows only now)


@contextmanager
def turned(path: str, degrees: int, *, dpi: int, min_deskew: float) -> Iterator[Turned]:
    """The image at ``path`` turned clockwise by ``degrees`` (and levelled if then skewed), as a private PNG."""
    with Image.open(path) as image:
        image.load()
        page = image.transpose(_CLOCKWISE[degrees])
    forward = quarter_turn(degrees, image.width, image.height)
    angle = 0.0
    if degrees in (90, 270) and min_deskew:
        angle = estimate_skew(page)
        if abs(angle) >= min_deskew:
            page, step = deskewed(page, angle)
            forward = forward.then(step)
        else:
            angle = 0.0
    fd, out = tempfile.mkstemp(prefix="page-turned-", suffix=".png")
    try:
        with os.fdopen(fd, "wb") as f:
            page.save(f, format="PNG", compress_level=1, **({"dpi": (dpi, dpi)} if dpi else {}))
        page.close()
        yield Turned(out, forward, angle)
    finally:
        os.unlink(out)
