"""Boxes of the image Tesseract read map back onto the page as displayed (lib.ocr.geometry), checked against Pillow."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from lib.ocr.adjust import deskewed, estimate_skew
from lib.ocr.geometry import Affine, blocks_back, box_back, quarter_turn, rotation, scaling

W, H = 300, 200
# Pillow's ROTATE_N turns counter-clockwise; ours are clockwise.
CLOCKWISE = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}


def _page_with_box(box: list[int], size: tuple[int, int] = (W, H)) -> Image.Image:
    image = Image.new("L", size, 255)
    ImageDraw.Draw(image).rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=0)
    return image


def _dark_box(image: Image.Image) -> list[int]:
    left, top, right, bottom = Image.eval(image, lambda v: 255 if v < 128 else 0).getbbox()
    return [left, top, right, bottom]


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_a_quarter_turn_maps_exactly_as_pillow_turns(degrees: int) -> None:
    box = [40, 30, 100, 50]
    turned = _page_with_box(box).transpose(CLOCKWISE[degrees])
    forward = quarter_turn(degrees, W, H)
    assert box_back(_dark_box(turned), forward.inverse(), W, H) == box
    assert box_back(box, forward, *turned.size) == _dark_box(turned)


@pytest.mark.parametrize("angle", [-5.0, -2.0, 2.0, 5.0])
def test_a_small_rotation_maps_within_a_pixel_or_two(angle: float) -> None:
    box = [120, 90, 180, 110]
    page = _page_with_box(box)
    turned = page.rotate(angle, resample=Image.Resampling.NEAREST, expand=True, fillcolor=255)
    forward = rotation(angle, page.size, turned.size)
    # The box drawn turned is the turned corners' bounding box: compare the centres and sizes.
    mapped = box_back(box, forward, *turned.size)
    found = _dark_box(turned)
    assert all(abs(a - b) <= 2 for a, b in zip(mapped, found, strict=True)), (mapped, found)


def test_steps_compose_and_invert() -> None:
    forward = scaling(0.5, 0.5).then(quarter_turn(90, 150, 100)).then(rotation(3.0, (100, 150), (108, 155)))
    for x, y in [(0, 0), (299, 199), (17.5, 123.25)]:
        back = forward.inverse().apply(*forward.apply(x, y))
        assert back == pytest.approx((x, y))
    assert Affine().is_identity and not forward.is_identity


def test_boxes_are_clamped_to_the_page_and_containers_re_unioned() -> None:
    blocks = [
        {
            "bbox": [0, 0, 1, 1],
            "paragraphs": [
                {
                    "bbox": [0, 0, 1, 1],
                    "lines": [
                        {
                            "bbox": [0, 0, 1, 1],
                            "text": "a b",
                            "conf": 90,
                            "words": [
                                {"text": "a", "bbox": [10, 10, 20, 20], "conf": 90},
                                {"text": "b", "bbox": [590, 390, 610, 410], "conf": 90},
                            ],
                        }
                    ],
                }
            ],
        }
    ]
    blocks_back(blocks, scaling(2, 2).inverse(), W, H)
    words = blocks[0]["paragraphs"][0]["lines"][0]["words"]
    assert [w["bbox"] for w in words] == [[5, 5, 10, 10], [295, 195, 300, 200]]
    assert blocks[0]["bbox"] == blocks[0]["paragraphs"][0]["lines"][0]["bbox"] == [5, 5, 300, 200]


def _lines(angle: float) -> Image.Image:
    page = Image.new("L", (900, 1200), 255)
    draw = ImageDraw.Draw(page)
    for top in range(100, 1100, 45):
        for left in range(80, 800, 60):
            draw.rectangle((left, top, left + 45, top + 18), fill=0)
    return page.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)


@pytest.mark.parametrize("angle", [0.0, 2.0, -3.5, 5.0])
def test_the_skew_of_text_lines_is_found_to_a_quarter_degree(angle: float) -> None:
    assert estimate_skew(_lines(angle)) == pytest.approx(-angle, abs=0.26)


def test_a_page_without_lines_is_left_level() -> None:
    blank = Image.new("L", (800, 1000), 255)
    assert estimate_skew(blank) == 0.0
    levelled, step = deskewed(_lines(4.0), -4.0)
    assert levelled.mode == "L" and not step.is_identity
