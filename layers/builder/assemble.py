"""The layer itself: the tree (program, wrapper, libraries, language data), its check and its zip."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

from .config import (
    DEBIAN_TESSDATA,
    DISTRIBUTION,
    FIXED_MTIME,
    LIB_SUBDIR,
    PROGRAM_PATH,
    TESSDATA_EXTRAS,
    TESSDATA_SUBDIR,
    Arch,
)
from .debs import resolve_in_tree
from .report import BuildError

WRAPPER = """#!/bin/sh
# Tesseract {version} from Debian {dist} ({arch}), written by layers/build.py.
# Debian's binaries need a newer glibc than Lambda's Amazon Linux, so they run
# through this layer's own loader and libraries: nothing of the host's libc is
# used, and the caller needs to set neither LD_LIBRARY_PATH nor TESSDATA_PREFIX.
self=$0
# A symlink to this script (say in /usr/local/bin) must still find the layer.
while [ -h "$self" ]; do
  link=$(readlink "$self") || break
  case $link in
    /*) self=$link ;;
    *) self=${{self%/*}}/$link ;;
  esac
done
case $self in
  */*) d=${{self%/*}} ;;
  *) d=. ;;
esac
case $d in
  /*) ;;
  *) d=$PWD/$d ;;
esac
TESSDATA_PREFIX=${{TESSDATA_PREFIX:-$d/../{tessdata}}}
export TESSDATA_PREFIX
exec "$d/../{lib}/{loader}" --library-path "$d/../{lib}" --inhibit-cache --argv0 "$0" "$d/tesseract.real" "$@"
"""


def _copy(src: Path, dest: Path, mode: int) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    dest.chmod(mode)


def tree_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink())


def manifest(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in tree_files(root)}


def _copy_tessdata(tessdata: Path, data_trees: list[Path], package_trees: list[Path]) -> None:
    for tree in data_trees:
        for model in sorted((tree / DEBIAN_TESSDATA).glob("*.traineddata")):
            _copy(resolve_in_tree(tree, model) or model, tessdata / model.name, 0o644)
    # The configs and pdf.ttf come with libtesseract5, not tesseract-ocr.
    for tree in package_trees:
        for extra in TESSDATA_EXTRAS:
            src = tree / DEBIAN_TESSDATA / extra
            for f in [src] if src.is_file() else sorted(src.rglob("*")):
                if f.is_file():
                    _copy(f, tessdata / f.relative_to(tree / DEBIAN_TESSDATA), 0o644)
    if not (tessdata / "configs" / "tsv").is_file():
        raise BuildError("no Tesseract configs (tsv, hocr, ...) in the locked packages")


def assemble(
    arch: Arch,
    program_tree: Path,
    libs: dict[str, Path],
    data_trees: list[Path],
    package_trees: list[Path],
    version: str,
    out: Path,
    work: Path,
) -> None:
    """Stage the layer in `work`, then swap it into `out` in one step."""
    stage = work / f"stage-{arch.debian}"
    shutil.rmtree(stage, ignore_errors=True)
    _copy(program_tree / PROGRAM_PATH, stage / "bin" / "tesseract.real", 0o755)
    wrapper = stage / "bin" / "tesseract"
    wrapper.write_text(
        WRAPPER.format(
            version=version,
            dist=DISTRIBUTION,
            arch=arch.debian,
            tessdata=TESSDATA_SUBDIR,
            lib=LIB_SUBDIR,
            loader=arch.loader,
        )
    )
    wrapper.chmod(0o755)
    for so, src in sorted(libs.items()):
        # Real files under their DT_NEEDED names: no symlinks, which zips mangle.
        _copy(src, stage / LIB_SUBDIR / so, 0o755)
    _copy_tessdata(stage / TESSDATA_SUBDIR, data_trees, package_trees)
    for p in [*tree_files(stage), *sorted(q for q in stage.rglob("*") if q.is_dir()), stage]:
        os.utime(p, (FIXED_MTIME, FIXED_MTIME))
    out.parent.mkdir(parents=True, exist_ok=True)
    old = work / f"old-{arch.debian}"
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.replace(old)
    stage.replace(out)
    shutil.rmtree(old, ignore_errors=True)


def write_zip(root: Path, dest: Path) -> None:
    """A zip that is the same bytes for the same tree: fixed dates, sorted names, Unix modes."""
    tmp = dest.with_name(dest.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for p in tree_files(root):
            info = zipfile.ZipInfo(str(p.relative_to(root)), date_time=(2000, 1, 1, 0, 0, 0))
            info.create_system = 3  # Unix, so Lambda keeps the execute bits
            info.external_attr = (0o100000 | (p.stat().st_mode & 0o777)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with p.open("rb") as src, z.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    tmp.replace(dest)


def smoke_test(out: Path) -> str:
    """Run the layer's tesseract as a function would: no helpful environment."""
    env = {"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": "/nonexistent"}
    proc = subprocess.run([str(out / "bin" / "tesseract"), "--version"], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise BuildError(f"the built layer's tesseract does not start:\n{proc.stderr.strip()}")
    return (proc.stdout + proc.stderr).splitlines()[0]
