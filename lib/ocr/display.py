"""The image a browser shows for a page whose original it cannot show (TIFF, BMP): made once, by the OCR function.

Made from the pixels already decoded for OCR (lib.ocr.images decodes every
upload to check it), in the orientation the boxes use: a 1-bit scan becomes a
PNG (lossless, and small for black and white: 77 kB for a 1850 x 2620 book
page, 25 ms), anything else a JPEG (quality 85). Pages over ``MAX_PIXELS``
are scaled down to it: a viewer scales the image to its canvas (the page's
own size, in which every box is given), and 16 MP is more than any screen
shows at once. Measured cost: docs/viewer.md.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from PIL import Image

# What browsers show as they are: the original is served.
BROWSER_FORMATS = {"JPEG", "MPO", "PNG", "GIF", "WEBP"}
MAX_PIXELS = 16_000_000
JPEG_QUALITY = 85


@dataclass(frozen=True)
class DisplayImage:
    data: bytes
    format: str  # PNG or JPEG
    content_type: str
    suffix: str
    width: int
    height: int


def display_image(image: Image.Image, source_format: str) -> DisplayImage | None:
    """The derivative of a decoded, upright page, or None when browsers show the original."""
    if source_format in BROWSER_FORMATS:
        return None
    picture = image
    if image.width * image.height > MAX_PIXELS:
        scale = math.sqrt(MAX_PIXELS / (image.width * image.height))
        size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
        # Black and white scaled down reads better in grey than dithered.
        picture = (image.convert("L") if image.mode == "1" else image).resize(size, Image.Resampling.BOX)
    out = io.BytesIO()
    if picture.mode == "1":
        picture.save(out, format="PNG", compress_level=1)
        shown = DisplayImage(out.getvalue(), "PNG", "image/png", ".png", picture.width, picture.height)
    else:
        picture.convert("RGB" if picture.mode not in ("L", "RGB") else picture.mode).save(
            out, format="JPEG", quality=JPEG_QUALITY
        )
        shown = DisplayImage(out.getvalue(), "JPEG", "image/jpeg", ".jpg", picture.width, picture.height)
    if picture is not image:
        picture.close()
    return shown
