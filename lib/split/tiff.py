"""A multi-page TIFF's frames as page images: each frame's own pixels, losslessly as PNG, at its own resolution.

Frames are reached by walking the file's chain of directories: a broken
directory or strip fails that frame, and since a TIFF's later frames are
only reachable through the earlier ones, the chain ends there (the failure
record says which frame and why). Counting stops at ``max_pages``, since
Pillow's walk grows with the square of the frames (lib/ocr/images.py).
"""

from __future__ import annotations

import io
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from lib.split.pdf import BookRejected, ImagePage, PageFailed

# Pillow's decompression-bomb limit is process-wide: changed only under this lock.
_LOCK = threading.Lock()


@dataclass(frozen=True)
class TiffFrames:
    count: int  # frames readable from the start of the chain
    broken: str | None  # why the chain ends before the file's end, if it does


def count_frames(path: Path, max_pages: int) -> TiffFrames:
    """How many frames can be reached; BookRejected when the file is no TIFF or has more than ``max_pages``."""
    try:
        image = Image.open(path)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise BookRejected(f"not a TIFF that can be read: {exc}") from None
    with image:
        if image.format != "TIFF":
            raise BookRejected(f"not a TIFF: the file is {image.format}")
        count = 1
        while True:
            try:
                image.seek(count)
            except EOFError:
                return TiffFrames(count, None)
            except Exception as exc:  # a cut or corrupt directory: the frames after it are unreachable
                return TiffFrames(count, f"frame {count + 1} cannot be read ({type(exc).__name__}: {exc})")
            count += 1
            if count > max_pages:
                raise BookRejected(f"the TIFF has more than {max_pages} frames (MAX_BOOK_PAGES)")


def frame_page(path: Path, number: int, *, max_pixels: int) -> ImagePage:
    """Frame ``number`` (1-based) as a lossless PNG; PageFailed when it cannot be decoded or is too large."""
    with _LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as image:
                image.seek(number - 1)
                w, h = image.size
                if w * h > max_pixels:
                    raise PageFailed(
                        f"frame {number} is {w}x{h} pixels, over the limit of {max_pixels} (MAX_IMAGE_PIXELS)"
                    )
                image.load()
                dpi = image.info.get("dpi")
                picture = image if image.mode in ("1", "L", "RGB") else image.convert("RGB")
                out = io.BytesIO()
                extra = {"dpi": (round(float(dpi[0])), round(float(dpi[1])))} if _plausible(dpi) else {}
                picture.save(out, format="PNG", compress_level=3, **extra)
                return ImagePage(out.getvalue(), ".png", "image/png", w, h, "extracted")
        except PageFailed:
            raise
        except MemoryError:
            raise
        except Exception as exc:  # Pillow's decoders raise many types on corrupt data
            raise PageFailed(f"frame {number} cannot be decoded: {type(exc).__name__}: {exc}") from None


def _plausible(dpi: object) -> bool:
    try:
        return isinstance(dpi, tuple) and 1 <= float(dpi[0]) < 100_000 and 1 <= float(dpi[1]) < 100_000
    except (TypeError, ValueError):
        return False
