"""A PDF page's own text layer: is it real text, and its words, lines and paragraphs with boxes.

The rule (docs/books.md): a page is indexed from its text layer, without OCR,
when the layer is *readable* and *enough*:

- readable: at least 90 % of its non-space characters are letters, digits,
  punctuation or symbols. A font without a Unicode map gives U+FFFD, private
  use or control characters instead; such a layer is no text at all.
- enough: at least 1 readable character on a page whose images cover less
  than half of it (born-digital), and at least ``SCAN_MIN_CHARS`` on a page
  mostly covered by images (a scan). A scan carrying only a stamp, a running
  head or a "Digitised by" line still needs OCR for the rest of its text;
  a scan OCR'd elsewhere carries a whole page of text.

Boxes are in pixels of the page rendered at the split's resolution (300 dpi
by default), in its displayed orientation (``/Rotate`` applied), which is
what the page JSON's boxes always are. Words are confidence 100: they are
the document's own text, not a recognition.
"""

from __future__ import annotations

import ctypes
import statistics
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from lib.page_json import assemble_blocks

READABLE_SHARE = 0.9
SCAN_MIN_CHARS = 100
# A page at least this much covered by images is a scan.
SCAN_COVERAGE = 0.5
# A vertical gap between two lines over this many line heights starts a new paragraph.
PARAGRAPH_GAP = 1.0
_UNREADABLE_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn"}


@dataclass(frozen=True)
class TextLayer:
    blocks: list[dict[str, Any]]
    chars: int  # readable characters


def _readable(ch: str) -> bool:
    return ch != "\ufffd" and unicodedata.category(ch) not in _UNREADABLE_CATEGORIES


def _device_transform(page: pdfium.PdfPage, width: int, height: int) -> tuple[float, ...]:
    """The affine map page points -> displayed pixels, as PDFium computes it (crop box, /Rotate, y down)."""
    left, bottom, right, top = page.get_cropbox()

    def to_device(x: float, y: float) -> tuple[int, int]:
        dx, dy = ctypes.c_int(), ctypes.c_int()
        pdfium_c.FPDF_PageToDevice(page.raw, 0, 0, width, height, 0, x, y, dx, dy)
        return dx.value, dy.value

    # Three corners of the crop box give the whole map (PDFium rounds to whole pixels: an error under
    # one pixel over the page, spread as a fraction of a pixel over each box).
    (x0, y0), (x1, y1), (x2, y2) = to_device(left, bottom), to_device(right, bottom), to_device(left, top)
    span_x, span_y = (right - left) or 1.0, (top - bottom) or 1.0
    return x0, y0, (x1 - x0) / span_x, (y1 - y0) / span_x, (x2 - x0) / span_y, (y2 - y0) / span_y, left, bottom


def _box(transform: tuple[float, ...], box: tuple[float, float, float, float], width: int, height: int) -> list[int]:
    x0, y0, ax, ay, bx, by, left, bottom = transform
    x_left, y_bottom, x_right, y_top = box
    xs, ys = [], []
    for px, py in ((x_left, y_bottom), (x_right, y_top), (x_left, y_top), (x_right, y_bottom)):
        u, v = px - left, py - bottom
        xs.append(x0 + ax * u + bx * v)
        ys.append(y0 + ay * u + by * v)
    return [_clamp(min(xs), width), _clamp(min(ys), height), _clamp(max(xs), width), _clamp(max(ys), height)]


def _clamp(value: float, limit: int) -> int:
    """A coordinate on the page: glyph boxes may reach past the crop box."""
    return max(0, min(limit, round(value)))


def _chars(textpage: pdfium.PdfTextPage) -> Iterator[tuple[int, str]]:
    for index in range(textpage.count_chars()):
        code = pdfium_c.FPDFText_GetUnicode(textpage.raw, index)
        yield index, chr(code) if 0 < code < 0x110000 else "\ufffd"


def read_text_layer(
    page: pdfium.PdfPage, textpage: pdfium.PdfTextPage, width: int, height: int, image_coverage: float
) -> TextLayer | None:
    """The page's text as the page model, or None when the layer is not real text by the rule above."""
    transform = _device_transform(page, width, height)
    lines: list[list[dict[str, Any]]] = []
    line: list[dict[str, Any]] = []
    word_text: list[str] = []
    word_boxes: list[list[int]] = []
    readable = unreadable = 0

    def end_word() -> None:
        if word_text:
            lefts, tops, rights, bottoms = zip(*word_boxes, strict=True)
            box = [min(lefts), min(tops), max(rights), max(bottoms)]
            line.append({"text": "".join(word_text), "bbox": box, "conf": 100.0})
            word_text.clear()
            word_boxes.clear()

    def end_line() -> None:
        nonlocal line
        end_word()
        if line:
            lines.append(line)
            line = []

    for index, ch in _chars(textpage):
        if ch in "\r\n":
            end_line()
            continue
        if ch.isspace():
            end_word()
            continue
        if not _readable(ch):
            unreadable += 1
            end_word()
            continue
        box = _box(transform, textpage.get_charbox(index), width, height)
        # The last character of the word, or else the line's last word: a jump to another line without a newline.
        last = word_boxes[-1] if word_boxes else (line[-1]["bbox"] if line else None)
        if last is not None and _starts_new_line(last, box):
            end_line()
        readable += 1
        word_text.append(ch)
        word_boxes.append(box)
    end_line()
    if readable == 0 or readable < READABLE_SHARE * (readable + unreadable):
        return None
    if image_coverage >= SCAN_COVERAGE and readable < SCAN_MIN_CHARS:
        return None
    return TextLayer(assemble_blocks([_paragraphs(lines)]), readable)


def _starts_new_line(previous: list[int], box: list[int]) -> bool:
    """A character that does not overlap the previous one vertically is on another line (no newline was given)."""
    return box[1] >= previous[3] or box[3] <= previous[1]


def _paragraphs(lines: list[list[dict[str, Any]]]) -> list[list[list[dict[str, Any]]]]:
    """Lines grouped into paragraphs where the gap between two lines is larger than a line's height."""
    heights = [max(w["bbox"][3] for w in ln) - min(w["bbox"][1] for w in ln) for ln in lines]
    typical = statistics.median(heights) if heights else 0
    paragraphs: list[list[list[dict[str, Any]]]] = []
    previous_bottom: int | None = None
    for words in lines:
        top = min(w["bbox"][1] for w in words)
        gap = top - previous_bottom if previous_bottom is not None else 0
        if not paragraphs or gap > PARAGRAPH_GAP * typical or gap < -typical:
            paragraphs.append([])
        paragraphs[-1].append(words)
        previous_bottom = max(w["bbox"][3] for w in words)
    return paragraphs
