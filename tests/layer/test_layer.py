"""The Tesseract layer runs on nothing but itself.

Each claim of docs/layer.md is checked here: the layer's tesseract starts and
reads a page in an empty root with Lambda's default environment, every ELF file
finds its libraries inside the layer, the output equals the host's Debian
tesseract word for word, the size fits Lambda, and the arm64 variant does the
same under qemu-user.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import time
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import HOST_ARCH, PAGES, REPO, REPORT, EmptyRoot, build_layer

pytestmark = pytest.mark.layer

SAMPLES = REPO / "samples" / "pages"  # shipped copies, when ../shared is not beside the clone


def _first(*paths: Path) -> Path:
    return next((p for p in paths if p.is_file()), paths[0])


PHOTOTEST = _first(PAGES / "tesstest" / "phototest.tif", SAMPLES / "phototest.tif")
# Its TIFF header claims 1 dpi: say 300.
OLDBOOK_PAGE = _first(PAGES / "oldbooks" / "a013.tiff", SAMPLES / "d015.tiff")
LAMBDA_LIMIT = 262_144_000  # 250 MB unzipped, function included, as AWS counts it


def needs_pages() -> None:
    if not PHOTOTEST.is_file():
        pytest.skip(f"sample pages not found under {PAGES} or {SAMPLES} (set PAGES_DIR)")


def needs_host_arch(arch: str) -> None:
    if arch != HOST_ARCH:
        pytest.skip(f"the {arch} layer cannot run natively on {platform.machine()}")


def words(text: str) -> list[str]:
    return text.split()


def check_phototest_text(text: str) -> None:
    truth = words(PHOTOTEST.with_suffix(".gt.txt").read_text())
    got = words(text)
    for w in ("quick", "brown", "dog", "jumped", "lazy", "fox.", "format."):
        assert w in got, f"{w!r} missing from the OCR text:\n{text}"
    found = sum(1 for w in truth if w in got)
    assert found / len(truth) > 0.95, text


def layer_root(root: EmptyRoot, layer: Path) -> None:
    root.add(layer, "/opt")
    root.add(PHOTOTEST, "/tmp/phototest.tif")


# --------------------------------------------------------------------------- empty root, amd64


def test_version_in_empty_root(empty_root: EmptyRoot, layer_amd64: Path) -> None:
    needs_host_arch("amd64")
    needs_pages()
    layer_root(empty_root, layer_amd64)
    # Found through Lambda's PATH (/opt/bin), as pytesseract's plain "tesseract" is.
    proc = empty_root.run(["/bin/sh", "-c", "tesseract --version && tesseract --list-langs"])
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    assert re.search(r"^tesseract 5\.\d+\.\d+", out, re.M), out
    assert "leptonica" in out
    langs = out.split("List of available languages", 1)[1].split()
    assert "eng" in langs and "osd" in langs, out


def test_ocr_in_empty_root(empty_root: EmptyRoot, layer_amd64: Path) -> None:
    needs_host_arch("amd64")
    needs_pages()
    layer_root(empty_root, layer_amd64)
    started = time.monotonic()
    # (The root has no /dev: stderr stays a pipe from here.)
    proc = empty_root.run(["/bin/sh", "-c", "tesseract /tmp/phototest.tif -"])
    seconds = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    check_phototest_text(proc.stdout)
    # The function asks for TSV (words with boxes) from one run: the configs ship too.
    proc = empty_root.run(["/bin/sh", "-c", "tesseract /tmp/phototest.tif - tsv"])
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    assert rows[0][:2] == ["level", "page_num"], proc.stdout[:200]
    tsv_words = [r[11] for r in rows[1:] if len(r) == 12 and r[10] != "-1"]
    assert "quick" in tsv_words and "lazy" in tsv_words
    REPORT.append(f"empty root (amd64): phototest.tif read in {seconds:.1f} s with Lambda's default environment")


def test_runs_from_any_place_and_through_a_symlink(empty_root: EmptyRoot, layer_amd64: Path) -> None:
    """The wrapper finds the layer from its own path, wherever the layer is mounted."""
    needs_host_arch("amd64")
    empty_root.add(layer_amd64, "/var/task/vendor/tesseract")
    # busybox's readlink applet, which the wrapper needs only when called through a link.
    (empty_root.path / "bin" / "readlink").symlink_to("sh")
    (empty_root.path / "usr" / "local" / "bin").mkdir(parents=True)
    (empty_root.path / "usr" / "local" / "bin" / "tesseract").symlink_to("/var/task/vendor/tesseract/bin/tesseract")
    script = (
        "tesseract --list-langs && "
        "cd /var/task/vendor/tesseract/bin && ./tesseract --list-langs && sh tesseract --list-langs"
    )
    proc = empty_root.run(["/bin/sh", "-c", script])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("\neng\n") == 3, proc.stdout


# --------------------------------------------------------------------------- ELF closure


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_every_elf_needs_only_the_layer(arch: str, build_module: ModuleType) -> None:
    layer = build_layer(build_module, arch)
    spec = build_module.ARCHES[arch]
    lib = layer / "lib"
    files = sorted(p for p in layer.rglob("*") if p.is_file() or p.is_symlink())
    assert not [p for p in files if p.is_symlink()], "symlinks do not survive every zip tool"
    elves = {p: build_module.read_elf(p) for p in files}
    elves = {p: e for p, e in elves.items() if e is not None}
    assert layer / "bin" / "tesseract.real" in elves
    for path, elf in elves.items():
        rel = path.relative_to(layer)
        assert elf.machine == spec.elf_machine, f"{rel} is for machine {elf.machine}"
        for so in elf.needed:
            assert (lib / so).is_file(), f"{rel} needs {so}, which the layer lacks"
        if elf.interp:
            # The interpreter path points outside the layer, so the program must
            # only ever start through the bundled loader of the same name.
            assert (lib / Path(elf.interp).name).is_file(), f"{rel}: no {elf.interp} in the layer"
        assert not elf.rpath and not elf.runpath, f"{rel} searches {elf.rpath or elf.runpath}"
    wrapper = (layer / "bin" / "tesseract").read_text()
    assert f'"$d/../lib/{spec.loader}" --library-path "$d/../lib"' in wrapper
    assert "$d/tesseract.real" in wrapper
    # Nothing shipped that nothing loads: walk the closure from the program.
    reached, queue = {spec.loader}, [layer / "bin" / "tesseract.real"]
    while queue:
        for so in elves[queue.pop()].needed:
            if so not in reached:
                reached.add(so)
                queue.append(lib / so)
    assert sorted(p.name for p in lib.iterdir()) == sorted(reached)


@pytest.mark.skipif(shutil.which("readelf") is None, reason="binutils' readelf is not installed")
def test_elf_parser_agrees_with_readelf(build_module: ModuleType, layer_amd64: Path) -> None:
    """A second opinion on the hand-written parser the closure checks rely on."""
    for path in [*sorted((layer_amd64 / "lib").iterdir()), layer_amd64 / "bin" / "tesseract.real"]:
        out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True, check=True).stdout
        assert build_module.read_elf(path).needed == re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", out)


# --------------------------------------------------------------------------- same output as Debian's own


def test_same_words_as_host_tesseract(layer_amd64: Path) -> None:
    needs_host_arch("amd64")
    needs_pages()
    host = shutil.which("tesseract", path="/usr/bin:/usr/local/bin")
    if host is None:
        pytest.skip("no host tesseract to compare with (apt-get install tesseract-ocr)")
    wrapper = layer_amd64 / "bin" / "tesseract"
    base = {"PATH": "/usr/bin:/bin", "OMP_THREAD_LIMIT": "1"}
    host_version = subprocess.run([host, "--version"], capture_output=True, text=True, env=base).stdout.split("\n")[0]
    layer_version = subprocess.run([wrapper, "--version"], capture_output=True, text=True, env=base).stdout
    if host_version not in layer_version:
        pytest.skip(f"host has {host_version}, the layer {layer_version.splitlines()[0]}: not comparable")
    tessdata = str(layer_amd64 / "share" / "tessdata")
    for page, extra in ((PHOTOTEST, []), (OLDBOOK_PAGE, ["--dpi", "300"])):
        argv = [str(page), "-", *extra]
        ours = subprocess.run([wrapper, *argv], capture_output=True, text=True, env=base, check=True).stdout
        theirs = subprocess.run(
            [host, *argv], capture_output=True, text=True, env={**base, "TESSDATA_PREFIX": tessdata}, check=True
        ).stdout
        assert len(words(ours)) > 20
        assert words(ours) == words(theirs), page.name


# --------------------------------------------------------------------------- size, lock


def test_size_fits_lambda(layer_amd64: Path, build_module: ModuleType) -> None:
    unzipped = sum(p.stat().st_size for p in layer_amd64.rglob("*") if p.is_file())
    zipped = build_module.zip_path("amd64").stat().st_size
    REPORT.append(
        f"layer size (amd64): {unzipped / 1e6:.1f} MB unzipped, {zipped / 1e6:.1f} MB zipped "
        f"({build_module.zip_path('amd64').relative_to(REPO)})"
    )
    assert unzipped < LAMBDA_LIMIT
    assert zipped < unzipped


def test_lock_pins_what_the_layer_holds(layer_amd64: Path) -> None:
    lock = json.loads((REPO / "layers" / "tesseract.lock.json").read_text())
    for arch, section in lock["arches"].items():
        entries = [*section["packages"], *section["languages"].values(), *section["tools"].values()]
        for e in entries:
            assert re.fullmatch(r"[0-9a-f]{64}", e["sha256"]), (arch, e["name"])
            assert e["filename"].startswith("pool/") and e["filename"].endswith(".deb"), (arch, e["name"])
            assert e["architecture"] in (arch, "all")
    provided = {so for e in lock["arches"]["amd64"]["packages"] for so in e["provides"]}
    assert provided == {p.name for p in (layer_amd64 / "lib").iterdir()}


def test_stale_lock_says_what_is_gone_and_how_to_fix_it(
    build_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Debian drops superseded security updates; the build must say so in one sentence."""

    class NoLongerServed:
        def exact(self, name: str, version: str) -> None:
            return None

    gone = {
        "name": "libtiff6", "version": "4.5.0-6+deb12u0", "architecture": "amd64", "suite": "bookworm",
        "filename": "pool/main/t/tiff/libtiff6_4.5.0-6+deb12u0_amd64.deb", "size": 1, "sha256": "0" * 64,
        "provides": ["libtiff.so.6"],
    }  # fmt: skip
    lock = {"arches": {"amd64": {"packages": [gone], "languages": {}, "tools": {}}}}
    (tmp_path / "lock.json").write_text(json.dumps(lock))
    monkeypatch.setattr(build_module, "LOCK_PATH", tmp_path / "lock.json")
    monkeypatch.setattr(build_module, "LAYERS_DIR", tmp_path)
    monkeypatch.setattr(build_module, "BUILD_DIR", tmp_path / "build")
    monkeypatch.setattr(build_module, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(build_module, "get_index", lambda arch: NoLongerServed())
    monkeypatch.setattr(build_module, "resolve_language", lambda index, lang: pytest.fail("no network here"))
    monkeypatch.setattr(build_module, "parse_langs", lambda text: [])
    assert build_module.main(["--arch", "amd64"]) == 3
    err = capsys.readouterr().err.strip()
    assert "libtiff6 4.5.0-6+deb12u0" in err
    assert "make layer-lock ARCH=amd64" in err and "python3 layers/build.py --relock --arch amd64" in err
    assert len(err.splitlines()) == 1, err


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("1.0~rc1", "1.0"),
        ("1.0", "1.0-1"),
        ("2.36-9+deb12u4", "2.36-9+deb12u14"),
        ("1:7.2+dfsg-7+deb12u15", "1:7.2+dfsg-7+deb12u18+b3"),
        ("3.0.22-1~deb12u2", "3.0.22-1"),
        ("9.9", "1:0.1"),
    ],
)
def test_debian_version_order(build_module: ModuleType, older: str, newer: str) -> None:
    assert build_module.version_compare(older, newer) < 0 < build_module.version_compare(newer, older)
    assert build_module.version_compare(newer, newer) == 0


# --------------------------------------------------------------------------- arm64 under qemu-user


def test_arm64_layer_in_empty_root(empty_root: EmptyRoot, build_module: ModuleType) -> None:
    """The Graviton layer reads the page too, in an empty root, emulated by qemu-user.

    qemu-user without binfmt_misc cannot follow an exec into another arm64
    program, and registering binfmt needs rights a test should not take; so
    the root's copy of the wrapper gets qemu put in front of its one exec line.
    Everything else (the wrapper's logic run by a static shell, the loader,
    libraries, tessdata) is the arm64 layer as built.
    """
    needs_pages()
    layer = build_layer(build_module, "arm64")
    layer_root(empty_root, layer)
    wrapper = empty_root.path / "opt" / "bin" / "tesseract"
    text = wrapper.read_text()
    if HOST_ARCH != "arm64":
        if HOST_ARCH != "amd64":
            pytest.skip(f"Debian's qemu-user-static for {platform.machine()} is not locked")
        qemu = build_module.fetch_tool("qemu-user-static", "amd64", "usr/bin/qemu-aarch64-static")
        empty_root.add(qemu, "/qemu-aarch64-static", 0o755)
        assert text.count('\nexec "') == 1
        wrapper.unlink()  # a hard link to the built layer: never write through it
        wrapper.write_text(text.replace('\nexec "', '\nexec /qemu-aarch64-static "'))
        wrapper.chmod(0o755)
    proc = empty_root.run(["/bin/sh", "-c", "tesseract --version"])
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^tesseract 5\.\d+\.\d+", proc.stdout + proc.stderr, re.M)
    started = time.monotonic()
    proc = empty_root.run(["/bin/sh", "-c", "tesseract /tmp/phototest.tif -"])
    seconds = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    check_phototest_text(proc.stdout)
    REPORT.append(f"empty root (arm64, qemu-user): phototest.tif read in {seconds:.1f} s")


def test_layer_tree_holds_only_the_layer(layer_amd64: Path) -> None:
    """layers/tesseract is what serverless zips: no caches, stamps or other arches in it."""
    top = sorted(p.name for p in layer_amd64.iterdir())
    assert top == ["bin", "lib", "share"], top
    assert sorted(p.name for p in (layer_amd64 / "bin").iterdir()) == ["tesseract", "tesseract.real"]
    assert os.access(layer_amd64 / "bin" / "tesseract", os.X_OK)
    assert (layer_amd64 / "share" / "tessdata" / "configs" / "tsv").is_file()
