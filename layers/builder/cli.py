"""One build, from the command line's arguments to a layer and its zip; and the tests' entry points."""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .assemble import assemble, manifest, smoke_test, write_zip
from .config import ARCHES, LAMBDA_LIMIT, PROGRAM_PACKAGE, Arch, Paths
from .debs import cache_name, extract_deb, extract_member
from .fetch import ensure_debs, exclusive
from .index import Index
from .lock import new_section, read_lock, tool_entry, write_lock
from .report import BuildError, log
from .resolve import Resolver, locked_libraries, resolve_tools

USAGE = "Build the Tesseract Lambda layer from Debian bookworm packages, without Docker or root."
_PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Context:
    """The parts of a build that layers/build.py supplies, so that a test can swap any of them there."""

    paths: Paths
    get_index: Callable[[str], Index]
    parse_langs: Callable[[str], list[str]]
    resolve_language: Callable[[Index, str], dict[str, Any]]


def _relock(lock: dict[str, Any], arch: Arch, langs: list[str], ctx: Context) -> None:
    index = ctx.get_index(arch.debian)
    old = lock.get("arches", {}).get(arch.debian, {})
    keep_langs = sorted(set(old.get("languages", {})) | set(langs))
    log(f"resolving tesseract's shared-library closure for {arch.debian}")
    program = Resolver(arch, index, ctx.paths.cache).run()
    languages = {lang: ctx.resolve_language(index, lang) for lang in keep_langs}
    lock.setdefault("arches", {})[arch.debian] = new_section(program, languages, resolve_tools(index, arch.debian))
    write_lock(lock, ctx.paths.lock)
    log(f"wrote {ctx.paths.rel(ctx.paths.lock)} for {arch.debian}: {len(program)} packages")


def _locked_section(arch: Arch, langs: list[str], relock: bool, ctx: Context) -> dict[str, Any]:
    """This architecture's part of the lock, resolved first when asked or when there is none."""
    lock = read_lock(ctx.paths.lock)
    section = lock.get("arches", {}).get(arch.debian)
    if relock or not section:
        if not section and not relock:
            log(f"{ctx.paths.rel(ctx.paths.lock)} has no {arch.debian} packages yet: resolving them")
        _relock(lock, arch, langs, ctx)
        section = lock["arches"][arch.debian]
    missing = [lang for lang in langs if lang not in section.get("languages", {})]
    if missing:
        # Adding a language only adds its data package: no other pin moves.
        index = ctx.get_index(arch.debian)
        for lang in missing:
            section.setdefault("languages", {})[lang] = ctx.resolve_language(index, lang)
        write_lock(lock, ctx.paths.lock)
        log(f"added {', '.join(missing)} to {ctx.paths.rel(ctx.paths.lock)}: commit it")
    return section


def _inputs_digest(packages: list[dict[str, Any]], lang_entries: list[dict[str, Any]], langs: list[str]) -> str:
    """What the layer is made from: the pins, the languages, this code and the parsing libraries."""
    code = [p.read_bytes().hex() for p in [_PACKAGE_DIR.parent / "build.py", *sorted(_PACKAGE_DIR.glob("*.py"))]]
    libraries = [importlib.metadata.version(d) for d in ("python-debian", "pyelftools")]
    return hashlib.sha256(json.dumps([packages, lang_entries, langs, code, libraries]).encode()).hexdigest()


def _up_to_date(stamp: dict[str, Any], inputs: str, out: Path, zpath: Path) -> bool:
    return (
        stamp.get("inputs") == inputs
        and out.is_dir()
        and manifest(out) == stamp.get("files")
        and zpath.is_file()
        and zpath.stat().st_size == stamp.get("zip_size")
    )


def build(arch_name: str, langs: list[str], relock: bool, ctx: Context) -> dict[str, Any]:
    """Build (or find up to date) the layer of one architecture; returns the stamp with timings."""
    started = time.monotonic()
    paths = ctx.paths
    arch = ARCHES[arch_name]
    section = _locked_section(arch, langs, relock, ctx)
    packages = section["packages"]
    lang_entries = [section["languages"][lang] for lang in langs]
    out, zpath, stamp_path = paths.output_dir(arch_name), paths.zip_path(arch_name), paths.stamp_path(arch_name)
    inputs = _inputs_digest(packages, lang_entries, langs)
    stamp: dict[str, Any] = json.loads(stamp_path.read_text()) if stamp_path.is_file() else {}
    if _up_to_date(stamp, inputs, out, zpath):
        return {**stamp, "seconds": round(time.monotonic() - started, 2), "up_to_date": True}

    ensure_debs(packages + lang_entries, arch_name, paths, ctx.get_index)
    trees = {e["name"]: extract_deb(e, arch_name, paths.cache) for e in packages}
    data_trees = [extract_deb(e, arch_name, paths.cache) for e in lang_entries]
    libs = locked_libraries(trees, arch)
    prog = next(e for e in packages if e["name"] == PROGRAM_PACKAGE)
    package_trees = [trees[n] for n in sorted(trees)]
    assemble(arch, trees[PROGRAM_PACKAGE], libs, data_trees, package_trees, prog["version"], out, paths.build)
    if platform.machine() == arch.uname:
        version = smoke_test(out)
    else:
        version = f"tesseract {prog['version']} (not run: {arch.uname} layer on {platform.machine()})"
    paths.build.mkdir(parents=True, exist_ok=True)
    write_zip(out, zpath)
    files = manifest(out)
    stamp = {
        "inputs": inputs,
        "arch": arch_name,
        "output": paths.rel(out),
        "zip": paths.rel(zpath),
        "tesseract": version,
        "languages": langs,
        "packages": len(packages) + len(lang_entries),
        "libraries": len(libs),
        "unzipped_bytes": sum(files.values()),
        "zip_size": zpath.stat().st_size,
        "files": files,
    }
    stamp_path.write_text(json.dumps(stamp, indent=2) + "\n")
    if stamp["unzipped_bytes"] > LAMBDA_LIMIT:
        raise BuildError(
            f"the layer is {stamp['unzipped_bytes'] / 1e6:.1f} MB unzipped, over Lambda's 250 MB limit "
            "(function included): build fewer languages"
        )
    return {**stamp, "seconds": round(time.monotonic() - started, 2), "up_to_date": False}


def fetch_tool(name: str, arch: str, member: str | None, ctx: Context) -> Path:
    """A locked helper package (busybox-static, qemu-user-static) unpacked, for the tests.

    With `member`, only that file is extracted and its path returned; otherwise
    the package's whole tree.
    """
    entry = tool_entry(name, arch, ctx.paths)
    with exclusive(ctx.paths.cache):
        ensure_debs([entry], arch, ctx.paths, ctx.get_index)
        if member is None:
            return extract_deb(entry, arch, ctx.paths.cache)
        dest = ctx.paths.cache / "tools" / arch / cache_name(entry) / Path(member).name
        return extract_member(entry, member, dest, ctx.paths.cache)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=USAGE)
    ap.add_argument("--arch", choices=sorted(ARCHES), default="amd64")
    ap.add_argument(
        "--langs",
        default=os.environ.get("TESSERACT_LANGS") or "eng",
        help="Tesseract language codes joined by + (default: $TESSERACT_LANGS or eng); osd is always added",
    )
    ap.add_argument("--relock", action="store_true", help="re-resolve the packages from Debian's current indexes")
    return ap


def main(argv: list[str] | None, ctx: Context) -> int:
    args = _parser().parse_args(argv)
    try:
        langs = ctx.parse_langs(args.langs)
        with exclusive(ctx.paths.cache):
            s = build(args.arch, langs, args.relock, ctx)
    except BuildError as e:
        print(f"layers/build.py: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    state = "up to date" if s["up_to_date"] else "built"
    print(f"{s['output']} {state} in {s['seconds']:.1f} s: {s['tesseract']}, languages {'+'.join(s['languages'])}")
    print(
        f"  {s['libraries']} libraries from {s['packages']} Debian packages; "
        f"unzipped {s['unzipped_bytes'] / 1e6:.1f} MB ({s['unzipped_bytes']} bytes), "
        f"zip {s['zip_size'] / 1e6:.1f} MB ({s['zip']})"
    )
    return 0
