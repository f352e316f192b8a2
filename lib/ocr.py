"""Tesseract: find the binary and run it exactly once per page (TSV output), with a hard timeout.

TSV carries words, lines, paragraphs and blocks with boxes and confidences, so
one run gives everything the page JSON needs; ``image_to_string`` on top would
be a second full OCR.

Tesseract is started the way pytesseract starts it (``tesseract IMAGE BASE -l
LANG --psm N --dpi D tsv``, output in a private ``tess_*`` temporary file that
is always removed), but in a process group of its own: on a timeout the whole
group is killed, so a ``TESSERACT_CMD`` wrapper script and anything it started
die with it. pytesseract's own timeout kills only the direct child (a wrapper's
children live on, holding CPU and memory in a warm Lambda) and its
``--version`` call has no timeout at all.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache

# OpenMP threads make Tesseract several times slower on Lambda's fractional
# vCPUs (DESIGN.md): one thread per process, whatever the layer or shell says.
os.environ["OMP_THREAD_LIMIT"] = os.environ.get("OMP_THREAD_LIMIT") or "1"

LAYER_TESSERACT = "/opt/bin/tesseract"
# Tesseract's default: automatic page segmentation, multi-column aware, no
# orientation detection. TESSERACT_PSM=1 adds orientation and script detection
# in the same run, so upside-down and sideways pages are read, at about +0.6 s
# a page (measured on 2 cores: +28 % on a 300 dpi book page, +180 % on a small
# one); docs/reliability.md has the figures.
PSM = 3
ALLOWED_PSM = {1, 3, 4, 6, 11, 12}
VERSION_TIMEOUT = 30
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


def page_segmentation_mode() -> int:
    """TESSERACT_PSM when set to a page-level mode, else 3 (read at each call: tests and CLI may change it)."""
    value = os.environ.get("TESSERACT_PSM", "").strip()
    if not value:
        return PSM
    if not value.isdigit() or int(value) not in ALLOWED_PSM:
        raise TesseractMissing(f"TESSERACT_PSM={value!r} is not one of {sorted(ALLOWED_PSM)}")
    return int(value)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process group (the child leads it) and reap the child."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        # Only a grandchild that left the group can still hold the pipes open: do not wait for it.
        proc.communicate(timeout=5)


def _run(args: list[str], timeout: float) -> tuple[int, str]:
    """Run ``args`` in a new session; (exit status, its output). Kills the group on timeout, then re-raises."""
    try:
        proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
    except (FileNotFoundError, PermissionError) as exc:
        raise TesseractMissing(f"cannot start {args[0]}: {exc}") from None
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        _kill_group(proc)
        raise
    text = (out or b"").decode("utf-8", "replace") + (err or b"").decode("utf-8", "replace")
    return proc.returncode, text


@lru_cache(maxsize=4)
def tesseract_version(cmd: str) -> str:
    """``tesseract --version`` once per container, not once per page, and never waiting forever."""
    try:
        status, output = _run([cmd, "--version"], VERSION_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise TesseractMissing(f"{cmd} --version did not answer within {VERSION_TIMEOUT} s") from None
    match = re.search(r"tesseract\s+v?(\d+\.\d+(?:\.\d+)?)", output)
    if status != 0 or not match:
        raise TesseractMissing(f"{cmd} --version failed (exit {status}): {output.strip()[:_STDERR_CHARS]}")
    return f"tesseract {match.group(1)}"


def _signal_name(status: int) -> str:
    try:
        return signal.Signals(-status).name
    except ValueError:
        return f"signal {-status}"


def run_tesseract(path: str, *, lang: str, dpi: int, timeout: int, cmd: str) -> OcrOutput:
    """One Tesseract run over the image file at ``path``; returns its TSV.

    OcrFailed when Tesseract exits with an error, is killed, or runs past
    ``timeout`` seconds (then its whole process group is killed first).
    """
    engine = tesseract_version(cmd)
    psm = page_segmentation_mode()
    fd, base = tempfile.mkstemp(prefix="tess_")
    os.close(fd)
    output = f"{base}.tsv"
    try:
        args = [cmd, path, base, "-l", lang, "--psm", str(psm), "--dpi", str(dpi), "tsv"]
        try:
            status, messages = _run(args, timeout)
        except subprocess.TimeoutExpired:
            raise OcrFailed(f"tesseract timed out after {timeout} s (killed)") from None
        if status < 0:
            hint = " (out of memory?)" if -status == signal.SIGKILL else ""
            raise OcrFailed(f"tesseract was killed by {_signal_name(status)}{hint}")
        if status != 0:
            raise OcrFailed(f"tesseract failed (exit {status}): {messages.strip()[:_STDERR_CHARS]}")
        try:
            with open(output, encoding="utf-8", errors="replace") as handle:
                tsv = handle.read()
        except FileNotFoundError:
            raise OcrFailed(f"tesseract wrote no output: {messages.strip()[:_STDERR_CHARS]}") from None
    finally:
        for leftover in (base, output):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)
    return OcrOutput(tsv=tsv, engine=engine, lang=lang, psm=psm)
