"""The functions' Python: which packages the handlers' processes can import (the Lambda artifact's, or the dev venv)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.log import log
from bench.paths import CACHE, ROOT


@dataclass(frozen=True)
class Runtime:
    """How the handlers' processes start: which packages they can import."""

    python: tuple[str, ...]
    pythonpath: str
    label: str


_runtime: Runtime | None = None
BOTO3_NOTE = "boto3 at the dev venv's version (the Lambda runtime brings its own)"


def lambda_site() -> Path:
    """The functions' dependencies as the Lambda artifact pins them, plus boto3, in a private directory.

    The dev venv holds more (numpy, pulled in by other tools), and pytesseract
    imports numpy whenever it is importable: +10 MB and +50 ms per cold start
    that a Lambda built from requirements-lambda.txt never pays. Installed once
    (cp311 wheels of the same pins) under bench/.cache.
    """
    import hashlib
    from importlib.metadata import version

    requirements = (ROOT / "requirements-lambda.txt").read_text()
    boto3 = f"boto3=={version('boto3')}"
    digest = hashlib.sha256((requirements + boto3).encode()).hexdigest()[:12]
    site = CACHE / f"lambda-site-{digest}"
    if not (site / ".complete").exists():
        log(f"installing requirements-lambda.txt and {boto3} into {site}")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                str(site),
                "-r",
                str(ROOT / "requirements-lambda.txt"),
                boto3,
            ],
            check=True,
        )
        (site / ".complete").write_text(boto3 + "\n")
    return site


def set_runtime(quick: bool) -> Runtime:
    """Full runs: the Lambda artifact's packages only (``python -S``); quick runs: the dev venv (no install)."""
    global _runtime
    if quick:
        _runtime = Runtime((sys.executable,), str(ROOT), "dev venv (quick run)")
        return _runtime
    try:
        site = lambda_site()
    except (OSError, subprocess.CalledProcessError) as exc:
        log(f"cannot build the Lambda-like site ({exc}): the handlers run in the dev venv")
        _runtime = Runtime((sys.executable,), str(ROOT), "dev venv (Lambda-like site unavailable)")
        return _runtime
    # -S: no site-packages of the venv; only the repository and the artifact's packages.
    _runtime = Runtime(
        (sys.executable, "-S"), f"{ROOT}{os.pathsep}{site}", f"requirements-lambda.txt + {BOTO3_NOTE}, python -S"
    )
    return _runtime


def runtime() -> Runtime:
    return _runtime or set_runtime(True)


def current_runtime() -> Runtime | None:
    """The runtime a part set for this run, if any: the result files record it."""
    return _runtime
