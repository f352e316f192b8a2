"""Unpacked .deb files (read with python-debian's DebFile) and the files inside their trees.

Every .deb reaching here has been checked against the signed index, so its
data.tar is unpacked with tarfile's "tar" filter: no member can land outside
the target directory, and absolute symlinks (which Debian ships) still work.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from debian.debfile import DebFile

from .config import Arch
from .fetch import deb_path
from .report import BuildError


def cache_name(entry: dict[str, Any]) -> str:
    """A directory name for one package version (versions hold `:` and `~`)."""
    return re.sub(r"[^A-Za-z0-9.+_-]", "_", f"{entry['name']}_{entry['version']}")


@contextlib.contextmanager
def data_tar(deb: Path) -> Iterator[tarfile.TarFile]:
    """The data.tar.* of a .deb; bookworm's are xz, which needs nothing beyond Python's lzma."""
    # DebFile reads through `f`, so closing it here closes every member too.
    with deb.open("rb") as f, DebFile(fileobj=f).data.tgz() as tar:
        yield tar


def extract_deb(entry: dict[str, Any], arch: str, cache: Path) -> Path:
    """Unpack a cached .deb once (no root needed) and return its tree."""
    dest = cache / "extract" / arch / cache_name(entry)
    marker = dest.with_name(dest.name + ".ok")
    if dest.is_dir() and marker.is_file() and marker.read_text() == entry["sha256"]:
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    tmp = dest.with_name(dest.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with data_tar(deb_path(cache, entry)) as tar:
        tar.extractall(tmp, filter="tar")
    tmp.replace(dest)
    marker.write_text(entry["sha256"])
    return dest


def extract_member(entry: dict[str, Any], member: str, dest: Path, cache: Path) -> Path:
    """Pull one file out of a cached .deb (qemu-user-static is 380 MB unpacked)."""
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with data_tar(deb_path(cache, entry)) as tar:
        # DebFile's member names compare equal with or without a leading "./".
        info = next((i for i in tar if i.name == member and i.isfile()), None)
        src = tar.extractfile(info) if info is not None else None
        if src is None:
            raise BuildError(f"{entry['name']} has no {member}")
        tmp = dest.with_name(dest.name + ".part")
        with tmp.open("wb") as out:
            shutil.copyfileobj(src, out)
    tmp.chmod(0o755)
    tmp.replace(dest)
    return dest


def resolve_in_tree(root: Path, path: Path) -> Path | None:
    """Follow symlinks as if `root` were /, without ever leaving it."""
    for _ in range(40):
        if not path.is_symlink():
            return path if path.exists() else None
        target = os.readlink(path)
        joined = root / target.lstrip("/") if target.startswith("/") else path.parent / target
        path = Path(os.path.normpath(joined))
        if root != path and root not in path.parents:
            return None
    return None


def libraries_in_tree(root: Path, arch: Arch) -> dict[str, Path]:
    """Every shared-object name in a package tree's library directories -> real file."""
    found: dict[str, Path] = {}
    for d in (f"lib/{arch.triplet}", f"usr/lib/{arch.triplet}", "lib", "usr/lib", "lib64", "usr/lib64"):
        base = root / d
        if not base.is_dir():
            continue
        for child in sorted(base.iterdir()):
            if ".so" in child.name and child.name not in found:
                real = resolve_in_tree(root, child)
                if real is not None and real.is_file():
                    found[child.name] = real
    return found
