#!/usr/bin/env python3
"""Build the Tesseract Lambda layer from Debian bookworm packages, without Docker or root.

    python3 layers/build.py [--arch amd64|arm64] [--langs eng+deu] [--relock]

Debian's Tesseract needs a newer glibc and libstdc++ than Lambda's Amazon Linux
2023 has, so the layer carries the whole runtime, loader and libc included, and
``bin/tesseract`` starts ``tesseract.real`` through the bundled loader.  Nothing
of the host's libraries is used, on Lambda or anywhere else.

Everything comes from Debian's signed indexes: the InRelease files are checked
with gpgv against the archive keyring, the Packages indexes against the hashes
in them, and every .deb against the Packages index.  The exact packages are
pinned in ``layers/tesseract.lock.json``; ``--relock`` re-resolves them.

The steps live in ``layers/builder/``, one module each.  They parse Debian's
files with python-debian and ELF files with pyelftools, which ``make setup``
installs into ``.venv``; run from a Python without them, this script restarts
itself with ``.venv/bin/python``.  Besides that it needs ``gpgv`` and the
Debian archive keyring.

This file is the command and the face the tests see: the paths and the steps
a test replaces (``LOCK_PATH``, ``CACHE_DIR``, ``get_index``, ...) are names of
this module, and ``main`` reads them when it is called.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".venv"


def _restart_in_venv() -> None:
    # The Makefile runs .venv/bin/python, but `python3 layers/build.py` from a
    # plain shell (the serverless plugin, the tests' subprocess) must work too.
    python = VENV / "bin" / "python"
    if python.is_file() and Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(python, [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])
    sys.exit("layers/build.py: python-debian and pyelftools are missing: run `make setup` first")


try:
    import debian.deb822  # noqa: F401
    import elftools.elf.elffile  # noqa: F401
except ImportError:
    if __name__ != "__main__":
        raise
    _restart_in_venv()

sys.path.insert(0, str(REPO / "layers"))

from builder import cli  # noqa: E402
from builder.config import ARCHES, Paths  # noqa: E402
from builder.elf import Elf, read_elf  # noqa: E402
from builder.index import Index, load_index  # noqa: E402
from builder.report import BuildError, StaleLockError  # noqa: E402
from builder.resolve import parse_langs, resolve_language  # noqa: E402
from debian.debian_support import version_compare  # noqa: E402

# What the tests and other scripts use of this module.
__all__ = [
    "ARCHES",
    "BUILD_DIR",
    "CACHE_DIR",
    "LAYERS_DIR",
    "LOCK_PATH",
    "BuildError",
    "Elf",
    "StaleLockError",
    "fetch_tool",
    "get_index",
    "main",
    "output_dir",
    "parse_langs",
    "read_elf",
    "resolve_language",
    "version_compare",
    "zip_path",
]

LAYERS_DIR = REPO / "layers"
LOCK_PATH = LAYERS_DIR / "tesseract.lock.json"
BUILD_DIR = LAYERS_DIR / "build"
CACHE_DIR = Path(os.environ.get("LAYER_CACHE_DIR") or REPO / ".cache" / "layer")


def paths() -> Paths:
    return Paths(repo=REPO, layers=LAYERS_DIR, lock=LOCK_PATH, build=BUILD_DIR, cache=CACHE_DIR)


def get_index(arch: str) -> Index:
    """Debian's signed indexes for `arch`, loaded once per run."""
    return load_index(arch, CACHE_DIR)


def _context() -> cli.Context:
    # Looked up at call time, so that what a test set on this module is what runs.
    return cli.Context(paths(), get_index, parse_langs, resolve_language)


def output_dir(arch: str) -> Path:
    return paths().output_dir(arch)


def zip_path(arch: str) -> Path:
    return paths().zip_path(arch)


def fetch_tool(name: str, arch: str, member: str | None = None) -> Path:
    """A locked helper package (busybox-static, qemu-user-static) unpacked, for the tests."""
    return cli.fetch_tool(name, arch, member, _context())


def main(argv: list[str] | None = None) -> int:
    return cli.main(argv, _context())


if __name__ == "__main__":
    sys.exit(main())
