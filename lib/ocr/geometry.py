"""Where a point of the page as displayed lands in the image Tesseract read, and back (pure).

The OCR function may scale, deskew and turn the page before Tesseract sees it
(lib.ocr.adjust, lib.ocr.orientation), but every box in the page JSON is in
pixels of the uploaded image as displayed: what a viewer draws on. Each step
is an affine map; they compose into one, and its inverse brings Tesseract's
boxes home. A box maps to the bounding box of its four mapped corners,
clamped to the page, so after a small rotation a word's box grows by at most
its height times the sine of the angle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

Box = list[int]


@dataclass(frozen=True)
class Affine:
    """x' = a x + b y + c; y' = d x + e y + f, in pixel-edge coordinates (y down)."""

    a: float = 1.0
    b: float = 0.0
    c: float = 0.0
    d: float = 0.0
    e: float = 1.0
    f: float = 0.0

    def apply(self, x: float, y: float) -> tuple[float, float]:
        return self.a * x + self.b * y + self.c, self.d * x + self.e * y + self.f

    def then(self, other: Affine) -> Affine:
        """This map followed by ``other``."""
        return Affine(
            other.a * self.a + other.b * self.d,
            other.a * self.b + other.b * self.e,
            other.a * self.c + other.b * self.f + other.c,
            other.d * self.a + other.e * self.d,
            other.d * self.b + other.e * self.e,
            other.d * self.c + other.e * self.f + other.f,
        )

    def inverse(self) -> Affine:
        det = self.a * self.e - self.b * self.d
        a, b, d, e = self.e / det, -self.b / det, -self.d / det, self.a / det
        return Affine(a, b, -(a * self.c + b * self.f), d, e, -(d * self.c + e * self.f))

    @property
    def is_identity(self) -> bool:
        identity = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
        return all(math.isclose(v, w, abs_tol=1e-9) for v, w in zip(self.coefficients, identity, strict=True))

    @property
    def coefficients(self) -> tuple[float, ...]:
        return (self.a, self.b, self.c, self.d, self.e, self.f)


IDENTITY = Affine()


def scaling(sx: float, sy: float) -> Affine:
    return Affine(a=sx, e=sy)


def quarter_turn(degrees: int, width: int, height: int) -> Affine:
    """Turning a ``width`` x ``height`` image clockwise by 0, 90, 180 or 270 degrees (Pillow's transposes)."""
    if degrees == 0:
        return Affine()
    if degrees == 90:  # (x, y) -> (h - y, x)
        return Affine(a=0, b=-1, c=height, d=1, e=0, f=0)
    if degrees == 180:
        return Affine(a=-1, c=width, e=-1, f=height)
    if degrees == 270:  # (x, y) -> (y, w - x)
        return Affine(a=0, b=1, c=0, d=-1, e=0, f=width)
    raise ValueError(f"not a quarter turn: {degrees}")


def rotation(degrees_ccw: float, size: tuple[int, int], new_size: tuple[int, int]) -> Affine:
    """Pillow's ``rotate(degrees_ccw, expand=True)``: about the centre, onto a canvas of ``new_size``."""
    theta = math.radians(degrees_ccw)
    cos, sin = math.cos(theta), math.sin(theta)
    cx, cy = size[0] / 2, size[1] / 2
    nx, ny = new_size[0] / 2, new_size[1] / 2
    # Counter-clockwise as seen, with y pointing down.
    return Affine(a=cos, b=sin, c=nx - cos * cx - sin * cy, d=-sin, e=cos, f=ny + sin * cx - cos * cy)


def box_back(box: Box, back: Affine, width: int, height: int) -> Box:
    """A box of the image Tesseract read -> the box of the page as displayed (``width`` x ``height``)."""
    left, top, right, bottom = box
    corners = [back.apply(x, y) for x in (left, right) for y in (top, bottom)]
    xs, ys = [p[0] for p in corners], [p[1] for p in corners]
    x0 = min(max(0, math.floor(min(xs) + 1e-6)), width)
    y0 = min(max(0, math.floor(min(ys) + 1e-6)), height)
    x1 = min(max(x0, math.ceil(max(xs) - 1e-6)), width)
    y1 = min(max(y0, math.ceil(max(ys) - 1e-6)), height)
    return [x0, y0, x1, y1]


def _union(boxes: list[Box]) -> Box:
    return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]


def blocks_back(blocks: list[dict[str, Any]], back: Affine, width: int, height: int) -> list[dict[str, Any]]:
    """Every word's box mapped back (in place and returned); lines, paragraphs and blocks re-unioned from them."""
    if back.is_identity:
        return blocks
    for block in blocks:
        for paragraph in block["paragraphs"]:
            for line in paragraph["lines"]:
                for word in line["words"]:
                    word["bbox"] = box_back(word["bbox"], back, width, height)
                line["bbox"] = _union([w["bbox"] for w in line["words"]])
            paragraph["bbox"] = _union([line["bbox"] for line in paragraph["lines"]])
        block["bbox"] = _union([p["bbox"] for p in block["paragraphs"]])
    return blocks
