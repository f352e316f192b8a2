"""Part 11, splitting books: pages per second for a 100-page PDF of scans, against a bare pypdfium2 loop.

The PDF is made from the evaluation pages, cycled to 100 pages (10 with
``--quick``), each page one embedded scan as Pillow's PDF writer stores it
(CCITT G4 for the 1-bit pages). Ours is ``lib.split.pdf.split_page`` on every
page: the text-layer check, the one-scan check, the bomb check, extraction
and the lossless PNG. The baseline does only the same extraction with
pypdfium2 directly (the page's image, its own pixels, the same PNG), no
decisions. Rounds alternate which goes first, so a noisy neighbour slows both
alike; the figure is the ratio of medians (target: ours at least 0.9 of the
bare loop's rate). The whole splitter function (moto's S3 in-process: the
book read from S3, every page image and the progress record written) is
reported beside it, for what S3 adds.
"""

from __future__ import annotations

import io
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from bench.log import log
from bench.pages import select_pages
from bench.results import Options, write_result
from bench.stats import summary

PART = "split"
TARGET_RATIO = 0.9
PAGES = 100
ROUNDS = 5


def _book(opts: Options) -> bytes:
    sources = [Image.open(page.path) for page in select_pages(opts.quick)]
    frames = [sources[i % len(sources)] for i in range(10 if opts.quick else PAGES)]
    out = io.BytesIO()
    frames[0].save(out, format="PDF", save_all=True, append_images=frames[1:], resolution=300)
    return out.getvalue()


def _ours(path: Path) -> int:
    from lib.split import pdf

    with pdf.open_pdf(path) as document:
        for number in range(1, len(document) + 1):
            pdf.split_page(document, number, dpi=300, max_pixels=120_000_000)
        return len(document)


def _bare(path: Path) -> int:
    """The same extraction, nothing else: each page's one image, its own pixels, the same lossless PNG."""
    document = pdfium.PdfDocument(path)
    try:
        for page in document:
            [image] = [o for o in page.get_objects() if o.type == pdfium_c.FPDF_PAGEOBJ_IMAGE]
            picture = image.get_bitmap(render=False).to_pil()
            if image.get_metadata().bits_per_pixel == 1:
                picture = picture.point(lambda v: 255 if v >= 128 else 0).convert("1", dither=Image.Dither.NONE)
            picture.save(io.BytesIO(), format="PNG", dpi=(300, 300), compress_level=3)
            page.close()
        return len(document)
    finally:
        document.close()


def _function(data: bytes) -> dict[str, Any]:
    """The splitter handler on the book in moto's S3 (in-process): pages per second end to end."""
    import os

    from moto import mock_aws

    from lib import storage
    from pagesearch import lambda_local

    saved = {k: os.environ.get(k) for k in ("PAGES_BUCKET", "RESULTS_BUCKET", "AWS_DEFAULT_REGION")}
    os.environ.update(PAGES_BUCKET="bench-pages", RESULTS_BUCKET="bench-results", AWS_DEFAULT_REGION="us-east-1")
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        saved[name] = os.environ.pop(name)
    storage.s3_client.cache_clear()
    try:
        with mock_aws():
            s3 = storage.s3_client()
            for bucket in ("bench-pages", "bench-results"):
                s3.create_bucket(Bucket=bucket)
            etag = s3.put_object(Bucket="bench-pages", Key="bench/book.pdf", Body=data)["ETag"].strip('"')
            record = lambda_local.s3_record("bench-pages", "bench/book.pdf", etag=etag, size=len(data))
            started = time.perf_counter()
            summary_ = lambda_local.invoke("splitter", {"Records": [record]}, stage="bench")
            seconds = time.perf_counter() - started
    finally:
        storage.s3_client.cache_clear()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return {"seconds": round(seconds, 3), "outcome": summary_["pages"][0].get("detail")}


def run(opts: Options) -> None:
    data = _book(opts)
    with tempfile.TemporaryDirectory(dir=opts.work) as tmp:
        path = Path(tmp) / "book.pdf"
        path.write_bytes(data)
        times: dict[str, list[float]] = {"ours": [], "bare": []}
        pages = 0
        for round_ in range(2 if opts.quick else ROUNDS):
            order = ("ours", "bare") if round_ % 2 == 0 else ("bare", "ours")
            for name in order:
                started = time.perf_counter()
                pages = (_ours if name == "ours" else _bare)(path)
                times[name].append(time.perf_counter() - started)
    rates = {name: [pages / t for t in values] for name, values in times.items()}
    ratio = statistics.median(rates["ours"]) / statistics.median(rates["bare"])
    function = _function(data)
    function["pages_per_s"] = round(pages / function["seconds"], 1)
    log(
        f"split: ours {statistics.median(rates['ours']):.1f} pages/s, bare {statistics.median(rates['bare']):.1f}"
        f" pages/s: {ratio:.3f}x; the splitter function on moto {function['pages_per_s']} pages/s"
    )
    write_result(
        opts,
        PART,
        {
            "pages": pages,
            "pdf_bytes": len(data),
            "pages_per_s": {name: summary(values, 1) for name, values in rates.items()},
            "ratio_ours_to_bare": round(ratio, 3),
            "target_ratio": TARGET_RATIO,
            "met": ratio >= TARGET_RATIO,
            "function_on_moto": function,
        },
    )


def report_rows(add: Any, r: dict[str, Any] | None) -> None:
    """Part 11's rows of the summary table (bench/report.py)."""
    if not r:
        return
    from bench.report import _met, _mmm

    rates = r["pages_per_s"]
    add(
        "11 Split",
        f"splitting a {r['pages']}-page PDF of scans (lib.split.pdf, pages/s)",
        _mmm(rates["ours"], digits=1),
        f"bare pypdfium2 loop {_mmm(rates['bare'], digits=1)}",
        f"{r['ratio_ours_to_bare']:.3f}",
        f"≥ {r['target_ratio']}",
        _met(r["met"]),
    )
    function = r["function_on_moto"]
    add("11 Split", "the splitter function end to end on moto's S3 (pages/s)", f"{function['pages_per_s']}")
