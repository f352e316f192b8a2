"""`python -m bench [PART ...] [--quick] [--out DIR]`: run the benchmarks, write results and the chart.

Parts, in the order a full run takes them (about 25 minutes on 2 cores):
ocr, memory, threads, tesseractjs, indexing, search, quality, coldstart, pipeline, cost, outputs, split, book,
accuracy (also `make accuracy`: error rates against ground truth, pages turned, skewed, rescaled).
``cost`` reads the other parts' results when present; ``chart`` only redraws
bench/summary.png and the summary from the results already written.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench.log import log
from bench.paths import CACHE, DEFAULT_CHART, DEFAULT_RESULTS
from bench.results import Options
from bench.runtime import set_runtime

# part name -> module with run(opts)
PARTS = {
    "ocr": "bench.ocr_overhead",
    "memory": "bench.memory",
    "threads": "bench.threads",
    "tesseractjs": "bench.tesseractjs",
    "indexing": "bench.indexing",
    "search": "bench.search",
    "quality": "bench.search_quality",
    "coldstart": "bench.coldstart",
    "pipeline": "bench.pipeline",
    "cost": "bench.cost",
    "outputs": "bench.outputs",
    "split": "bench.split",
    "book": "bench.book_pipeline",
    "accuracy": "bench.accuracy",
    "compounds": "bench.compounds",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "parts", nargs="*", metavar="PART", help=f"parts to run (default: all): {', '.join(PARTS)}, or chart"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a small smoke run (two small pages, few repeats); results go to --out, never bench/results",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="results directory (default: bench/results, or a scratch "
        "directory with --quick); the chart is written there too",
    )
    parser.add_argument("--keep-work", action="store_true", help="keep the scratch directory (logs) of this run")
    args = parser.parse_args(argv)
    parts = args.parts or list(PARTS)
    unknown = [p for p in parts if p not in PARTS and p != "chart"]
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}, chart")
    if args.out:
        results, chart = args.out, args.out / "summary.png"
    elif args.quick:
        # A smoke run must never overwrite the committed results.
        results = CACHE / "quick-results"
        chart = results / "summary.png"
    else:
        results, chart = DEFAULT_RESULTS, DEFAULT_CHART
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=CACHE))
    opts = Options(quick=args.quick, results_dir=results, chart=chart, work=work, parts=parts)
    if any(p in parts for p in ("ocr", "memory", "tesseractjs", "indexing", "coldstart", "cost", "threads", "outputs")):
        log(f"handlers run with: {set_runtime(args.quick).label}")
    failed: list[str] = []
    started = time.monotonic()
    for part in parts:
        if part == "chart":
            continue
        log(f"part {part} ...")
        began = time.monotonic()
        try:
            importlib.import_module(PARTS[part]).run(opts)
        except Exception:
            traceback.print_exc()
            failed.append(part)
        log(f"part {part} took {time.monotonic() - began:.0f} s")
    from bench import chart as chart_module
    from bench import report

    report.write(opts)
    chart_module.draw(opts)
    log(f"all done in {time.monotonic() - started:.0f} s; results in {results}")
    if args.keep_work or failed:
        log(f"scratch directory kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    if failed:
        log(f"FAILED parts: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
