"""Part 12, a whole book through the local stack: one 100-page PDF of scans uploaded, seconds until all searchable.

The same measurement as part 8 (bench/pipeline.py), with the pages arriving
as one PDF: the splitter extracts each page's scan into the pages bucket,
the OCR functions take them as they come (the dispatcher's workers stand in
for Lambda's concurrency), the indexer indexes them. The baseline is the
same: the bare Tesseract CLI's time for those pages (the evaluation pages
the PDF was made from), summed, over the cores the dispatcher uses, measured
before and after (median of the two).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.log import log
from bench.pages import select_pages
from bench.pipeline import TIMEOUT_S, _bare_times, _page_count, environment, handler_time, prepare
from bench.results import Options, write_result
from bench.services import opensearch_client, s3_client
from bench.split import _book

PART = "book_pipeline"


def run(opts: Options) -> dict[str, Any]:
    from pagesearch import stack as local_stack

    pages = select_pages(opts.quick)
    data = _book(opts)
    total = 10 if opts.quick else 100
    order = [pages[i % len(pages)] for i in range(total)]  # the PDF's pages, as bench.split._book cycles them
    work, workers, before, env = prepare(opts, PART, pages)
    progress: list[tuple[float, int]] = []
    with environment(env):
        stack = local_stack.up()
        try:
            s3 = s3_client(stack.aws_endpoint)
            client = opensearch_client(stack.opensearch_url)
            log(f"{PART}: uploading one {total}-page PDF ({len(data) / 1e6:.1f} MB)")
            started = time.perf_counter()
            s3.put_object(Bucket=stack.pages_bucket, Key="book/book.pdf", Body=data)
            while True:
                searchable = _page_count(client, stack.opensearch_index)
                now = time.perf_counter() - started
                if not progress or progress[-1][1] != searchable:
                    progress.append((now, searchable))
                if searchable >= total:
                    elapsed = now
                    break
                if now > TIMEOUT_S:
                    raise RuntimeError(f"only {searchable} of {total} pages searchable after {TIMEOUT_S} s")
                time.sleep(0.1)
            listed = s3.list_objects_v2(Bucket=stack.results_bucket, Prefix="failed/").get("Contents", [])
            failures = [item["Key"] for item in listed]
        finally:
            local_stack.down()
    logged = handler_time(work / "state" / "logs" / "dispatcher.log")
    log(f"{PART}: {total} pages searchable after {elapsed:.1f} s; bare Tesseract (after)")
    after = _bare_times(pages, work)
    per_page = {name: statistics.median([before[name], after[name]]) for name in before}
    bare_sum = sum(per_page[page.name] for page in order)
    baseline = bare_sum / workers
    first = next((round(t, 2) for t, n in progress if n >= 1), None)
    result = {
        "what": f"one {total}-page PDF of scans uploaded to the local stack; seconds from the upload until every "
        "page is searchable (split, OCR'd, indexed)",
        "pages": total,
        "pdf_bytes": len(data),
        "dispatcher_workers": workers,
        "seconds": round(elapsed, 2),
        "first_page_searchable_s": first,
        "bare_tesseract_sum_s": round(bare_sum, 2),
        "baseline_s": round(baseline, 2),
        "ratio_to_baseline": round(elapsed / baseline, 3),
        "ocr_sum_to_bare_sum": round(sum(logged["ocr_s"]) / bare_sum, 3) if logged["ocr_s"] else None,
        "failures": failures,
        "note": "the same cores run moto, the OpenSearch API server, the dispatcher, the splitter and Tesseract",
    }
    write_result(opts, PART, result)
    return result


def report_rows(add: Any, r: dict[str, Any] | None) -> None:
    """Part 12's row of the summary table (bench/report.py)."""
    if not r:
        return
    add(
        "12 Book",
        f"one {r['pages']}-page PDF uploaded to the local stack: all searchable (s)",
        f"{r['seconds']}",
        f"bare Tesseract sum / {r['dispatcher_workers']} cores {r['baseline_s']} s",
        f"{r['ratio_to_baseline']:.3f}",
    )
