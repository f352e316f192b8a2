"""Tesseract: find the binary and run it exactly once per page (TSV output) through pytesseract.

TSV carries words, lines, paragraphs and blocks with boxes and confidences, so
one run gives everything the page JSON needs; ``image_to_string`` on top would
be a second full OCR.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from functools import lru_cache

# OpenMP threads make Tesseract several times slower on Lambda's fractional
# vCPUs (DESIGN.md): one thread per process, whatever the layer or shell says.
os.environ["OMP_THREAD_LIMIT"] = os.environ.get("OMP_THREAD_LIMIT") or "1"

LAYER_TESSERACT = "/opt/bin/tesseract"
PSM = 3  # Tesseract's default: automatic page segmentation, multi-column aware.


class OcrFailed(RuntimeError):
    """Tesseract ran and could not OCR this page (error exit or timeout): not retryable."""


class TesseractMissing(RuntimeError):
    """No Tesseract binary: a deployment problem, so the invocation fails and is retried."""


@dataclass(frozen=True)
class OcrOutput:
    tsv: str
    engine: str
    lang: str
    psm: int


def tesseract_cmd(configured: str | None = None) -> str:
    """TESSERACT_CMD, then PATH, then the layer's /opt/bin/tesseract.

    ``sls invoke local`` ignores layers and rewrites LD_LIBRARY_PATH, so
    nothing here may assume /opt.
    """
    for candidate in (configured, shutil.which("tesseract"), LAYER_TESSERACT):
        if candidate and os.path.exists(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise TesseractMissing(
        "no tesseract binary: set TESSERACT_CMD, put tesseract on PATH, or attach the layer (make layer)"
    )


@lru_cache(maxsize=4)
def tesseract_version(cmd: str) -> str:
    """``tesseract --version`` once per container, not once per page."""
    import pytesseract

    pytesseract.pytesseract.tesseract_cmd = cmd
    return f"tesseract {pytesseract.get_tesseract_version()}"


def run_tesseract(path: str, *, lang: str, dpi: int, timeout: int, cmd: str) -> OcrOutput:
    """One Tesseract run over the image file at ``path``; returns its TSV."""
    import pytesseract  # imported here: the indexer shares lib/ and never needs it

    pytesseract.pytesseract.tesseract_cmd = cmd
    engine = tesseract_version(cmd)
    try:
        tsv = pytesseract.image_to_data(path, lang=lang, config=f"--psm {PSM} --dpi {dpi}", timeout=timeout)
    except pytesseract.TesseractNotFoundError as exc:
        raise TesseractMissing(str(exc)) from exc
    except pytesseract.TesseractError as exc:
        raise OcrFailed(f"tesseract failed (exit {exc.status}): {exc.message.strip()[:500]}") from None
    except RuntimeError as exc:
        # pytesseract signals its timeout as a bare RuntimeError.
        if "timeout" in str(exc).lower():
            raise OcrFailed(f"tesseract timed out after {timeout} s") from None
        raise
    return OcrOutput(tsv=tsv, engine=engine, lang=lang, psm=PSM)
