"""Tesseract: find the binary and run it exactly once per page (TSV output) through pytesseract.

TSV carries words, lines, paragraphs and blocks with boxes and confidences, so
one run gives everything the page JSON needs; ``image_to_string`` on top would
be a second full OCR. pytesseract writes the TSV to a private ``tess_*``
temporary file that it always removes, and on a timeout kills Tesseract, its
direct child: a ``TESSERACT_CMD`` wrapper must therefore ``exec`` Tesseract,
as the layer's ``bin/tesseract`` does, or a hanging page would outlive it.
"""

from __future__ import annotations

import os
import shutil
import signal
from dataclasses import dataclass
from functools import lru_cache

import pytesseract

LAYER_TESSERACT = "/opt/bin/tesseract"
_STDERR_CHARS = 500


class OcrFailed(RuntimeError):
    """Tesseract ran and could not OCR this page (error exit or timeout): not retryable."""


class TesseractMissing(RuntimeError):
    """No working Tesseract binary: a deployment problem, so the invocation fails and is retried."""


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
    pytesseract.pytesseract.tesseract_cmd = cmd
    try:
        return f"tesseract {pytesseract.get_tesseract_version()}"
    except (pytesseract.TesseractNotFoundError, pytesseract.TesseractError, OSError) as exc:
        raise TesseractMissing(f"{cmd} --version failed: {exc}") from None


def _signal_name(status: int) -> str:
    try:
        return signal.Signals(-status).name
    except ValueError:
        return f"signal {-status}"


def run_tesseract(path: str, *, lang: str, dpi: int, psm: int, threads: int, timeout: int, cmd: str) -> OcrOutput:
    """One Tesseract run over the image file at ``path``; returns its TSV.

    OcrFailed when Tesseract exits with an error, is killed (out of memory),
    or runs past ``timeout`` seconds.
    """
    engine = tesseract_version(cmd)
    # pytesseract starts Tesseract with this process's environment, and OpenMP
    # reads its thread limit from there: several threads are several times
    # slower on Lambda's fractional vCPUs (docs/bench.md, part 3).
    os.environ["OMP_THREAD_LIMIT"] = str(threads)
    pytesseract.pytesseract.tesseract_cmd = cmd
    try:
        tsv = pytesseract.image_to_data(path, lang=lang, config=f"--psm {psm} --dpi {dpi}", timeout=timeout)
    except pytesseract.TesseractNotFoundError as exc:
        raise TesseractMissing(str(exc)) from None
    except pytesseract.TesseractError as exc:
        if exc.status < 0:
            hint = " (out of memory?)" if -exc.status == signal.SIGKILL else ""
            raise OcrFailed(f"tesseract was killed by {_signal_name(exc.status)}{hint}") from None
        message = str(exc.message).strip()[:_STDERR_CHARS]
        raise OcrFailed(f"tesseract failed (exit {exc.status}): {message}") from None
    except RuntimeError as exc:
        # pytesseract signals its timeout as a bare RuntimeError, after killing Tesseract.
        if "timeout" in str(exc).lower():
            raise OcrFailed(f"tesseract timed out after {timeout} s (killed)") from None
        raise
    return OcrOutput(tsv=tsv, engine=engine, lang=lang, psm=psm)
