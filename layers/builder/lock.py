"""The pinned packages: layers/tesseract.lock.json, read, written and asked for one architecture's part."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .config import DISTRIBUTION, Paths
from .report import StaleLockError, relock_hint

ABOUT = (
    "Exact Debian bookworm packages behind the Tesseract layer, per architecture, with the "
    "SHA-256 of each .deb as the signed Packages index gave it. Written by layers/build.py; "
    "`make layer-lock` (python3 layers/build.py --relock) re-resolves. `languages` holds every "
    "language ever built; a build uses those named in TESSERACT_LANGS plus osd. `tools` are "
    "what the tests need (a static shell, qemu), never part of the layer."
)


def read_lock(path: Path) -> dict[str, Any]:
    if path.is_file():
        return json.loads(path.read_text())
    return {}


def write_lock(lock: dict[str, Any], path: Path) -> None:
    lock["about"] = ABOUT
    lock["distribution"] = f"debian/{DISTRIBUTION}"
    ordered = {k: lock[k] for k in ("about", "distribution")}
    ordered["arches"] = {}
    for name in sorted(lock.get("arches", {})):
        section = dict(lock["arches"][name])
        for key in ("languages", "tools"):  # sorted, so that adding one is a small diff
            section[key] = dict(sorted(section.get(key, {}).items()))
        ordered["arches"][name] = section
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(ordered, indent=2) + "\n")
    tmp.replace(path)


def new_section(
    packages: list[dict[str, Any]], languages: dict[str, dict[str, Any]], tools: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """One architecture's part of the lock, dated so that a reader sees how old the pins are."""
    return {
        "resolved": time.strftime("%Y-%m-%d", time.gmtime()),
        "packages": packages,
        "languages": languages,
        "tools": tools,
    }


def arch_lock(arch: str, paths: Paths) -> dict[str, Any]:
    section = read_lock(paths.lock).get("arches", {}).get(arch)
    if not section:
        raise StaleLockError(f"{paths.rel(paths.lock)} has nothing for {arch}: resolve it with {relock_hint(arch)}.")
    return section


def tool_entry(name: str, arch: str, paths: Paths) -> dict[str, Any]:
    tools = arch_lock(arch, paths).get("tools", {})
    if name not in tools:
        raise StaleLockError(
            f"{paths.rel(paths.lock)} does not pin {name} for {arch}: re-resolve with {relock_hint(arch)}."
        )
    return tools[name]
