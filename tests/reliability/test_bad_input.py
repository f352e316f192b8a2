"""The bad-input corpus: every case with the outcome the rule gives it, through the real handlers.

The rule (docs/reliability.md): content that can never succeed ends in a
failure record (under failed/, not .json: decoded key verbatim, book, page,
reason, time), a failure metric and a normal return; errors a retry may cure
raise after every record was tried; one bad record never stops the others.

Each object case is uploaded to moto's S3 next to a good page, both records go
in one event (the bad one first), and the OCR handler runs with the real
Tesseract. Large inputs are generated here, not stored.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import struct
import textwrap
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageOps

from pagesearch.text_metrics import cer
from tests.conftest import PAGES_BUCKET, RESULTS_BUCKET, ROOT, SAMPLES, s3_event, sns_event
from tests.reliability.support import (
    PHOTOTEST,
    assert_failure_record,
    assert_within_s3_limits,
    emf_metrics,
    encode,
    failure_records,
    invoke_indexer,
    invoke_ocr,
    read_json,
    real_page,
    result_keys,
    small_good_page,
    word_boxes,
    words,
)
from tests.standards import assert_valid_alto, assert_valid_hocr

pytestmark = pytest.mark.integration
SCHEMA = json.loads((ROOT / "schema" / "page.schema.json").read_text())
OLDBOOK = Path("/work/shared/data/pages/oldbooks/a013.tiff")
GOOD_KEY = "good/0001.png"
GOOD_WORDS = {"This", "point", "text", "code", "works"}
PHOTOTEST_PHRASE = "quick brown dog"


# ------------------------------------------------------------------ generated inputs


def _jpeg(image: Image.Image, **options: Any) -> bytes:
    return encode(
        image.convert("RGB") if image.mode not in ("L", "RGB", "CMYK") else image, "JPEG", quality=92, **options
    )


def truncated(data: bytes, fraction: float = 0.6) -> bytes:
    return data[: int(len(data) * fraction)]


def png_header_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    """A 1-bit PNG that claims width x height pixels in a few dozen bytes: a decompression bomb."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def hundred_megapixel_page() -> bytes:
    """A real book page as a 1,350 dpi scan: 8,325 x 11,794 = 98 megapixels, 1-bit Group 4 TIFF (~170 kB)."""
    with Image.open(OLDBOOK if OLDBOOK.exists() else SAMPLES / "d015.tiff") as page:
        big = page.convert("1").resize((page.width * 9 // 2, page.height * 9 // 2), Image.Resampling.NEAREST)
    return encode(big, "TIFF", compression="group4", dpi=(1200, 1200))


def cmyk_jpeg() -> bytes:
    return encode(real_page(mode="RGB").convert("CMYK"), "JPEG", quality=92)


def gray16_png() -> bytes:
    samples = np.asarray(real_page(), dtype=np.uint16) * 257
    return encode(Image.fromarray(samples.astype(np.uint16)), "PNG", dpi=(200, 200))


def rgb48_png() -> bytes:
    """A 16-bit-per-channel colour PNG (what flatbed scanners call 48-bit), written by hand: Pillow cannot."""
    samples = np.asarray(real_page(), dtype=">u2") * 257
    width, height = samples.shape[1], samples.shape[0]
    rows = np.repeat(samples[:, :, None], 3, axis=2).astype(">u2").reshape(height, width * 3)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def palette_png_transparent_black() -> bytes:
    """Paper is palette entry 0, black and fully transparent; ink is entry 1, black and opaque.

    Dropping the alpha channel gives an all-black page: only compositing over
    white paper shows the text.
    """
    ink = np.asarray(real_page()) < 128
    image = Image.fromarray(ink.astype(np.uint8), mode="L").convert("P")
    image.putpalette([0, 0, 0, 0, 0, 0] + [0, 0, 0] * 254)
    return encode(image, "PNG", transparency=0)


def rgba_png_transparent_black() -> bytes:
    ink = np.asarray(real_page()) < 128
    rgba = np.zeros((*ink.shape, 4), dtype=np.uint8)
    rgba[..., 3] = np.where(ink, 255, 0)
    return encode(Image.fromarray(rgba, mode="RGBA"), "PNG")


def float_tiff() -> bytes:
    samples = np.asarray(real_page(), dtype=np.float32) / 255.0
    return encode(Image.fromarray(samples, mode="F"), "TIFF")


def animated_gif() -> bytes:
    first = real_page().convert("P")
    second = real_page(SAMPLES / "eurotext.tif").crop((0, 0, 640, 480)).convert("P")
    return encode(first, "GIF", save_all=True, append_images=[second], duration=500, loop=0)


def multipage_tiff() -> bytes:
    first, second = real_page(mode="1"), real_page(SAMPLES / "eurotext.tif", mode="1")
    return encode(first, "TIFF", save_all=True, append_images=[second], compression="group4", dpi=(200, 200))


def jpeg_in_tiff() -> bytes:
    return encode(real_page(mode="RGB"), "TIFF", compression="jpeg", dpi=(200, 200))


def bitfields_bmp() -> bytes:
    """A 32-bit BI_BITFIELDS BMP (what many Windows tools write): Pillow reads it, Leptonica does not."""
    grey = np.asarray(real_page(), dtype=np.uint8)[::-1]  # BMP rows go bottom-up
    pixels = np.stack([grey, grey, grey, np.zeros_like(grey)], axis=2).tobytes()
    height, width = grey.shape
    masks = struct.pack("<III", 0x00FF0000, 0x0000FF00, 0x000000FF)
    offset = 14 + 40 + len(masks)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 32, 3, len(pixels), 7874, 7874, 0, 0)
    return struct.pack("<2sIHHI", b"BM", offset + len(pixels), 0, 0, offset) + info + masks + pixels


EXIF_ROTATE_CW = 6  # "rotate 90° clockwise to display"


def exif_rotated_photo() -> bytes:
    """A JPEG photo of a real page stored sideways, with the EXIF orientation that shows it upright."""
    upright = real_page(mode="RGB")
    exif = Image.Exif()
    exif[0x0112] = EXIF_ROTATE_CW
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # counter-clockwise: the camera's sensor view
    data = encode(stored, "JPEG", quality=95, exif=exif, dpi=(200, 200))
    with Image.open(io.BytesIO(data)) as check:
        assert ImageOps.exif_transpose(check).size == upright.size  # the viewer shows it upright
    return data


def upside_down_page() -> bytes:
    return encode(real_page().rotate(180), "PNG", dpi=(200, 200))


def blank_page() -> bytes:
    return encode(Image.new("L", (1275, 1650), 255), "PNG", dpi=(150, 150))


def noise_page() -> bytes:
    return encode(Image.effect_noise((800, 800), 80).convert("L"), "PNG")


def ppm_page() -> bytes:
    return encode(real_page(), "PPM")


def tiff_with_infinite_resolution() -> bytes:
    """A real page whose XResolution/YResolution are DOUBLE +inf (TIFF type 12): the DPI code overflowed (#14, 5)."""
    from PIL import TiffImagePlugin

    tags = TiffImagePlugin.ImageFileDirectory_v2()
    for tag in (282, 283):  # XResolution, YResolution
        tags[tag] = float("inf")
        tags.tagtype[tag] = 12  # DOUBLE
    return encode(real_page(), "TIFF", tiffinfo=tags)


def colour_jpeg_claiming_more_pixels() -> bytes:
    """A 640 x 480 colour JPEG whose header says 10950 x 10950: libjpeg fills the rest with grey (#14, 8)."""
    data = bytearray(_jpeg(real_page(mode="RGB")))
    start = data.find(b"\xff\xc0")  # baseline start-of-frame: length, precision, height, width
    data[start + 5 : start + 9] = struct.pack(">HH", 10950, 10950)
    return bytes(data)


def png_with_large_xmp() -> bytes:
    """A valid page with a compressed iTXt XMP packet of 1.7 MB (what DAM tools write): it was refused (#14, 8)."""
    from PIL import PngImagePlugin

    rng = np.random.default_rng(7)
    packet = "".join(f"<rdf:li>{rng.integers(0, 10**12)}</rdf:li>" for _ in range(240_000))
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", f"<x:xmpmeta>{packet}</x:xmpmeta>", zip=True)
    data = encode(real_page(), "PNG", pnginfo=info, dpi=(200, 200))
    assert len(data) > 1_500_000, len(data)
    return data


def tiff_with_many_frames(count: int = 20_000) -> bytes:
    """``count`` 8 x 8 frames sharing one strip (Pillow's writer takes minutes for this many, so by hand).

    Counting them all took seconds, growing with the square of the count: 80,000 took 71 s (#14, 7).
    """
    strip_at, first_ifd = 8, 16
    entries = [(256, 3, 8), (257, 3, 8), (258, 3, 1), (259, 3, 1), (262, 3, 1), (273, 4, strip_at), (278, 3, 8)]
    entries.append((279, 4, 8))
    ifd_size = 2 + 12 * len(entries) + 4
    out = bytearray(b"II*\x00" + struct.pack("<I", first_ifd) + b"\xff" * 8)
    for n in range(count):
        following = first_ifd + (n + 1) * ifd_size if n + 1 < count else 0
        out += struct.pack("<H", len(entries))
        for tag, kind, value in entries:
            out += struct.pack("<HHI", tag, kind, 1) + (
                struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
            )
        out += struct.pack("<I", following)
    return bytes(out)


# ------------------------------------------------------------------ checks of page JSON


def reads_phototest(document: dict[str, Any]) -> None:
    assert PHOTOTEST_PHRASE in document["text"], document["text"][:300]


def not_a_page_number(document: dict[str, Any]) -> None:
    assert document["page_number"] is None and set(words(document)) >= GOOD_WORDS


def is_page_number(number: int) -> Callable[[dict[str, Any]], None]:
    def check(document: dict[str, Any]) -> None:
        assert document["page_number"] == number and set(words(document)) >= GOOD_WORDS

    return check


def reads_first_frame_only(document: dict[str, Any]) -> None:
    reads_phototest(document)
    assert document["image"]["frames"] == 2
    assert "Fuchs" not in document["text"], "the second frame was read too"


def boxes_in_displayed_orientation(document: dict[str, Any]) -> None:
    """Sizes and word boxes are those of the page as displayed, matching the upright page's own OCR."""
    from lib.keys import PageRef
    from lib.ocr.flow import ocr_document
    from lib.settings import Settings

    reads_phototest(document)
    assert (document["image"]["width"], document["image"]["height"]) == (640, 480)
    upright = ocr_document(
        encode(real_page(mode="RGB"), "JPEG", quality=95, dpi=(200, 200)),
        PageRef("b", "p"),
        Settings.from_env(),
        source={"bucket": PAGES_BUCKET, "key": "b/p.jpg"},
    )
    for word in ("quick", "brown", "jumped"):
        rotated, reference = word_boxes(document, word), word_boxes(upright, word)
        assert len(rotated) == len(reference) > 0, word
        for got, want in zip(rotated, reference, strict=True):
            assert all(abs(g - w) <= 3 for g, w in zip(got, want, strict=True)), (word, got, want)


def hundred_megapixels_read_at_full_size(document: dict[str, Any]) -> None:
    """OCR'd as it is: no downscale, so the boxes are in the scan's own pixels."""
    from lib.page_json import iter_lines

    image = document["image"]
    assert image["width"] * image["height"] > 95_000_000 and image["dpi"] == 1200
    truth = OLDBOOK.with_suffix(".gt.txt")
    if truth.exists():
        assert cer(document["text"], truth.read_text()) < 0.05
    lines = [line for _, _, line in iter_lines(document["blocks"])]
    assert len(lines) > 20
    for line in lines:
        for word in line["words"]:
            left, top, right, bottom = word["bbox"]
            assert 0 <= left <= right <= image["width"] and 0 <= top <= bottom <= image["height"]
    # A line of this book is ~35 px high at 300 dpi: here it is 4.5 times that.
    heights = sorted(line["bbox"][3] - line["bbox"][1] for line in lines)
    assert heights[len(heights) // 2] > 120


def empty_page(document: dict[str, Any]) -> None:
    assert document["stats"] == {"blocks": 0, "lines": 0, "words": 0} and document["blocks"] == []


def any_valid_page(document: dict[str, Any]) -> None:
    assert document["stats"]["words"] == len(words(document))


def upside_down_read_turned(document: dict[str, Any]) -> None:
    """The first reading's low confidence sends the page through OSD and a second reading, turned 180° (#10)."""
    assert document["ocr"]["psm"] == 3
    assert (document["image"]["rotation"], document["ocr"]["passes"]) == (180, 2)
    reads_phototest(document)


def upside_down_is_not_rotated(document: dict[str, Any]) -> None:
    """OCR_ROTATE=off and psm 3, no orientation detection: the text is garbage at low confidence (documented)."""
    assert document["ocr"]["psm"] == 3 and document["image"]["rotation"] == 0
    assert PHOTOTEST_PHRASE not in document["text"]
    confidences = [
        w["conf"] for b in document["blocks"] for p in b["paragraphs"] for line in p["lines"] for w in line["words"]
    ]
    assert confidences and sum(confidences) / len(confidences) < 70


def upside_down_read_with_osd(document: dict[str, Any]) -> None:
    assert document["ocr"]["psm"] == 1
    reads_phototest(document)


# ------------------------------------------------------------------ the corpus of objects


@dataclass(frozen=True)
class ObjectCase:
    """An object in the pages bucket and what the OCR function must make of it."""

    id: str
    key: str
    data: Callable[[], bytes] | None  # None: the event names an object that is not there
    outcome: str  # ocr | failed | skipped
    reason: str = ""  # substring of the failure reason or skip detail
    check: Callable[[dict[str, Any]], None] | None = None
    env: dict[str, str] = field(default_factory=dict)
    book: str | None = "corpus"
    page: str | None = None


def _case(id: str, key: str, data: Callable[[], bytes] | None, outcome: str, reason: str = "", **kw: Any) -> ObjectCase:
    from lib.keys import InvalidKey, page_ref_from_key

    try:
        ref = page_ref_from_key(key)
        book, page = ref.book, ref.page
    except InvalidKey:
        book = page = None
    return ObjectCase(id, key, data, outcome, reason, book=kw.pop("book", book), page=kw.pop("page", page), **kw)


def good() -> bytes:
    return small_good_page()


LONG_FITS = "long/" + "p" * (1000 - len("long/") - len(".png")) + ".png"  # 1,000 bytes: its .json is 1,001
LONG_OVER = "long/" + "p" * (1024 - len("long/") - len(".png")) + ".png"  # 1,024 bytes: its .json would be 1,025
LONG_UNICODE = "書/" + "頁" * 330 + ".png"  # 998 bytes, ~3,000 once percent-encoded for S3 metadata
assert len(LONG_FITS.encode()) == 1000 and len(LONG_OVER.encode()) == 1024 and len(LONG_UNICODE.encode()) < 1024

OBJECT_CASES = [
    # content that can never succeed
    _case(
        "non-image-with-image-suffix",
        "corpus/notes.jpg",
        lambda: b"Minutes of the meeting\n" * 40,
        "failed",
        "not an image",
    ),
    _case("zero-byte-object", "corpus/empty.png", lambda: b"", "failed", "empty (0 bytes)"),
    _case("truncated-jpeg", "corpus/cut.jpg", lambda: truncated(_jpeg(real_page())), "failed", "truncated"),
    _case("truncated-png", "corpus/cut.png", lambda: truncated(encode(real_page(), "PNG")), "failed", "truncated"),
    _case(
        "truncated-tiff-strips",
        "corpus/cut-strips.tif",
        lambda: truncated(PHOTOTEST.read_bytes()),
        "failed",
        "truncated",
    ),
    _case(
        "truncated-tiff-directory",
        "corpus/cut-ifd.tif",
        lambda: truncated(encode(real_page(mode="1"), "TIFF", compression="group4")),
        "failed",
        "not an image",
    ),
    # Found by this corpus: counting the frames of a cut multi-page TIFF raised TypeError, which was retried forever.
    _case(
        "truncated-multipage-tiff",
        "corpus/cut-multi.tif",
        lambda: truncated(multipage_tiff(), 0.8),
        "failed",
        "cannot read its frames",
    ),
    _case("pdf-under-image-name", "corpus/scan.png", lambda: b"%PDF-1.7\n1 0 obj<<>>endobj\n%%EOF\n", "failed", "PDF"),
    _case("decompression-bomb", "corpus/bomb.png", png_header_bomb, "failed", "decompression bomb"),
    _case("unsupported-format-ppm", "corpus/pnm.png", ppm_page, "failed", "unsupported image format 'PPM'"),
    _case(
        "colour-jpeg-header-claims-more-pixels",
        "corpus/claims.jpg",
        colour_jpeg_claiming_more_pixels,
        "failed",
        "header claims 10950x10950 pixels",
    ),
    _case("tiff-20000-frames", "corpus/frames.tif", tiff_with_many_frames, "failed", "more than 10000 frames"),
    _case("too-thin", "corpus/thin.png", lambda: encode(Image.new("L", (8, 400), 255), "PNG"), "failed", "too small"),
    _case("one-pixel", "corpus/dot.gif", lambda: encode(Image.new("L", (1, 1), 0), "GIF"), "failed", "too small"),
    # images Tesseract cannot take as they are: converted, then OCR'd
    _case(
        "100-megapixel-page",
        "corpus/0100.tif",
        hundred_megapixel_page,
        "ocr",
        check=hundred_megapixels_read_at_full_size,
    ),
    _case("cmyk-jpeg", "corpus/cmyk.jpg", cmyk_jpeg, "ocr", check=reads_phototest),
    _case("16-bit-grayscale-png", "corpus/gray16.png", gray16_png, "ocr", check=reads_phototest),
    _case("48-bit-colour-png", "corpus/rgb48.png", rgb48_png, "ocr", check=reads_phototest),
    _case("palette-png-transparent", "corpus/palette.png", palette_png_transparent_black, "ocr", check=reads_phototest),
    _case("rgba-png-transparent", "corpus/rgba.png", rgba_png_transparent_black, "ocr", check=reads_phototest),
    _case("32-bit-float-tiff", "corpus/float.tif", float_tiff, "ocr", check=reads_phototest),
    _case("jpeg-compressed-tiff", "corpus/jpeg-in.tif", jpeg_in_tiff, "ocr", check=reads_phototest),
    _case("bitfields-bmp", "corpus/bitfields.bmp", bitfields_bmp, "ocr", check=reads_phototest),
    _case(
        "tiff-infinite-resolution", "corpus/inf-dpi.tif", tiff_with_infinite_resolution, "ocr", check=reads_phototest
    ),
    _case("png-with-1.7-mb-xmp", "corpus/xmp.png", png_with_large_xmp, "ocr", check=reads_phototest),
    _case("webp", "corpus/page.webp", lambda: encode(real_page(), "WEBP", lossless=True), "ocr", check=reads_phototest),
    _case("animated-gif", "corpus/anim.gif", animated_gif, "ocr", check=reads_first_frame_only),
    _case("multi-page-tiff", "corpus/multi.tif", multipage_tiff, "ocr", check=reads_first_frame_only),
    _case("exif-rotated-photo", "corpus/photo.jpg", exif_rotated_photo, "ocr", check=boxes_in_displayed_orientation),
    # pages that hold no (readable) text are still pages
    _case("blank-page", "corpus/blank.png", blank_page, "ocr", check=empty_page),
    _case("noise-page", "corpus/noise.png", noise_page, "ocr", check=any_valid_page),
    _case("upside-down-page", "corpus/upside-down.png", upside_down_page, "ocr", check=upside_down_read_turned),
    _case(
        "upside-down-page-not-turned",
        "corpus/upside-down-off.png",
        upside_down_page,
        "ocr",
        check=upside_down_is_not_rotated,
        env={"OCR_ROTATE": "off"},
    ),
    _case(
        "upside-down-page-with-osd",
        "corpus/upside-down-osd.png",
        upside_down_page,
        "ocr",
        check=upside_down_read_with_osd,
        env={"TESSERACT_PSM": "1", "OCR_ROTATE": "off"},
    ),
    # keys: decoded once, kept verbatim, never a file path
    _case("key-with-spaces", "Book of Hours/page 0001.png", good, "ocr"),
    _case("key-with-plus", "a+b/1+1.png", good, "ocr"),
    _case("key-with-percent", "50% off/100%25.png", good, "ocr"),
    _case("key-with-unicode", "Café ünïcødé/ページ \uff10\uff11.png", good, "ocr"),
    _case("key-with-dot-dot", "../0001.png", good, "ocr"),
    _case("key-with-inner-dot-dot", "book/../../etc/passwd.png", good, "ocr"),
    _case("key-upper-case-suffix", "SCANS/0001.PNG", good, "ocr"),
    # Found by the nothing-lost issue (#14, 5): str.isdigit() accepts these, int() does not (after the OCR ran).
    _case("key-superscript-digit", "corpus/\u00b2.tif", good, "ocr", check=not_a_page_number),
    _case("key-circled-digit", "corpus/\u2460.png", good, "ocr", check=not_a_page_number),
    _case("key-isbn", "corpus/9780140449136.tif", good, "ocr", check=is_page_number(9780140449136)),
    _case("key-beyond-2**53", "corpus/12345678901234567890.png", good, "ocr", check=not_a_page_number),
    _case("key-1000-bytes", LONG_FITS, good, "ocr"),
    _case("key-1024-bytes", LONG_OVER, good, "failed", "too long", book=None, page=None),
    _case("key-unicode-near-limit", LONG_UNICODE, good, "ocr"),
    _case("key-without-book", "0004.png", good, "failed", "no book prefix"),
    _case("key-without-page-name", "corpus/.png", good, "failed", "no page name"),
    _case("key-in-reserved-book", "failed/0001.png", good, "failed", "reserved"),
    _case("key-not-an-image", "corpus/readme.txt", good, "skipped", "not an image suffix"),
    _case("object-deleted-before-read", "corpus/gone.png", None, "skipped", "no longer exists"),
]


def _ids(case: Any) -> str:
    return case.id if isinstance(case, ObjectCase) else str(case)


def _upload(s3: Any, key: str, data: bytes) -> dict[str, Any]:
    response = s3.put_object(Bucket=PAGES_BUCKET, Key=key, Body=data)
    return s3_event(PAGES_BUCKET, key, etag=response["ETag"].strip('"'), size=len(data))


def _assert_good_page_done(s3: Any, summary: dict[str, Any]) -> None:
    # One outcome of the good page (a case may name its key in another bucket: that one is skipped).
    [good_outcome] = [
        p for p in summary["pages"] if p["key"] == GOOD_KEY and "this function's bucket" not in p.get("detail", "")
    ]
    assert good_outcome["status"] == "ocr", good_outcome
    assert set(words(read_json(s3, RESULTS_BUCKET, "good/0001.json"))) >= GOOD_WORDS


@pytest.mark.parametrize("case", OBJECT_CASES, ids=_ids)
def test_object_case(
    case: ObjectCase,
    s3: Any,
    tesseract: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import jsonschema

    from lib.keys import page_ref_from_key

    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    good_record = _upload(s3, GOOD_KEY, small_good_page())
    if case.data is None:
        record = s3_event(PAGES_BUCKET, case.key, etag="0123456789abcdef0123456789abcdef", size=1234)
    else:
        record = _upload(s3, case.key, case.data())
    capsys.readouterr()
    caplog.clear()

    summary = invoke_ocr(sns_event(record, good_record))  # returns normally: no exception

    stdout = capsys.readouterr().out
    assert summary["records"] == 2
    _assert_good_page_done(s3, summary)
    [outcome] = [p for p in summary["pages"] if p["key"] == case.key]
    assert outcome["status"] == case.outcome, outcome
    failures = emf_metrics(stdout).get("OcrFailures", 0)
    displays = [k for k in result_keys(s3) if ".display." in k and not k.startswith("good/")]
    outputs = [k for k in result_keys(s3) if _is_output(k) and not k.startswith("good/")]
    others = [k for k in result_keys(s3) if k != "good/0001.json" and ".display." not in k and not _is_output(k)]
    if case.outcome == "failed":
        assert case.reason.lower() in outcome["detail"].lower()
        assert_failure_record(s3, stage="ocr", key=case.key, reason=case.reason, book=case.book, page=case.page)
        assert failures == 1
        assert not [k for k in others if not k.startswith("failed/")], "a failed page left a page JSON"
        assert displays == [], "a failed page left an image"
        assert outputs == [], "a failed page left an output"
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert errors and all(getattr(r, "key", None) == case.key for r in errors), "the error log names the key"
    elif case.outcome == "skipped":
        assert case.reason in outcome["detail"]
        assert others == [] and displays == [] and outputs == [] and failures == 0
    else:
        ref = page_ref_from_key(case.key)
        assert others == [ref.result_key] and failures == 0
        document = read_json(s3, RESULTS_BUCKET, ref.result_key)
        jsonschema.validate(document, SCHEMA)
        assert (document["book"], document["page"], document["source"]["key"]) == (ref.book, ref.page, case.key)
        # Browsers cannot show TIFF or BMP: the page JSON names the image they show instead, and it is there.
        shown = document["image"].get("display")
        assert displays == ([shown["key"]] if document["image"]["format"] in ("TIFF", "BMP") else []), displays
        # The standard outputs of the default setting, each there and valid by its standard.
        assert sorted(document["outputs"]) == ["alto", "hocr"] and outputs == sorted(document["outputs"].values())
        assert_valid_alto(
            s3.get_object(Bucket=RESULTS_BUCKET, Key=document["outputs"]["alto"])["Body"].read(), document
        )
        assert_valid_hocr(
            s3.get_object(Bucket=RESULTS_BUCKET, Key=document["outputs"]["hocr"])["Body"].read(), document
        )
        if case.check:
            case.check(document)
        else:
            assert set(words(document)) >= GOOD_WORDS
    assert_within_s3_limits(s3)


def _is_output(key: str) -> bool:
    """A standard output (ALTO, hOCR, PDF) of some page, not a failure record."""
    from lib.keys import OUTPUT_SUFFIXES

    return not key.startswith("failed/") and key.endswith(tuple(OUTPUT_SUFFIXES.values()))


# ------------------------------------------------------------------ Tesseract failing, killed, hanging


def _wrapper(tmp_path: Path, tesseract: str, on_jpeg: str) -> str:
    """TESSERACT_CMD that misbehaves on JPEG input (the bad record) and is the real Tesseract otherwise."""
    script = tmp_path / f"tesseract-{uuid.uuid4().hex[:6]}"
    script.write_text(
        textwrap.dedent(f"""\
        #!/bin/sh
        case "$1" in
          *.jpg) {on_jpeg} ;;
        esac
        exec {tesseract} "$@"
        """)
    )
    script.chmod(0o755)
    return str(script)


def _processes_with(marker: str) -> list[int]:
    """Live processes whose command line holds ``marker`` (zombies count as gone)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ('echo "Error in pixReadStream: simulated decoder failure" >&2; exit 1', "tesseract failed (exit 1)"),
        ("kill -KILL $$", "killed by SIGKILL"),
    ],
    ids=["tesseract-error-exit", "tesseract-killed"],
)
def test_tesseract_error_is_a_failure_record(
    behaviour: str,
    reason: str,
    s3: Any,
    tesseract: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TESSERACT_CMD", _wrapper(tmp_path, tesseract, behaviour))
    bad = _upload(s3, "corpus/0007.jpg", _jpeg(real_page()))
    good_record = _upload(s3, GOOD_KEY, small_good_page())
    capsys.readouterr()
    summary = invoke_ocr(sns_event(bad, good_record))
    stdout = capsys.readouterr().out
    _assert_good_page_done(s3, summary)
    assert_failure_record(s3, stage="ocr", key="corpus/0007.jpg", reason=reason, book="corpus", page="0007")
    assert emf_metrics(stdout)["OcrFailures"] == 1


def test_tesseract_hang_ends_in_a_failure_record_and_leaves_no_process(
    s3: Any, tesseract: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Tesseract that hangs past TESSERACT_TIMEOUT is killed (wrappers exec it, as the layer's does)."""
    marker = f"3{uuid.uuid4().int % 10**6:06d}.5"  # a unique sleep duration to find the process by
    monkeypatch.setenv("TESSERACT_CMD", _wrapper(tmp_path, tesseract, f"exec sleep {marker}"))
    monkeypatch.setenv("TESSERACT_TIMEOUT", "2")
    bad = _upload(s3, "corpus/0008.jpg", _jpeg(real_page()))
    good_record = _upload(s3, GOOD_KEY, small_good_page())
    capsys.readouterr()
    summary = invoke_ocr(sns_event(bad, good_record))
    stdout = capsys.readouterr().out
    _assert_good_page_done(s3, summary)
    assert_failure_record(
        s3, stage="ocr", key="corpus/0008.jpg", reason="timed out after 2 s", book="corpus", page="0008"
    )
    assert emf_metrics(stdout)["OcrFailures"] == 1
    leftovers = _processes_with(f"sleep {marker}")
    for pid in leftovers:  # ours: started by this test's wrapper
        os.kill(pid, signal.SIGKILL)
    assert leftovers == [], "the hanging process outlived the timeout"


# ------------------------------------------------------------------ the corpus of events


def _with(record: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**record, **fields}


def _with_key(record: dict[str, Any], key: Any) -> dict[str, Any]:
    record["s3"]["object"]["key"] = key
    return record


def _sns_record(message: str) -> dict[str, Any]:
    return sns_event(message=message)["Records"][0]


def _test_event() -> dict[str, Any]:
    return json.loads(json.loads((ROOT / "events" / "ocr-test-event.json").read_text())["Records"][0]["Sns"]["Message"])


@dataclass(frozen=True)
class EventCase:
    id: str
    # event from the good SNS record (whose S3 event names good/0001.png)
    build: Callable[[dict[str, Any]], Any]
    outcome: str  # failed | acknowledged | retry | ignored
    reason: str = ""
    env: dict[str, str] = field(default_factory=dict)


EVENT_CASES = [
    EventCase("s3-test-event", lambda good: _test_event(), "acknowledged"),
    EventCase(
        "s3-test-event-in-sns", lambda good: {"Records": [_sns_record(json.dumps(_test_event())), good]}, "acknowledged"
    ),
    EventCase(
        "sns-message-not-json",
        lambda good: {"Records": [_sns_record("{ this is not json"), good]},
        "failed",
        "SNS message is not JSON",
    ),
    EventCase(
        "sns-message-json-not-object",
        lambda good: {"Records": [_sns_record('["Records"]'), good]},
        "failed",
        "not an object",
    ),
    EventCase(
        "sns-message-without-records",
        lambda good: {"Records": [_sns_record('{"Hello": 1}'), good]},
        "failed",
        "holds no S3 Records",
    ),
    EventCase("event-without-records", lambda good: {"detail-type": "Object Created"}, "failed", "no Records"),
    EventCase("event-not-an-object", lambda good: ["Records"], "failed", "not an object"),
    EventCase("record-not-an-object", lambda good: {"Records": ["aws:s3", good]}, "failed", "record is not an object"),
    EventCase(
        "unknown-event-source",
        lambda good: {"Records": [{"eventSource": "aws:sqs", "body": "{}"}, good]},
        "failed",
        "unknown event source 'aws:sqs'",
    ),
    EventCase(
        "malformed-s3-record",
        lambda good: {"Records": [_sns_record(json.dumps({"Records": [{"eventSource": "aws:s3", "s3": {}}]})), good]},
        "failed",
        "malformed S3 record",
    ),
    # Found by the nothing-lost issue (#14, 5): a null eventName was retried to the DLQ, and a key that is a
    # number raised inside parsing, so the good record beside it was never processed.
    EventCase(
        "event-name-null",
        lambda good: {
            "Records": [
                _sns_record(json.dumps({"Records": [_with(s3_event(PAGES_BUCKET, "corpus/n.png"), eventName=None)]})),
                good,
            ]
        },
        "failed",
        "eventName is missing",
    ),
    EventCase(
        "key-is-a-number",
        lambda good: {
            "Records": [_sns_record(json.dumps({"Records": [_with_key(s3_event(PAGES_BUCKET, "x"), 42)]})), good]
        },
        "failed",
        "key is a int, not a str",
    ),
    # Found by the nothing-lost issue (#14, 8): a record naming another bucket was processed as if it were ours,
    # and a removal from another bucket deleted a real page. S3 being unreachable: tests/reliability/test_faults.py.
    EventCase(
        "record-for-another-bucket",
        lambda good: {"Records": [sns_event(s3_event("some-other-bucket", "corpus/0001.png"))["Records"][0], good]},
        "ignored",
        "is not this function's bucket",
    ),
    EventCase(
        "removal-in-another-bucket",
        lambda good: {
            "Records": [
                good,
                sns_event(s3_event("some-other-bucket", "good/0001.png", name="ObjectRemoved:Delete"))["Records"][0],
            ]
        },
        "ignored",
        "is not this function's bucket",
    ),
]


@pytest.mark.parametrize("case", EVENT_CASES, ids=lambda c: c.id)
def test_event_case(
    case: EventCase, s3: Any, tesseract: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    from lib.outcome import RetryableFailure

    good = sns_event(_upload(s3, GOOD_KEY, small_good_page()))["Records"][0]
    event = case.build(good)
    carries_good = GOOD_KEY in json.dumps(event)
    capsys.readouterr()
    if case.outcome == "retry":
        with pytest.raises(RetryableFailure, match=case.reason):
            invoke_ocr(event)
        stdout = capsys.readouterr().out
        assert failure_records(s3) == [], "a retryable error must not be recorded as a failure"
        assert set(words(read_json(s3, RESULTS_BUCKET, "good/0001.json"))) >= GOOD_WORDS, "the others still ran"
        assert emf_metrics(stdout).get("OcrFailures", 0) == 0
        return
    summary = invoke_ocr(event)
    stdout = capsys.readouterr().out
    if carries_good:
        _assert_good_page_done(s3, summary)
    records = failure_records(s3)
    if case.outcome == "ignored":
        assert records == [] and emf_metrics(stdout).get("OcrFailures", 0) == 0
        [ignored] = [p for p in summary["pages"] if "is not this function's bucket" in p.get("detail", "")]
        assert ignored["status"] == "skipped" and case.reason in ignored["detail"]
        assert any(r.getMessage() == "record for another bucket ignored" for r in caplog.records)
        return
    if case.outcome == "acknowledged":
        assert records == [] and emf_metrics(stdout).get("OcrFailures", 0) == 0
        assert [p["key"] for p in summary["pages"]] == ([GOOD_KEY] if carries_good else [])
        assert any(r.getMessage() == "s3:TestEvent acknowledged" and r.levelno == logging.INFO for r in caplog.records)
        return
    [record] = records
    assert record["_key"].startswith("failed/events/") and not record["_key"].endswith(".json")
    assert record["source"]["key"].startswith("events/") and case.reason in record["reason"]
    assert record["stage"] == "ocr" and record["time"] and (record["book"], record["page"]) == (None, None)
    assert emf_metrics(stdout)["OcrFailures"] == 1


def test_two_bad_messages_keep_two_records(s3: Any) -> None:
    """Malformed messages have no key to be named after: each keeps a record of its own."""
    invoke_ocr({"detail-type": "one"})
    invoke_ocr({"detail-type": "two"})
    assert len(failure_records(s3)) == 2


def test_tesseract_missing_is_retried_not_recorded(s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No Tesseract is a deployment problem, not the page's: the invocation raises so Lambda retries."""
    from lib.outcome import RetryableFailure

    monkeypatch.setenv("TESSERACT_CMD", str(tmp_path / "no-such-tesseract"))
    monkeypatch.setenv("PATH", str(tmp_path))
    record = _upload(s3, "corpus/0009.png", small_good_page())
    with pytest.raises(RetryableFailure, match="TesseractMissing"):
        invoke_ocr(sns_event(record))
    assert failure_records(s3) == []


# ------------------------------------------------------------------ the indexer's corpus


@dataclass(frozen=True)
class IndexCase:
    id: str
    key: str
    body: Callable[[dict[str, Any]], bytes] | None  # from the good page JSON; None: not there
    outcome: str  # indexed | failed | skipped
    reason: str = ""


def _fifty_megabytes(document: dict[str, Any]) -> bytes:
    big = dict(document, book="corpus", page="0050", text="lorem ipsum " * (50 * 1024 * 1024 // 12))
    return json.dumps(big).encode()


def _renamed(document: dict[str, Any], **fields: Any) -> bytes:
    return json.dumps(dict(document, **fields)).encode()


INDEX_CASES = [
    IndexCase(
        "page-json-fails-schema",
        "corpus/0001.json",
        lambda d: b'{"book": "corpus", "page": "0001"}',
        "failed",
        "fails the page schema",
    ),
    IndexCase(
        "page-json-wrong-types",
        "corpus/0002.json",
        lambda d: _renamed(d, book="corpus", page="0002", blocks="none"),
        "failed",
        "fails the page schema at blocks",
    ),
    IndexCase("page-json-null", "corpus/0003.json", lambda d: b"null", "failed", "fails the page schema"),
    IndexCase("page-json-not-json", "corpus/0004.json", lambda d: b"{ truncated", "failed", "not JSON"),
    IndexCase("page-json-not-utf8", "corpus/0005.json", lambda d: b'{"book": "\xff\xfe"}', "failed", "not JSON"),
    IndexCase(
        "page-json-names-another-page",
        "corpus/0006.json",
        lambda d: _renamed(d, book="corpus", page="9999"),
        "failed",
        "not those of its key",
    ),
    IndexCase("page-json-50-megabytes", "corpus/0050.json", _fifty_megabytes, "failed", "over the limit"),
    IndexCase(
        "blank-page-json",
        "corpus/0010.json",
        lambda d: _renamed(
            d,
            book="corpus",
            page="0010",
            page_number=10,
            blocks=[],
            text="",
            stats={"blocks": 0, "lines": 0, "words": 0},
        ),
        "indexed",
    ),
    IndexCase(
        "json-key-without-book", "0011.json", lambda d: _renamed(d, book="x", page="0011"), "skipped", "no book prefix"
    ),
    IndexCase("page-json-deleted-before-read", "corpus/0012.json", None, "skipped", "no longer exists"),
]


@pytest.mark.parametrize("case", INDEX_CASES, ids=lambda c: c.id if isinstance(c, IndexCase) else str(c))
def test_index_case(
    case: IndexCase,
    s3: Any,
    settings: Any,
    page_json_cache: dict[str, Any],
    tesseract: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from lib.index.documents import page_id
    from lib.index.store import get_page_record
    from lib.opensearch import client
    from tests.conftest import ocr_page_json

    document = ocr_page_json(page_json_cache, PHOTOTEST, book="good", page="0001")
    response = s3.put_object(Bucket=RESULTS_BUCKET, Key="good/0001.json", Body=json.dumps(document).encode())
    good = s3_event(RESULTS_BUCKET, "good/0001.json", etag=response["ETag"].strip('"'))
    if case.body is None:
        record = s3_event(RESULTS_BUCKET, case.key, etag="0123456789abcdef0123456789abcdef")
    else:
        body = case.body(document)
        response = s3.put_object(Bucket=RESULTS_BUCKET, Key=case.key, Body=body)
        record = s3_event(RESULTS_BUCKET, case.key, etag=response["ETag"].strip('"'), size=len(body))
    capsys.readouterr()

    summary = invoke_indexer({"Records": [record, good]})

    stdout = capsys.readouterr().out
    statuses = {p["key"]: p for p in summary["pages"]}
    assert statuses["good/0001.json"]["status"] == "indexed"
    assert statuses[case.key]["status"] == case.outcome, statuses[case.key]
    failures = emf_metrics(stdout).get("IndexFailures", 0)
    os_client = client(settings.opensearch_url)
    if case.outcome == "failed":
        book, _, name = case.key.rpartition("/")
        assert_failure_record(s3, stage="index", key=case.key, reason=case.reason, book=book, page=name[:-5])
        assert failures == 1
        assert get_page_record(os_client, settings.opensearch_index, page_id(book, name[:-5])) is None
    elif case.outcome == "skipped":
        assert case.reason in statuses[case.key]["detail"] and failures == 0 and failure_records(s3) == []
    else:
        assert failures == 0 and failure_records(s3) == []
        page_doc = get_page_record(os_client, settings.opensearch_index, page_id("corpus", "0010"))
        assert page_doc is not None and page_doc["stats"]["lines"] == 0


# ------------------------------------------------------------------ search input


HOSTILE_QUERIES = [
    # (query, expected: "runs" (a result, maybe empty) or "rejected" (QueryError, a user error))
    ('quick +brown -"lazy (fox) [dog] {x} ^2 ~1 * ? : \\ / && || ! > < = AND OR NOT "unbalanced', "runs"),
    ('"quick brown dog', "runs"),  # an unclosed quote runs to the end: still a phrase
    ("quick\\ brown/ dog: (jumped", "runs"),
    ("quick\x00brown\x07 dog\u202e", "runs"),
    ('+-=&&||><!(){}[]^"~*?:\\/', "rejected"),
    ('"', "rejected"),
    ("quick " * 400, "rejected"),  # cut to 1,000 characters, then over the 32-term cap
]


@pytest.fixture
def indexed_phototest(
    s3: Any,
    settings: Any,
    page_json_cache: dict[str, Any],
    tesseract: str,
    monkeypatch: pytest.MonkeyPatch,
    opensearch_url: str,
) -> Any:
    from tests.chaos import ChaosProxy
    from tests.conftest import ocr_page_json

    document = ocr_page_json(page_json_cache, PHOTOTEST, book="search", page="0001")
    response = s3.put_object(Bucket=RESULTS_BUCKET, Key="search/0001.json", Body=json.dumps(document).encode())
    invoke_indexer({"Records": [s3_event(RESULTS_BUCKET, "search/0001.json", etag=response["ETag"].strip('"'))]})
    proxy = ChaosProxy(opensearch_url).start()
    yield proxy
    proxy.stop()


def test_search_input_is_text_never_syntax(indexed_phototest: Any, settings: Any) -> None:
    from lib.opensearch import client
    from lib.search.query import search
    from lib.search.syntax import QueryError

    outcomes = {}
    for query, expected in HOSTILE_QUERIES:
        try:
            result = search(client(indexed_phototest.url), settings.opensearch_index, query)
            outcomes[query] = "runs"
            assert isinstance(result.total, int) and isinstance(result.pages, list)
        except QueryError:
            outcomes[query] = "rejected"
        assert outcomes[query] == expected, query
    bodies = [
        r.body.decode()  # ChaosProxy records bodies with gzip undone
        for r in indexed_phototest.requests()
        if r.path.endswith("/_search")
    ]
    assert len(bodies) == sum(1 for _, e in HOSTILE_QUERIES if e == "runs")
    assert not [b for b in bodies if "query_string" in b or '"script' in b]
    # The operators really were taken as text: the unclosed phrase still finds the page.
    hits = search(client(settings.opensearch_url), settings.opensearch_index, '"quick brown dog').pages
    assert hits and {h.page for h in hits} == {"0001"}
