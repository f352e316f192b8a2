"""A PDF's pages for the pipeline: its own text, its one embedded scan as it is, or a rendering (PDFium).

Per page, in this order (docs/books.md):

1. **Text layer**: real text (``lib.split.textlayer``) makes a text page: its
   words and boxes become the page JSON directly, no OCR.
2. **One embedded scan**: a page whose only visible content is one image,
   upright and covering at least 90 % of the page, yields that image as it
   is: a JPEG's own bytes (DCT, grey or RGB), or for any other encoding
   (CCITT, Flate, JBIG2, JPX...) its own pixels at its own resolution,
   losslessly as PNG. Nothing is re-rendered or re-compressed lossily.
3. Anything else (several images, vector drawings, visible text that is no
   real text, a rotated image or page) is **rendered** at ``dpi`` (300) to PNG.

A page with nothing on it at all is a text page with no words: a blank page,
which OCR would only confirm. Limits: a page whose image(s), or whose
rendering, would be more than ``max_pixels`` fails (a decompression bomb
costs nothing before that check: sizes are read from the image dictionaries).

PDFium is not thread-safe; every call here holds one lock (the local
dispatcher runs functions in threads; Lambda runs one invocation a process).
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from lib.split.textlayer import read_text_layer

PDFIUM_LOCK = threading.RLock()
_EMPTY_PAGE_TREE = re.compile(rb"/Type\s*/Pages\b[^>]*/Count\s+0\b|/Count\s+0\b[^>]*/Type\s*/Pages\b")
# The one image of a scanned page covers nearly all of it (margins of a few points are common).
SCAN_COVERAGE = 0.9
# The resolution of the browser image of a text page (its words need no OCR, only a picture to be shown on).
DISPLAY_DPI = 150
_JPEG_PASSTHROUGH_COLOURS = {pdfium_c.FPDF_COLORSPACE_DEVICEGRAY, pdfium_c.FPDF_COLORSPACE_DEVICERGB}
_PDFIUM_ERRORS = {
    pdfium_c.FPDF_ERR_FILE: "the file cannot be read as a PDF (not a PDF, or cut short)",
    pdfium_c.FPDF_ERR_FORMAT: "corrupt or truncated PDF: its structure cannot be read",
    pdfium_c.FPDF_ERR_PASSWORD: "the PDF is encrypted with a password: upload it without the password",
    pdfium_c.FPDF_ERR_SECURITY: "the PDF uses an unsupported security handler (encrypted): upload it decrypted",
}


class BookRejected(ValueError):
    """The whole file can never be split: the reason says why, for the failure record."""


class PageFailed(ValueError):
    """One page can never become a page image or text: the reason says why; the other pages go on."""


@dataclass(frozen=True)
class ImagePage:
    """A page to OCR: the image file to write into the pages bucket."""

    data: bytes
    suffix: str  # .jpg or .png
    content_type: str
    width: int
    height: int
    how: str  # "extracted" (the embedded image as it is) or "rendered"


@dataclass(frozen=True)
class TextPage:
    """A page indexed from its own text: the page model, its size in pixels at ``dpi``, and a browser image."""

    blocks: list[dict[str, Any]]
    width: int
    height: int
    dpi: int
    display: bytes  # JPEG at DISPLAY_DPI
    display_size: tuple[int, int]


def page_count(path: Path) -> int:
    """The number of pages; BookRejected when the file cannot be opened (encrypted, corrupt, not a PDF)."""
    with open_pdf(path) as document:
        return len(document)


@contextmanager
def open_pdf(path: Path) -> Iterator[pdfium.PdfDocument]:
    """The PDF, opened under the PDFium lock (held until the block ends)."""
    with PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(path)
        except pdfium.PdfiumError as exc:
            # PDFium refuses a document whose page tree is empty without setting an error (the last error
            # is then an earlier document's): an empty page tree is recognised in the file itself.
            if _EMPTY_PAGE_TREE.search(path.read_bytes()[-1024 * 1024 :]):
                raise BookRejected("the PDF has no pages (its page tree is empty)") from None
            code = pdfium_c.FPDF_GetLastError()
            raise BookRejected(_PDFIUM_ERRORS.get(code, f"the PDF cannot be opened: {exc}")) from None
        try:
            yield document
        finally:
            document.close()


def split_page(document: pdfium.PdfDocument, number: int, *, dpi: int, max_pixels: int) -> ImagePage | TextPage:
    """Page ``number`` (1-based) of an open document as a text page or an image page; PageFailed if it cannot be."""
    with PDFIUM_LOCK:
        try:
            page = document[number - 1]
        except (pdfium.PdfiumError, IndexError) as exc:
            raise PageFailed(f"page {number} cannot be read: {exc}") from None
        try:
            return _split(page, number, dpi=dpi, max_pixels=max_pixels)
        except pdfium.PdfiumError as exc:
            raise PageFailed(f"page {number} cannot be read: {exc}") from None
        finally:
            page.close()


def _split(page: pdfium.PdfPage, number: int, *, dpi: int, max_pixels: int) -> ImagePage | TextPage:
    width_pt, height_pt = page.get_size()
    width, height = max(1, round(width_pt * dpi / 72)), max(1, round(height_pt * dpi / 72))
    images, other_visible = _contents(page)
    for image in images:
        w, h = image.get_px_size()
        if w * h > max_pixels:
            raise PageFailed(
                f"page {number} holds an image of {w}x{h} pixels, over the limit of {max_pixels} "
                "(MAX_IMAGE_PIXELS): a decompression bomb, or a scan larger than any page needs"
            )
    coverage = _coverage(page, images)
    textpage = page.get_textpage()
    try:
        layer = read_text_layer(page, textpage, width, height, coverage)
    finally:
        textpage.close()
    if layer is not None or (not images and not other_visible):
        return _text_page(page, layer.blocks if layer else [], width, height, dpi)
    if len(images) == 1 and not other_visible and page.get_rotation() == 0 and coverage >= SCAN_COVERAGE:
        extracted = _extract(images[0])
        if extracted is not None:
            return extracted
    if width * height > max_pixels:
        raise PageFailed(
            f"page {number} is {width_pt:.0f}x{height_pt:.0f} points: {width}x{height} pixels at {dpi} dpi, "
            f"over the limit of {max_pixels} (MAX_IMAGE_PIXELS)"
        )
    bitmap = page.render(scale=dpi / 72)
    picture = bitmap.to_pil()
    return ImagePage(_png(picture, dpi), ".png", "image/png", picture.width, picture.height, "rendered")


def _contents(page: pdfium.PdfPage) -> tuple[list[Any], bool]:
    """The page's image objects, and whether anything else on it is visible (paths, shadings, visible text)."""
    images, other_visible = [], False
    for obj in page.get_objects(max_depth=8):
        if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE:
            # An image inside a form XObject has the form's matrix too: never taken as the page's scan.
            images.append(obj)
            other_visible |= obj.level > 0
        elif obj.type == pdfium_c.FPDF_PAGEOBJ_TEXT:
            other_visible |= pdfium_c.FPDFTextObj_GetTextRenderMode(obj.raw) != pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE
        elif obj.type in (pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_SHADING):
            other_visible = True
    return images, other_visible


def _coverage(page: pdfium.PdfPage, images: list[Any]) -> float:
    """The share of the page the largest upright image covers (0 when none)."""
    left, bottom, right, top = page.get_cropbox()
    area = max((right - left) * (top - bottom), 1e-6)
    best = 0.0
    for image in images:
        a, b, c, d, _, _ = image.get_matrix().get()
        if abs(b) > 1e-6 or abs(c) > 1e-6 or a <= 0 or d <= 0:
            continue  # rotated or mirrored: extracting it would show it wrongly
        x0, y0, x1, y1 = image.get_bounds()
        w = max(0.0, min(x1, right) - max(x0, left))
        h = max(0.0, min(y1, top) - max(y0, bottom))
        best = max(best, w * h / area)
    return best


def _extract(image: Any) -> ImagePage | None:
    """The embedded image as it is: its JPEG bytes, or its own pixels as PNG; None when PDFium cannot give them."""
    metadata = image.get_metadata()
    w, h = image.get_px_size()
    bounds = image.get_bounds()
    dpi = round(w / max((bounds[2] - bounds[0]) / 72, 1e-6))
    if image.get_filters() == ["DCTDecode"] and metadata.colorspace in _JPEG_PASSTHROUGH_COLOURS:
        data = bytes(image.get_data(decode_simple=False))
        if data[:2] == b"\xff\xd8":
            return ImagePage(data, ".jpg", "image/jpeg", w, h, "extracted")
    try:
        bitmap = image.get_bitmap(render=False)
    except pdfium.PdfiumError:
        return None
    picture = bitmap.to_pil()
    if metadata.bits_per_pixel == 1 and picture.mode == "L":
        # A 1-bit scan decoded to grey: its two values are exactly 0 and 255, so this is lossless.
        picture = picture.point(lambda v: 255 if v >= 128 else 0).convert("1", dither=Image.Dither.NONE)
    return ImagePage(_png(picture, dpi), ".png", "image/png", picture.width, picture.height, "extracted")


def _png(picture: Image.Image, dpi: int) -> bytes:
    out = io.BytesIO()
    if picture.mode not in ("1", "L", "RGB"):
        picture = picture.convert("RGB")
    picture.save(out, format="PNG", dpi=(dpi, dpi), compress_level=3)
    return out.getvalue()


def _text_page(page: pdfium.PdfPage, blocks: list[dict[str, Any]], width: int, height: int, dpi: int) -> TextPage:
    picture = page.render(scale=DISPLAY_DPI / 72).to_pil().convert("RGB")
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=85)
    return TextPage(blocks, width, height, dpi, out.getvalue(), picture.size)
