"""What Tesseract is given for pages at odd resolutions or skewed (lib.ocr.adjust through lib.ocr.images)."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from lib.ocr.images import page_image

OPTS = {"max_pixels": 50_000_000, "default_dpi": 300, "max_dpi": 400, "min_deskew": 1.0}


def _lines(size: tuple[int, int] = (900, 1200), angle: float = 0.0) -> Image.Image:
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    for top in range(100, size[1] - 100, 45):
        for left in range(80, size[0] - 100, 60):
            draw.rectangle((left, top, left + 45, top + 18), fill=0)
    return image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255) if angle else image


def _png(image: Image.Image, dpi: int | None) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", **({"dpi": (dpi, dpi)} if dpi else {}))
    return out.getvalue()


def test_a_level_page_at_a_credible_resolution_is_passed_through() -> None:
    data = _png(_lines(), 300)
    with page_image(data, **OPTS) as image:
        assert not image.converted and (image.ocr_dpi, image.scale, image.deskew) == (300, 1.0, 0.0)
        assert image.forward.is_identity


def test_an_untagged_page_is_left_to_tesseract_to_estimate_unless_default_dpi_is_set() -> None:
    data = _png(_lines(), None)
    with page_image(data, **OPTS, assume_default_dpi=False) as image:
        assert (image.dpi, image.dpi_from_file, image.ocr_dpi) == (300, False, 0)
    with page_image(data, **OPTS, assume_default_dpi=True) as image:
        assert image.ocr_dpi == 300


def test_a_believable_but_implausible_tag_is_removed_before_tesseract_reads_it() -> None:
    # Tesseract believes 72 dpi (it estimates only below 70): the file is converted without it.
    with page_image(_png(_lines(), 72), **OPTS, assume_default_dpi=False) as image:
        assert image.converted and image.ocr_dpi == 0
        with Image.open(image.path) as written:
            assert "dpi" not in written.info


def test_an_oversized_scan_is_scaled_to_the_largest_resolution_read_as_it_is() -> None:
    with page_image(_png(_lines((1800, 2400)), 600), **OPTS) as image:
        assert (image.width, image.height, image.dpi) == (1800, 2400, 600)
        assert (image.scale, image.ocr_dpi, image.converted) == (0.6667, 400, True)
        with Image.open(image.path) as written:
            assert written.size == (1200, 1600) and round(written.info["dpi"][0]) == 400
    with page_image(_png(_lines((1800, 2400)), 600), **{**OPTS, "max_dpi": 0}) as image:
        assert (image.scale, image.ocr_dpi, image.converted) == (1.0, 600, False)


def test_a_skewed_page_is_levelled_and_a_slightly_skewed_one_left() -> None:
    with page_image(_png(_lines(angle=4.0), 300), **OPTS) as image:
        assert abs(image.deskew + 4.0) <= 0.26 and image.converted
        with Image.open(image.path) as written:
            assert written.width > 900  # turned onto a larger canvas, nothing cut off
    with page_image(_png(_lines(angle=0.5), 300), **OPTS) as image:
        assert image.deskew == 0.0 and not image.converted
    with page_image(_png(_lines(angle=4.0), 300), **{**OPTS, "min_deskew": 0.0}) as image:
        assert image.deskew == 0.0


def test_a_large_one_bit_page_is_read_in_grey_at_two_thirds_and_a_small_one_as_it_is() -> None:
    big = _lines((1850, 2620)).convert("1")
    with page_image(_png(big, None), **OPTS, bilevel_scale=2 / 3, assume_default_dpi=False) as image:
        assert (image.scale, image.ocr_dpi, image.converted) == (0.6667, 0, True)
        with Image.open(image.path) as written:
            assert written.mode == "L" and written.size == (1233, 1747)
    with page_image(_png(_lines().convert("1"), 300), **OPTS, bilevel_scale=2 / 3) as image:
        assert (image.scale, image.converted) == (1.0, False)
