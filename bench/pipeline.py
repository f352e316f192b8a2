"""Part 8, whole pipeline: 200 pages uploaded at once to the local stack, seconds until all are searchable.

The local stack (pagesearch.stack.up in a private PAGESEARCH_STATE_DIR: moto's
S3/SNS/SQS, the OpenSearch API server and the dispatcher, which runs the real
handlers as Lambda's triggers would) receives the pages from a pool of upload
threads; the clock starts before the first upload and stops when the index
holds a page document for every page (a page's lines and its page document go
in one bulk request, so the page is searchable then). The baseline is the sum
of the bare Tesseract CLI's time for the same pages divided by the cores the
dispatcher uses, measured just before and just after (median of the two).
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.log import log
from bench.pages import select_pages
from bench.processes import child_env
from bench.results import Options, write_result
from bench.services import opensearch_client, s3_client
from bench.stats import summary
from bench.tesseract import bare_output, bare_tesseract, tesseract_bin

PART = "pipeline"
TIMEOUT_S = 1500


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """os.environ as the stack and its dispatcher should see it, restored afterwards."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _bare_times(pages: list[Any], work: Any) -> dict[str, float]:
    times = {page.name: bare_tesseract(page, work).wall_s for page in pages}
    bare_output(work)
    return times


def prepare(opts: Options, part: str, pages: list[Any]) -> tuple[Any, int, dict[str, float], dict[str, str]]:
    """A whole-pipeline part's set-up: its work directory, workers, bare Tesseract's times and the stack's env."""
    work = opts.work / part
    work.mkdir(parents=True, exist_ok=True)
    workers = os.cpu_count() or 2
    log(f"{part}: bare Tesseract on the {len(pages)} distinct pages (before)")
    before = _bare_times(pages, work)
    # The same Tesseract binary as the baseline (the stack would otherwise prefer a built layer's).
    env = child_env(
        {
            "PAGESEARCH_STATE_DIR": str(work / "state"),
            "PAGESEARCH_WORKERS": str(workers),
            "TESSERACT_CMD": tesseract_bin(),
        }
    )
    return work, workers, before, env


def run(opts: Options) -> dict[str, Any]:
    from pagesearch import stack as local_stack

    pages = select_pages(opts.quick)
    total = 6 if opts.quick else 200
    uploads = [(pages[i % len(pages)], f"pipe{i // len(pages):02d}/{pages[i % len(pages)].stem}") for i in range(total)]
    work, workers, before, env = prepare(opts, PART, pages)
    progress: list[tuple[float, int]] = []
    with environment(env):
        stack = local_stack.up()
        try:
            s3 = s3_client(stack.aws_endpoint)
            client = opensearch_client(stack.opensearch_url)
            bodies = {page.name: page.path.read_bytes() for page in pages}
            log(f"{PART}: uploading {total} pages at once")
            started = time.perf_counter()
            with ThreadPoolExecutor(16) as pool:
                list(
                    pool.map(
                        lambda item: s3.put_object(
                            Bucket=stack.pages_bucket, Key=f"{item[1]}{item[0].path.suffix}", Body=bodies[item[0].name]
                        ),
                        uploads,
                    )
                )
            uploaded = time.perf_counter() - started
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
            failures = [k for k in _keys(s3, stack.results_bucket, "failed/")]
        finally:
            local_stack.down()
    logged = handler_time(work / "state" / "logs" / "dispatcher.log")
    log(f"{PART}: {total} pages searchable after {elapsed:.1f} s; bare Tesseract (after)")
    after = _bare_times(pages, work)
    per_page = {name: statistics.median([before[name], after[name]]) for name in before}
    bare_sum = sum(per_page[page.name] for page, _ in uploads)
    baseline = bare_sum / workers
    milestones = {}
    for fraction in (0.01, 0.5, 1.0):
        need = max(1, round(total * fraction))
        milestones[f"{int(fraction * 100)}%"] = next((round(t, 2) for t, n in progress if n >= need), None)
    result = {
        "what": f"{total} pages uploaded at once to the local stack (moto S3/SNS/SQS, osmem-server, the dispatcher "
        "running the real handlers); seconds from the first upload until every page is searchable",
        "pages": total,
        "distinct_images": len(pages),
        "dispatcher_workers": workers,
        "cores": os.cpu_count(),
        "seconds": round(elapsed, 2),
        "upload_seconds": round(uploaded, 2),
        "searchable_at_s": milestones,
        "pages_per_s": round(total / elapsed, 3),
        "bare_tesseract_sum_s": round(bare_sum, 2),
        "baseline_s": round(baseline, 2),
        "ratio_to_baseline": round(elapsed / baseline, 3),
        "bare_s_per_distinct_page": summary(list(per_page.values()), 3),
        "failures": failures,
        # Where the time went: the handlers' own per-page times, against the wall time x workers
        # (utilisation), and OCR inside the pipeline against the bare CLI alone (contention).
        "handlers": {
            "ocr_s_per_page": summary(logged["ocr_s"], 3),
            "index_s_per_page": summary(logged["index_s"], 3),
            "busy_s": round(sum(logged["ocr_s"]) + sum(logged["index_s"]), 1),
            "worker_utilisation": round((sum(logged["ocr_s"]) + sum(logged["index_s"])) / (elapsed * workers), 3),
            "ocr_sum_to_bare_sum": round(sum(logged["ocr_s"]) / bare_sum, 3) if logged["ocr_s"] else None,
        },
        "tesseract": tesseract_bin(),
        "note": "everything shares the same cores: moto, the OpenSearch API server, the dispatcher's Python and "
        "Tesseract; on AWS each invocation has its own vCPU share and S3/SNS/OpenSearch run elsewhere",
    }
    write_result(opts, PART, result)
    return result


def handler_time(log_path: Any) -> dict[str, Any]:
    """What the dispatcher's handlers logged: per-page time of the OCR and indexer functions (their own `ms`)."""
    import json

    ocr, index = [], []
    if log_path.exists():
        for line in log_path.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("message") == "page OCR'd":
                ocr.append(entry["ms"] / 1000)
            elif entry.get("message") == "page indexed":
                index.append(entry["ms"] / 1000)
    return {"ocr_s": ocr, "index_s": index}


def _page_count(client: Any, index: str) -> int:
    from opensearchpy.exceptions import NotFoundError

    try:
        # One document per page (lib.index.documents): the index's count is the pages searchable.
        return int(client.count(index=index)["count"])
    except NotFoundError:
        return 0


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    response = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [item["Key"] for item in response.get("Contents", [])]
