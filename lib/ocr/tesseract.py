"""Tesseract: find the binary and run it exactly once per page through pytesseract: TSV, and any renderers asked.

TSV carries words, lines, paragraphs and blocks with boxes and confidences, so
one run gives everything the page JSON needs; ``image_to_string`` on top would
be a second full OCR. Tesseract writes several renderers from one recognition
(``tesseract IMG OUT tsv pdf``), so a page's searchable PDF costs its renderer
only, not another run (docs/outputs.md). The renderers are switched on with
``-c tessedit_create_X=1`` rather than by naming Tesseract's config files:
without its ``configs/`` directory a config name is skipped with a warning and
exit 0, and the output would silently be missing. The files go to a private
temporary directory removed afterwards. pytesseract kills Tesseract, its
direct child, on a timeout: a ``TESSERACT_CMD`` wrapper must therefore
``exec`` Tesseract, as the layer's ``bin/tesseract`` does, or a hanging page
would outlive it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pytesseract

LAYER_TESSERACT = "/opt/bin/tesseract"
_STDERR_CHARS = 500
# Tesseract's renderers besides TSV that a run may be asked for, each the suffix of the file it writes.
RENDERERS = ("hocr", "pdf", "alto", "txt")
_SUFFIXES = {"alto": ".xml"}  # Tesseract's ALTO renderer names its file OUT.xml
# What Tesseract says when a language's .traineddata is not installed.
_MISSING_LANGUAGE = re.compile(r"Failed loading language '([^']+)'")
_DATA_FILE = re.compile(r"Error opening data file (\S+\.traineddata)")


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
    # What the other renderers of the same run wrote, by renderer (``pdf`` -> the PDF's bytes).
    files: dict[str, bytes] = field(default_factory=dict)


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


def run_tesseract(
    path: str,
    *,
    lang: str,
    dpi: int,
    psm: int,
    threads: int,
    timeout: int,
    cmd: str,
    renderers: tuple[str, ...] = (),
    variables: tuple[str, ...] = (),
) -> OcrOutput:
    """One Tesseract run over the image file at ``path``; returns its TSV and what ``renderers`` wrote.

    OcrFailed when Tesseract exits with an error, is killed (out of memory),
    runs past ``timeout`` seconds, or leaves out a file it was asked for.
    """
    unknown = set(renderers) - set(RENDERERS)
    if unknown:
        raise ValueError(f"not a Tesseract renderer: {', '.join(sorted(unknown))}")
    engine = tesseract_version(cmd)
    # pytesseract starts Tesseract with this process's environment, and OpenMP
    # reads its thread limit from there: several threads are several times
    # slower on Lambda's fractional vCPUs (docs/bench.md, part 3).
    os.environ["OMP_THREAD_LIMIT"] = str(threads)
    pytesseract.pytesseract.tesseract_cmd = cmd
    switches = " ".join(
        [*(f"-c tessedit_create_{name}=1" for name in ("tsv", *renderers)), *(f"-c {v}" for v in variables)]
    )
    with tempfile.TemporaryDirectory(prefix="tess-") as work:
        base = Path(work) / "page"
        # dpi 0: none said, Tesseract estimates the resolution from the text (a file's missing or implausible one).
        resolution = f"--dpi {dpi} " if dpi else ""
        _run(path, str(base), lang=lang, config=f"--psm {psm} {resolution}{switches}", timeout=timeout)
        try:
            tsv = base.with_suffix(".tsv").read_text(encoding="utf-8")
            files = {name: base.with_suffix(_SUFFIXES.get(name, f".{name}")).read_bytes() for name in renderers}
        except FileNotFoundError as exc:
            raise OcrFailed(f"tesseract exited 0 but wrote no {Path(exc.filename).suffix} file") from None
    return OcrOutput(tsv=tsv, engine=engine, lang=lang, psm=psm, files=files)


def _run(path: str, base: str, *, lang: str, config: str, timeout: int) -> None:
    """pytesseract's run, its errors turned into ours (the reason a failure record gives)."""
    try:
        # ``extension`` names config files to append: none, the renderers are in ``config``.
        pytesseract.pytesseract.run_tesseract(path, base, extension="", lang=lang, config=config, timeout=timeout)
    except pytesseract.TesseractNotFoundError as exc:
        raise TesseractMissing(str(exc)) from None
    except pytesseract.TesseractError as exc:
        if exc.status < 0:
            hint = " (out of memory?)" if -exc.status == signal.SIGKILL else ""
            raise OcrFailed(f"tesseract was killed by {_signal_name(exc.status)}{hint}") from None
        message = str(exc.message).strip()
        missing = _MISSING_LANGUAGE.findall(message)
        if missing:
            raise OcrFailed(_missing_languages(missing, message)) from None
        raise OcrFailed(f"tesseract failed (exit {exc.status}): {message[:_STDERR_CHARS]}") from None
    except RuntimeError as exc:
        # pytesseract signals its timeout as a bare RuntimeError, after killing Tesseract.
        if "timeout" in str(exc).lower():
            raise OcrFailed(f"tesseract timed out after {timeout} s (killed)") from None
        raise


def _missing_languages(missing: list[str], message: str) -> str:
    """Which languages are missing and which are there, from the data directory Tesseract's error names
    (no further process: a failing page runs Tesseract once, like any other)."""
    opened = _DATA_FILE.search(message)
    folder = Path(opened[1]).parent if opened else None
    found = sorted(p.stem for p in folder.glob("*.traineddata")) if folder and folder.is_dir() else []
    names = ", ".join(dict.fromkeys(missing))
    return (
        f"OCR language {names} is not installed (this Tesseract has: {', '.join(found) or 'unknown'}): build the "
        "layer with it (TESSERACT_LANGS, docs/layer.md) or name another in x-amz-meta-ocr-lang, BOOK/_book.json "
        "or OCR_LANG"
    )
