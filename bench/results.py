"""The result files: what the command line asked for, each part's JSON with where and on what it ran."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.log import log
from bench.paths import ROOT
from bench.runtime import current_runtime
from bench.tesseract import tesseract_version


@dataclass
class Options:
    """What the command line asked for: which parts, how big, where results go."""

    quick: bool
    results_dir: Path
    chart: Path
    work: Path  # scratch directory of this run
    parts: list[str] = field(default_factory=list)


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def code_changes() -> list[str]:
    """Uncommitted changes to the code under test: results of a dirty tree say so."""
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "lib", "handlers", "pagesearch"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return []
    return [line[3:] for line in out.stdout.splitlines()]


def meta(opts: Options, part: str) -> dict[str, Any]:
    return {
        "part": part,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": opts.quick,
        "git_commit": git_commit(),
        "uncommitted_code_changes": code_changes(),
        "handler_runtime": current.label if (current := current_runtime()) else "not used by this part",
        "host": {
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
            "python": platform.python_version(),
            "system": platform.platform(terse=True),
        },
        "tesseract": tesseract_version(),
    }


def write_result(opts: Options, part: str, payload: dict[str, Any]) -> Path:
    opts.results_dir.mkdir(parents=True, exist_ok=True)
    path = opts.results_dir / f"{part}.json"
    path.write_text(json.dumps({"meta": meta(opts, part), **payload}, indent=2, ensure_ascii=False) + "\n")
    log(f"wrote {path}")
    return path


def read_result(opts: Options, part: str) -> dict[str, Any] | None:
    path = opts.results_dir / f"{part}.json"
    return json.loads(path.read_text()) if path.exists() else None
