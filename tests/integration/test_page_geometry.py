"""Pages that arrive turned, skewed or oversized: read right, and every box on the page as uploaded.

Real Tesseract on Tesseract's own test page (640 x 480, a third of a second a
reading), altered as bench/alterations.py alters the evaluation pages. The
boxes of the altered copy's page JSON, brought into the original's pixels by
the alteration's own geometry, must land on the same words of the original
within a few pixels: the pipeline's internal turning, levelling and scaling
never reach the page JSON's coordinates.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench.alterations import alter
from lib.keys import page_ref_from_key
from lib.ocr.flow import ocr_document
from lib.ocr.geometry import Affine, box_back, quarter_turn, rotation, scaling
from lib.page_json import load_page_json
from lib.settings import Settings
from pagesearch.text_metrics import cer
from tests.conftest import SAMPLES, ground_truth

pytestmark = pytest.mark.integration
PAGE = SAMPLES / "phototest.tif"
TOLERANCE = 4  # pixels


def _read(data: bytes, suffix: str) -> dict[str, Any]:
    key = f"geometry/page{suffix}"
    document = ocr_document(data, page_ref_from_key(key), Settings.from_env(), source={"bucket": "b", "key": key})
    load_page_json(json.dumps(document).encode())  # valid against the schema, as the indexer reads it
    return document


@pytest.fixture(scope="module")
def original() -> dict[str, Any]:
    return _read(PAGE.read_bytes(), ".tif")


def _words(document: dict[str, Any]) -> dict[str, list[int]]:
    """Words that occur once on the page, by text."""
    seen: dict[str, list[list[int]]] = {}
    for block in document["blocks"]:
        for paragraph in block["paragraphs"]:
            for line in paragraph["lines"]:
                for word in line["words"]:
                    seen.setdefault(word["text"], []).append(word["bbox"])
    return {text: boxes[0] for text, boxes in seen.items() if len(boxes) == 1}


def _assert_boxes_land_on_the_same_words(
    original: dict[str, Any], altered: dict[str, Any], to_original: Affine
) -> None:
    ours, theirs = _words(original), _words(altered)
    common = sorted(set(ours) & set(theirs))
    assert len(common) >= 0.9 * len(ours), f"only {len(common)} of {len(ours)} words read alike"
    width, height = original["image"]["width"], original["image"]["height"]
    for text in common:
        home = box_back(theirs[text], to_original, width, height)
        off = max(abs(a - b) for a, b in zip(home, ours[text], strict=True))
        assert off <= TOLERANCE, f"{text!r}: {home} in the original, where it is {ours[text]}"


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_a_turned_page_reads_as_the_upright_one_with_its_boxes_on_the_uploaded_image(
    original: dict[str, Any], degrees: int
) -> None:
    data, suffix = alter(f"rot{degrees}", PAGE.read_bytes(), ".tif", 300)
    altered = _read(data, suffix)
    assert cer(altered["text"], ground_truth(PAGE)) <= max(0.01, 1.5 * cer(original["text"], ground_truth(PAGE)))
    width, height = original["image"]["width"], original["image"]["height"]
    # The uploaded copy is the original turned clockwise: its boxes are in the turned image's pixels.
    assert (altered["image"]["width"], altered["image"]["height"]) == (
        (height, width) if degrees != 180 else (width, height)
    )
    # Tesseract reads a page turned 90° clockwise as it is; the others are turned back before a second reading.
    assert altered["image"]["rotation"] == {90: 0, 180: 180, 270: 90}[degrees]
    assert altered["ocr"]["passes"] == (1 if degrees == 90 else 2)
    _assert_boxes_land_on_the_same_words(original, altered, quarter_turn(degrees, width, height).inverse())


def test_an_oversized_scan_is_read_at_400_dpi_with_its_boxes_in_its_own_pixels(original: dict[str, Any]) -> None:
    data, suffix = alter("dpi600", PAGE.read_bytes(), ".tif", 300)
    altered = _read(data, suffix)
    assert altered["image"]["scale"] == 0.6667 and altered["image"]["dpi"] == 600
    assert (altered["image"]["width"], altered["image"]["height"]) == (1280, 960)
    _assert_boxes_land_on_the_same_words(original, altered, scaling(0.5, 0.5))


def test_a_skewed_page_is_levelled_and_its_boxes_stay_on_the_skewed_upload(original: dict[str, Any]) -> None:
    data, suffix = alter("skew5", PAGE.read_bytes(), ".tif", 300)
    altered = _read(data, suffix)
    assert altered["image"]["deskew"] == pytest.approx(-5.0, abs=0.3)
    assert altered["image"]["rotation"] == 0 and altered["ocr"]["passes"] == 1
    assert cer(altered["text"], ground_truth(PAGE)) <= max(0.01, 1.5 * cer(original["text"], ground_truth(PAGE)))
    # Each original word's centre, skewed as the upload was, lies inside that word's box on the upload.
    size = (original["image"]["width"], original["image"]["height"])
    skew = rotation(5.0, size, (altered["image"]["width"], altered["image"]["height"]))
    ours, theirs = _words(original), _words(altered)
    common = set(ours) & set(theirs)
    assert len(common) >= 0.9 * len(ours)
    for text in common:
        box, found = ours[text], theirs[text]
        x, y = skew.apply((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        inside = found[0] - TOLERANCE <= x <= found[2] + TOLERANCE and found[1] - TOLERANCE <= y <= found[3] + TOLERANCE
        assert inside, (text, found, (x, y))


def test_an_upright_page_is_read_once_and_left_as_it_is(original: dict[str, Any]) -> None:
    assert original["schema_version"] == 2
    assert (original["image"]["rotation"], original["image"]["deskew"], original["image"]["scale"]) == (0, 0.0, 1.0)
    assert original["ocr"]["passes"] == 1
