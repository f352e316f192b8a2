"""Page images: open, check and normalise what was uploaded before Tesseract sees it.

Tesseract (through Leptonica) reads JPEG, PNG, TIFF and BMP itself, so a plain
single-frame page in one of those is handed over byte for byte: no decode and
re-encode on the hot path. Anything else (EXIF rotation, CMYK, 16-bit, alpha,
palettes, WebP/GIF, multi-frame files) is converted by Pillow to a lossless PNG
first. Either way the file is private to this process and removed afterwards.

Memory: Tesseract needs about 4 bytes a pixel for a grey page and 10 for a
colour one (measured: 391 MB and 1.06 GB for a 98-megapixel scan), so colour
pages over ``LARGE_COLOUR_PIXELS`` are handed over in grey, which changes no
error rate; and the decoded pixels are released before Tesseract starts.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import math
import os
import struct
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from lib.ocr.adjust import Adjusted, adjust
from lib.ocr.display import DisplayImage, display_image
from lib.ocr.geometry import IDENTITY, Affine


def _return_big_buffers_to_the_os() -> None:
    """Fix glibc's mmap threshold so a freed decoded page leaves the heap at once.

    glibc raises the threshold to the size of the first large buffer freed, so
    from a container's second page on, the freed pixels (9 MB for a 9-megapixel
    page) stay resident while Tesseract runs (measured in bench/: 5 MB over
    the memory target). The MALLOC_MMAP_THRESHOLD_ variable would do the same
    but Tesseract inherits it and runs 3.7% slower; mallopt affects only us.
    """
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to tune
        ctypes.CDLL("libc.so.6").mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD


_return_big_buffers_to_the_os()

# Pillow refuses a PNG whose text chunk (XMP, comments) decompresses to over
# 1 MB, as "corrupt"; scanners and DAM tools write XMP packets of several MB.
# Text is never read here, so allow 32 MiB a chunk; Pillow's total cap of
# MAX_TEXT_MEMORY across chunks still bounds the memory.
PngImagePlugin.MAX_TEXT_CHUNK = 32 * 1024 * 1024
PngImagePlugin.MAX_TEXT_MEMORY = 64 * 1024 * 1024

# Formats we accept, as Pillow names them (MPO is what cameras call a JPEG).
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "TIFF", "WEBP", "GIF", "BMP"}
# Formats and modes Leptonica reads as they are: passed to Tesseract untouched.
PASSTHROUGH_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "TIFF": ".tif", "BMP": ".bmp"}
# Leptonica reads only uncompressed BMP (BI_RGB); RLE and BI_BITFIELDS ones (what
# many Windows tools write for 16- and 32-bit images) are converted.
PASSTHROUGH_BMP_COMPRESSIONS = {0}
PASSTHROUGH_MODES = {"1", "L", "RGB"}
# TIFF compressions Leptonica decodes (others, such as JPEG-in-TIFF, are converted).
PASSTHROUGH_TIFF_COMPRESSIONS = {
    "raw",
    "group3",
    "group4",
    "tiff_lzw",
    "packbits",
    "tiff_adobe_deflate",
    "tiff_deflate",
}
EXIF_ORIENTATION = 0x0112
# Resolutions outside this range are scanner or software defaults (1 dpi, 72 dpi
# screen images of 300 dpi scans), not measurements.
PLAUSIBLE_DPI = (100, 1200)
# Tesseract believes a file's resolution from this up, and estimates one from the text below it
# (and when there is none): so an implausible tag of 70 or more is removed before it reads the file.
TESSERACT_CREDIBLE_DPI = 70
# Smaller than this no line of text fits (Tesseract needs glyphs of ~10 px).
MIN_SIDE = 16
# Colour pages above this are converted to grey before OCR (see the module's docstring).
LARGE_COLOUR_PIXELS = 40_000_000
# Pillow's decompression-bomb limit is a process-wide setting, and warnings
# filters are too: changing them is serialised (the local dispatcher runs
# several pages in threads; Lambda runs one).
_DECODE_LOCK = threading.Lock()


class ImageRejected(ValueError):
    """The upload can never be OCR'd as it is: the reason says why, for the failure record."""


@dataclass(frozen=True)
class PageImage:
    """A page ready for Tesseract: a private file, and what the page JSON says of the image."""

    path: str
    width: int
    height: int
    dpi: int
    dpi_from_file: bool
    format: str
    frames: int
    converted: bool
    # What a browser shows when it cannot show the original (TIFF, BMP); None otherwise.
    display: DisplayImage | None = None
    # What was done to the page before Tesseract (lib.ocr.adjust): the map from the page as
    # displayed to the file at ``path``, the scale and deskew it holds, the resolution to tell Tesseract.
    forward: Affine = IDENTITY
    scale: float = 1.0
    deskew: float = 0.0
    ocr_dpi: int = 0


def _sniff_unsupported(data: bytes) -> str | None:
    if not data:
        return "the object is empty (0 bytes)"
    if data.startswith(b"%PDF"):
        return "a PDF under an image name: upload it as BOOK.pdf (or BOOK/FILE.pdf), and it is split into pages"
    return None


def is_multipage_tiff(data: bytes) -> bool:
    """A TIFF with more than one frame: a book (lib.split), not a page. Reads the first two directories only."""
    if data[:4] not in (b"II*\x00", b"MM\x00*"):
        return False
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.seek(1)
            return True
    except Exception:  # one frame (EOFError), or a chain broken after the first: a page, as before
        return False


def _claimed_dpi(image: Image.Image) -> int:
    """The resolution the file states, 0 when none."""
    raw = image.info.get("dpi")
    try:
        value = float(raw[0]) if raw else 0.0
    except (TypeError, ValueError, IndexError):
        value = 0.0
    # A TIFF's resolution is a rational or a DOUBLE, which may be inf or NaN.
    return round(value) if math.isfinite(value) else 0


def _dpi(image: Image.Image, default_dpi: int) -> tuple[int, bool]:
    dpi = _claimed_dpi(image)
    if PLAUSIBLE_DPI[0] <= dpi <= PLAUSIBLE_DPI[1]:
        return dpi, True
    return default_dpi, False


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(EXIF_ORIENTATION, 1)
    except (OSError, SyntaxError, ValueError, TypeError, struct.error):
        return 1  # unreadable EXIF: no rotation is the only safe reading
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _flatten(image: Image.Image) -> Image.Image:
    """One frame in a mode Tesseract takes: 1, L or RGB; transparency over white paper; big colour in grey."""
    flat = _flatten_mode(image)
    if flat.mode == "RGB" and flat.width * flat.height > LARGE_COLOUR_PIXELS:
        flat = flat.convert("L")
    return flat


def _flatten_mode(image: Image.Image) -> Image.Image:
    if _orientation(image) != 1:
        image = ImageOps.exif_transpose(image) or image
    mode = image.mode
    if mode in PASSTHROUGH_MODES:
        return image
    if mode == "P":
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        paper = Image.new("RGB", rgba.size, (255, 255, 255))
        paper.paste(rgba, mask=rgba.getchannel("A"))
        return paper
    if mode.startswith("I;16") or mode in ("I", "F"):
        # Stretch 16-bit or float samples to 8 bits over their actual range.
        wide = image.convert("F")
        low, high = wide.getextrema()
        scale = 255.0 / (high - low) if high > low else 1.0
        return wide.point(lambda v: (v - low) * scale).convert("L")
    return image.convert("RGB")


def _passthrough_suffix(image: Image.Image, orientation: int, frames: int) -> str | None:
    suffix = PASSTHROUGH_FORMATS.get(image.format or "")
    if suffix is None or orientation != 1 or frames != 1 or image.mode not in PASSTHROUGH_MODES:
        return None
    if image.format == "TIFF" and image.info.get("compression") not in PASSTHROUGH_TIFF_COMPRESSIONS:
        return None
    if image.format == "BMP" and image.info.get("compression", 0) not in PASSTHROUGH_BMP_COMPRESSIONS:
        return None
    if image.mode == "RGB" and image.width * image.height > LARGE_COLOUR_PIXELS:
        return None
    claimed = _claimed_dpi(image)
    if claimed >= TESSERACT_CREDIBLE_DPI and not PLAUSIBLE_DPI[0] <= claimed <= PLAUSIBLE_DPI[1]:
        # Tesseract would believe a 72 dpi tag on a 300 dpi scan: converted, the tag is left out.
        return None
    return suffix


@contextmanager
def page_image(
    data: bytes,
    *,
    max_pixels: int,
    default_dpi: int,
    max_frames: int = 10_000,
    max_dpi: int = 0,
    min_deskew: float = 0.0,
    assume_default_dpi: bool = True,
    bilevel_scale: float = 1.0,
) -> Iterator[PageImage]:
    """Check and prepare an uploaded page; yields a private file removed on exit.

    Raises ImageRejected for content that can never succeed. A multi-page TIFF
    or animated GIF yields its first frame (one object is one page); more
    than ``max_frames`` frames is refused. A page whose file says more than
    ``max_dpi`` is scaled to 300 dpi, and one skewed by ``min_deskew``
    degrees or more is levelled (lib.ocr.adjust; 0 turns either off). When
    the file states no credible resolution, Tesseract is told ``default_dpi``
    if ``assume_default_dpi``, else left to estimate it (``ocr_dpi`` 0).
    """
    reason = _sniff_unsupported(data)
    if reason:
        raise ImageRejected(reason)
    image = _decode(data, max_pixels)
    prepared = image
    adjusted: Adjusted | None = None
    try:
        if image.format not in ACCEPTED_FORMATS:
            raise ImageRejected(f"unsupported image format {image.format!r}")
        source_format = image.format
        frames = _frame_count(image, max_frames)
        orientation = _orientation(image)
        dpi, dpi_from_file = _dpi(image, default_dpi)
        suffix = _passthrough_suffix(image, orientation, frames)
        if suffix is None:
            try:
                prepared = _flatten(image)
            except MemoryError:
                raise
            except Exception as exc:  # any decoder error on untrusted bytes is the content's
                raise ImageRejected(f"image cannot be converted for OCR: {type(exc).__name__}: {exc}") from None
        width, height = prepared.size
        if min(width, height) < MIN_SIDE:
            raise ImageRejected(f"image is {width}x{height} pixels: too small to hold a line of text")
        display = display_image(prepared, source_format)
        adjusted = adjust(
            prepared,
            dpi,
            dpi_from_file or assume_default_dpi,
            max_dpi=max_dpi,
            min_deskew=min_deskew,
            bilevel_scale=bilevel_scale,
        )
        if adjusted.changed:
            suffix = None  # Tesseract reads the adjusted pixels, not the upload
        fd, path = tempfile.mkstemp(prefix="page-", suffix=suffix or ".png")
        try:
            with os.fdopen(fd, "wb") as out:
                if suffix:
                    out.write(data)
                else:
                    # Level 1: lossless, and several times faster than the default on big pages. No
                    # resolution when the file's was not believed: Tesseract then estimates it from the text.
                    resolution = {"dpi": (adjusted.dpi, adjusted.dpi)} if adjusted.dpi else {}
                    adjusted.image.save(out, format="PNG", compress_level=1, **resolution)
        except BaseException:
            os.unlink(path)
            raise
    finally:
        # Tesseract reads the file: the decoded pixels (up to 4 bytes each) are not needed while it runs.
        image.close()
        prepared.close()
        if adjusted is not None and adjusted.image is not prepared:
            adjusted.image.close()
    try:
        yield PageImage(
            path=path,
            width=width,
            height=height,
            dpi=dpi,
            dpi_from_file=dpi_from_file,
            format=source_format,
            frames=frames,
            converted=suffix is None,
            display=display,
            forward=adjusted.forward,
            scale=adjusted.scale,
            deskew=adjusted.deskew,
            ocr_dpi=adjusted.dpi,
        )
    finally:
        os.unlink(path)


def _frame_count(image: Image.Image, max_frames: int) -> int:
    """Frames in the file, counted up to ``max_frames``; counting may meet the corrupt part.

    Pillow's count walks every frame's header and takes time growing with the
    square of their number (80,000 TIFF frames in 9 MB: 71 s, before any OCR,
    beyond Tesseract's timeout), so it stops at the limit: 10,000 frames cost
    under a second.
    """
    if not getattr(image, "is_animated", False):
        return 1
    count = 1
    try:
        # Frame by frame: Pillow's n_frames has no bound, and after a seek past the end it caches a wrong count.
        while True:
            try:
                image.seek(count)
            except EOFError:
                break
            count += 1
            if count > max_frames:
                raise ImageRejected(f"the image has more than {max_frames} frames (MAX_IMAGE_FRAMES)")
        image.seek(0)
        image.load()
    except (ImageRejected, MemoryError):
        raise
    except Exception as exc:  # e.g. TypeError "Missing dimensions" from a cut TIFF directory
        raise ImageRejected(
            f"corrupt or truncated image: cannot read its frames ({type(exc).__name__}: {exc})"
        ) from None
    return count


def _decode(data: bytes, max_pixels: int) -> Image.Image:
    """Open and fully decode the first frame; ImageRejected for bombs, unknown and corrupt data."""
    with _DECODE_LOCK, warnings.catch_warnings():
        # Pillow only warns between max_pixels and twice that: refuse both.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            image = Image.open(io.BytesIO(data))
            _check_jpeg_data(image, len(data))
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageRejected(f"decompression bomb refused: {exc}") from None
        except ImageRejected:
            raise
        except UnidentifiedImageError:
            raise ImageRejected("not an image that Pillow can read (unknown or corrupt format)") from None
        except MemoryError:
            raise
        except Exception as exc:  # Pillow's plugins raise many types on corrupt data
            if "MAX_TEXT_CHUNK" in str(exc) or "MAX_TEXT_MEMORY" in str(exc):
                raise ImageRejected(
                    "the PNG's text metadata (XMP, comments) is over 32 MiB a chunk or 64 MiB in all once "
                    "decompressed: strip it (e.g. exiftool -all=) and upload again"
                ) from None
            raise ImageRejected(f"corrupt or truncated image: {exc}") from None
        finally:
            Image.MAX_IMAGE_PIXELS = previous
    return image


def _check_jpeg_data(image: Image.Image, size: int) -> None:
    """Refuse a JPEG whose header claims more pixels than its data can encode.

    libjpeg fills what is missing with grey and reports success, so a cut
    colour JPEG, or one whose header was rewritten, would be OCR'd into a
    page of nothing. Every 8x8 block of the luma component costs at least
    one bit even in a progressive file (its DC code), which gives a floor.
    """
    if image.format not in ("JPEG", "MPO"):
        return
    blocks = math.ceil(image.width / 8) * math.ceil(image.height / 8)
    needed = blocks // 8
    if size < needed:
        raise ImageRejected(
            f"corrupt or truncated JPEG: its header claims {image.width}x{image.height} pixels, which take at "
            f"least {needed} bytes to encode; the file has {size}"
        )
