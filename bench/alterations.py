"""Altered copies of a page, made on the fly: how scans arrive when nobody checked them (docs/accuracy.md).

Each alteration takes the original file's bytes and the resolution the page
really has, and returns the bytes of a new image file and its suffix, as a
user would upload it. The ground truth stays the page's own: the words did
not change, only how they reached the scanner.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image

Altered = tuple[bytes, str]  # the file's bytes, its suffix

# name -> what it is, as the tables say it.
VARIANTS = {
    "upright": "the page as it is",
    "rot90": "turned 90° clockwise",
    "rot180": "upside down",
    "rot270": "turned 90° counter-clockwise",
    "skew2": "skewed 2° (counter-clockwise, grey, white corners)",
    "skew5": "skewed 5°",
    "dpi150": "downscaled to 150 dpi, resolution tag removed",
    "dpi600": "upscaled to 600 dpi (tagged 600)",
    "jpeg40": "grey JPEG at quality 40",
}
ROTATIONS = {"rot90": 90, "rot180": 180, "rot270": 270}
SKEWS = {"skew2": 2.0, "skew5": 5.0}
# Clockwise turns as Pillow's transposes (Pillow's ROTATE_N turns counter-clockwise).
_CLOCKWISE = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _png(image: Image.Image, dpi: int | None) -> bytes:
    out = io.BytesIO()
    if dpi:
        image.save(out, format="PNG", compress_level=1, dpi=(dpi, dpi))
    else:
        image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _grey(image: Image.Image) -> Image.Image:
    return image.convert("L") if image.mode != "L" else image


def rotate(data: bytes, dpi: int, degrees: int) -> Altered:
    """Turned clockwise by a multiple of 90°, pixels unchanged (a 1-bit page stays 1-bit), resolution kept."""
    return _png(_open(data).transpose(_CLOCKWISE[degrees]), dpi), ".png"


def skew(data: bytes, dpi: int, degrees: float) -> Altered:
    """Rotated by a small angle as a crooked page on a flatbed: grey, interpolated, the new corners white."""
    image = _grey(_open(data))
    turned = image.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    return _png(turned, dpi), ".png"


def rescale(data: bytes, dpi: int, target_dpi: int, *, tag: bool) -> Altered:
    """Resampled (grey, Lanczos) from the page's resolution to ``target_dpi``; tagged with it or with none."""
    image = _grey(_open(data))
    factor = target_dpi / dpi
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return _png(image.resize(size, Image.Resampling.LANCZOS), target_dpi if tag else None), ".png"


def jpeg(data: bytes, dpi: int, quality: int) -> Altered:
    """Grey JPEG at ``quality``: the blocky, ringing scans of phone apps and old digitisation projects."""
    out = io.BytesIO()
    _grey(_open(data)).save(out, format="JPEG", quality=quality, dpi=(dpi, dpi))
    return out.getvalue(), ".jpg"


def alter(variant: str, data: bytes, suffix: str, dpi: int) -> Altered:
    """The ``variant`` copy of a page file whose real resolution is ``dpi``."""
    makers: dict[str, Callable[[], Altered]] = {
        "upright": lambda: (data, suffix),
        "dpi150": lambda: rescale(data, dpi, 150, tag=False),
        "dpi600": lambda: rescale(data, dpi, 600, tag=True),
        "jpeg40": lambda: jpeg(data, dpi, 40),
        **{name: (lambda d=d: rotate(data, dpi, d)) for name, d in ROTATIONS.items()},
        **{name: (lambda a=a: skew(data, dpi, a)) for name, a in SKEWS.items()},
    }
    if variant not in makers:
        raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    return makers[variant]()
