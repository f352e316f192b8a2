"""The baseline Tesseract: the bare CLI run as our code would run it, and a wrapper that counts our code's starts."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from functools import lru_cache
from pathlib import Path

from bench.cpu import CpuLimit
from bench.pages import Page
from bench.processes import Run, child_env, run_measured


def tesseract_bin() -> str:
    path = shutil.which("tesseract") or "/usr/bin/tesseract"
    if not os.path.exists(path):
        raise SystemExit("tesseract is not installed: run `make setup`")
    return path


@lru_cache(maxsize=1)
def tesseract_version() -> str:
    out = subprocess.run([tesseract_bin(), "--version"], capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).splitlines()[0].strip()


def bare_tesseract(
    page: Page,
    outdir: Path,
    *,
    threads_limit: bool = True,
    lang: str = "eng",
    renderer: str = "tsv",
    tessdata: Path | None = None,
    cpu: CpuLimit | None = None,
    sample: bool = False,
) -> Run:
    """The baseline: `tesseract IMAGE OUT -l eng --psm 3 --dpi N tsv`, the DPI our code would pass."""
    env = child_env({"OMP_THREAD_LIMIT": "1"} if threads_limit else None)
    if tessdata:
        env["TESSDATA_PREFIX"] = str(tessdata)
    outbase = outdir / f"bare-{uuid.uuid4().hex[:8]}"
    run = run_measured(
        [tesseract_bin(), str(page.path), str(outbase), "-l", lang, "--psm", "3", "--dpi", str(page.dpi), renderer],
        env=env,
        cpu=cpu,
        sample=sample,
    )
    if run.returncode != 0:
        raise RuntimeError(f"tesseract failed on {page.name}: {run.stderr}")
    run.output = outbase.with_name(f"{outbase.name}.{renderer}")
    return run


def bare_output(outdir: Path) -> None:
    for path in outdir.glob("bare-*"):
        path.unlink(missing_ok=True)


COUNTING_WRAPPER = """#!/bin/sh
# Bench only: records every Tesseract start (thread setting and arguments) of the code under test.
printf '%s\\t%s\\n' "${{OMP_THREAD_LIMIT-unset}}" "$*" >> "$PAGESEARCH_BENCH_COUNT_FILE"
exec {tesseract} "$@"
"""


def counting_wrapper(directory: Path) -> Path:
    """A TESSERACT_CMD that logs each start to $PAGESEARCH_BENCH_COUNT_FILE, then execs the real one."""
    path = directory / "tesseract-counting"
    path.write_text(COUNTING_WRAPPER.format(tesseract=tesseract_bin()))
    path.chmod(0o755)
    return path


def read_counts(count_file: Path, start: int = 0) -> tuple[list[list[str]], int]:
    """Tesseract starts logged since line ``start``: ([thread setting, args], new line count)."""
    if not count_file.exists():
        return [], start
    lines = count_file.read_text().splitlines()
    return [line.split("\t", 1) for line in lines[start:]], len(lines)
