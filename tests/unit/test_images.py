"""Image preparation: what reaches Tesseract, and what is refused before it."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from lib.ocr.images import ImageRejected, page_image

OPTS = {"max_pixels": 50_000_000, "default_dpi": 300}


def encode(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


def page(mode: str = "L", size: tuple[int, int] = (400, 300)) -> Image.Image:
    return Image.new(mode, size, 255 if mode in ("L", "1") else None)


def test_plain_jpeg_is_passed_through_byte_for_byte() -> None:
    data = encode(page("RGB"), "JPEG", dpi=(300, 300))
    with page_image(data, **OPTS) as image:
        assert not image.converted and Path(image.path).read_bytes() == data
        assert (image.width, image.height, image.dpi, image.dpi_from_file, image.format) == (
            400,
            300,
            300,
            True,
            "JPEG",
        )
    assert not os.path.exists(image.path)


def test_exif_rotation_is_applied_and_size_is_as_displayed() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    data = encode(page("RGB", (400, 300)), "JPEG", exif=exif)
    with page_image(data, **OPTS) as image:
        assert image.converted and (image.width, image.height) == (300, 400)
        assert Image.open(image.path).size == (300, 400)


@pytest.mark.parametrize(
    ("mode", "fmt", "expected"),
    [
        ("CMYK", "JPEG", "RGB"),
        ("I;16", "PNG", "L"),
        ("RGBA", "PNG", "RGB"),
        ("LA", "PNG", "RGB"),
        ("RGB", "WEBP", "RGB"),
    ],
)
def test_modes_tesseract_cannot_take_are_converted(mode: str, fmt: str, expected: str) -> None:
    data = encode(Image.new(mode, (200, 100)), fmt)
    with page_image(data, **OPTS) as image:
        assert image.converted
        assert Image.open(image.path).mode == expected


def test_palette_with_transparency_lands_on_white() -> None:
    img = Image.new("P", (100, 100), 0)
    img.putpalette([0, 0, 0] * 256)
    data = encode(img, "PNG", transparency=0)
    with page_image(data, **OPTS) as image:
        assert Image.open(image.path).convert("L").getpixel((5, 5)) == 255


def test_multi_page_tiff_gives_its_first_frame() -> None:
    frames = [page("L"), Image.new("L", (400, 300), 0)]
    data = encode(frames[0], "TIFF", save_all=True, append_images=frames[1:])
    with page_image(data, **OPTS) as image:
        assert image.frames == 2 and image.converted
        assert Image.open(image.path).getpixel((1, 1)) == 255


def test_implausible_resolution_is_replaced() -> None:
    data = encode(page("1", (400, 300)), "TIFF", dpi=(1, 1), compression="group4")
    with page_image(data, **OPTS) as image:
        assert (image.dpi, image.dpi_from_file, image.converted) == (300, False, False)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"%PDF-1.7\n...", "PDF"),
        (b"hello, I am a text file", "not an image"),
    ],
)
def test_content_that_can_never_succeed_is_rejected(data: bytes, reason: str) -> None:
    with pytest.raises(ImageRejected, match=reason), page_image(data, **OPTS):
        pass


def test_truncated_png_is_rejected() -> None:
    data = encode(Image.effect_noise((300, 300), 60).convert("L"), "PNG")
    with pytest.raises(ImageRejected, match="corrupt or truncated"), page_image(data[: len(data) // 2], **OPTS):
        pass


def test_decompression_bomb_is_refused() -> None:
    data = encode(Image.new("1", (20000, 20000)), "PNG")  # a few kB, 400 megapixels
    assert len(data) < 200_000
    with pytest.raises(ImageRejected, match="decompression bomb"), page_image(data, **OPTS):
        pass


def test_too_small_to_hold_text() -> None:
    with pytest.raises(ImageRejected, match="too small"), page_image(encode(page("L", (8, 400)), "PNG"), **OPTS):
        pass
