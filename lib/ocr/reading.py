"""One page's reading: Tesseract once, and a second time turned only when the first looks like a turned page.

The second reading (lib.ocr.orientation) is kept only when Tesseract is
more confident of its words; either way the reading says how the image it
read was made from the page as displayed, so that lib.ocr.flow can bring the
boxes home.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lib.observability import logger
from lib.ocr import orientation, outputs
from lib.ocr.geometry import Affine
from lib.ocr.images import PageImage
from lib.ocr.tesseract import OcrOutput, run_tesseract
from lib.page_json import parse_tsv
from lib.settings import Settings


@dataclass(frozen=True)
class Reading:
    """The reading kept: Tesseract's output, its blocks in the coordinates of the image it read, how it got there."""

    output: OcrOutput
    blocks: list[dict[str, Any]]
    forward: Affine  # the page as displayed -> the image read
    rotation: int  # clockwise degrees the page was turned before this reading
    deskew: float  # degrees levelled after turning
    passes: int


def read_page(image: PageImage, settings: Settings, cmd: str, lang: str | None = None) -> Reading:
    """The page read once (in ``lang``, else OCR_LANG); read again turned when the first reading looks turned."""

    def tesseract(path: str) -> OcrOutput:
        return run_tesseract(
            path,
            lang=lang or settings.ocr_lang,
            dpi=image.ocr_dpi,
            psm=settings.tesseract_psm,
            threads=settings.tesseract_threads,
            timeout=settings.tesseract_timeout,
            cmd=cmd,
            renderers=outputs.tesseract_renderers(settings.outputs),
            variables=settings.tesseract_variables,
        )

    first = tesseract(image.path)
    reading = Reading(first, parse_tsv(first.tsv), image.forward, 0, 0.0, 1)
    if not settings.ocr_rotate or not orientation.reads_badly(reading.blocks):
        return reading
    osd = orientation.detect(image.path, dpi=image.ocr_dpi, cmd=cmd, timeout=settings.tesseract_timeout)
    degrees = orientation.turn_for(osd)
    with orientation.turned(image.path, degrees, dpi=image.ocr_dpi, min_deskew=settings.ocr_min_deskew) as turned:
        second = tesseract(turned.path)
    blocks = parse_tsv(second.tsv)
    better = orientation.mean_confidence(blocks)[0] > orientation.mean_confidence(reading.blocks)[0]
    logger.info(
        "page read badly: read again turned",
        extra={"osd": osd and vars(osd), "turned": degrees, "kept": "turned" if better else "first"},
    )
    if not better:
        return Reading(first, reading.blocks, image.forward, 0, 0.0, 2)
    return Reading(second, blocks, image.forward.then(turned.forward), degrees, turned.deskew, 2)
