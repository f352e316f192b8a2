"""Part 9, cost: dollars per million pages at Lambda's published prices, from measured duration x memory.

Lambda gives a function CPU in proportion to its memory (one vCPU at 1,769
MB) through a CFS quota. This part puts the OCR handler's warm container and
the bare Tesseract CLI under the same quota for several memory sizes
(bench.cpu.CpuLimit; a cgroup on this machine) and times them interleaved on
a subset of pages, so each size's duration is measured, not assumed. Cost per
page is billed duration (rounded up to the millisecond) x memory x the price
per GB-second; requests, S3 and SNS are listed separately, and so is
Textract's per-page price. arm64 is priced at the x86 durations measured here
(no Graviton to measure on): its row is an estimate, and says so.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from bench.cpu import LAMBDA_MB_PER_VCPU, CpuLimit, cpu_limits_available
from bench.log import log
from bench.pages import select_pages
from bench.results import Options, read_result, write_result
from bench.services import fresh_key, moto_server, s3_client, upload_page
from bench.stats import summary
from bench.tesseract import bare_output, bare_tesseract, counting_wrapper
from bench.worker_client import Worker, function_env

PART = "cost"
TARGET_RATIO = 1.1
SIZES_MB = (512, 1024, 1769, 3008)
SUBSET = ("a013", "b013", "d015", "e041", "8071_093.3B", "eurotext")

# us-east-1 list prices. Not fetched at run time (the benchmark has no network
# but package registries): update them here, with the date, when AWS changes them.
PRICES = {
    "as_of": "2025-06 (AWS pricing pages; us-east-1; first pricing tier)",
    "lambda_gb_second": {"x86_64": 0.0000166667, "arm64": 0.0000133334},
    "lambda_request": 0.20 / 1e6,
    "s3_put_copy_post_list_request": 0.005 / 1000,
    "s3_get_head_request": 0.0004 / 1000,
    "s3_delete_request": 0.0,
    "sns_publish_request": 0.50 / 1e6,
    "sns_to_lambda_delivery": 0.0,
    "textract_detect_document_text_page": {"first_1m_pages_per_month": 1.50 / 1000, "over_1m": 0.60 / 1000},
    "sources": [
        "https://aws.amazon.com/lambda/pricing/",
        "https://aws.amazon.com/s3/pricing/",
        "https://aws.amazon.com/sns/pricing/",
        "https://aws.amazon.com/textract/pricing/",
    ],
}
# Requests one page causes, read from the code: the OCR function HEADs the page JSON,
# GETs the image, PUTs the page JSON and DELETEs a failure record that is usually
# not there; the indexer GETs the page JSON and DELETEs a failure record. The user's
# upload (one PUT) and SNS's publish of the S3 event come before us.
REQUESTS_PER_PAGE = {
    "lambda_invocations": 2,
    "s3_get_head": 3,
    "s3_put": 1,
    "s3_delete": 2,
    "sns_publish": 1,
    "user_upload_put": 1,
}


def per_million(seconds: float, memory_mb: int, arch: str) -> float:
    """Dollars per million invocations of that duration at that memory size (1 ms billing)."""
    billed = math.ceil(seconds * 1000) / 1000
    return billed * memory_mb / 1024 * PRICES["lambda_gb_second"][arch] * 1e6


def measure_sizes(opts: Options, sizes: tuple[int, ...]) -> dict[str, Any]:
    """Our warm handler and the bare CLI under each size's CPU quota, interleaved page by page."""
    pages = select_pages(opts.quick)
    pages = pages[:1] if opts.quick else [p for p in pages if p.stem in SUBSET]
    work = opts.work / PART
    work.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"pages": [p.name for p in pages], "sizes": {}}
    with moto_server(work) as aws:
        s3 = s3_client(aws)
        env = function_env(aws, tesseract_cmd=counting_wrapper(work), count_file=work / "starts.log")
        for size in sizes:
            with CpuLimit.for_memory(size) as cpu, Worker(env, work / f"worker-{size}.log", cpu=cpu) as worker:
                log(f"{PART}: {size} MB ({size / LAMBDA_MB_PER_VCPU:.2f} vCPU)")
                worker.invoke("ocr", upload_page(s3, pages[0], fresh_key(pages[0], "warmup")))
                ours, bare = [], []
                for i, page in enumerate(pages):
                    for side in ("ours", "bare") if i % 2 == 0 else ("bare", "ours"):
                        if side == "ours":
                            ours.append(worker.invoke("ocr", upload_page(s3, page, fresh_key(page, "cost")))["s"])
                        else:
                            bare.append(bare_tesseract(page, work, cpu=cpu).wall_s)
                    bare_output(work)
            out["sizes"][str(size)] = {
                "vcpus": round(size / LAMBDA_MB_PER_VCPU, 3),
                "ours_s": summary(ours, 3),
                "bare_s": summary(bare, 3),
                "ours_mean_s": round(statistics.mean(ours), 4),
                "bare_mean_s": round(statistics.mean(bare), 4),
                "ratio": summary([o / b for o, b in zip(ours, bare, strict=True)], 3),
            }
    return out


def run(opts: Options) -> dict[str, Any]:
    unavailable = cpu_limits_available()
    sizes = (1769,) if opts.quick else SIZES_MB
    if unavailable:
        measured: dict[str, Any] = {"skipped": unavailable}
    else:
        measured = measure_sizes(opts, sizes)
    memory = read_result(opts, "memory")
    indexing = read_result(opts, "indexing")
    tesseractjs = read_result(opts, "tesseractjs")
    peak_mb = memory["ours_peak_upper_mb"]["max"] if memory else None  # the conservative figure, for sizing

    table: dict[str, Any] = {}
    for size, row in measured.get("sizes", {}).items():
        mb = int(size)
        table[size] = {
            "ours_s_mean": row["ours_mean_s"],
            "bare_s_mean": row["bare_mean_s"],
            **{f"ours_{arch}": round(per_million(row["ours_mean_s"], mb, arch), 2) for arch in ("x86_64", "arm64")},
            **{f"bare_{arch}": round(per_million(row["bare_mean_s"], mb, arch), 2) for arch in ("x86_64", "arm64")},
            "ours_to_bare": round(row["ours_mean_s"] / row["bare_mean_s"], 3),
        }
    recommended = _recommend(table, peak_mb)
    requests = _requests()
    indexer = None
    if indexing:
        handler_ms = indexing["rates"]["handler"]["per_page_ms"]
        # The indexer mostly waits on S3 and OpenSearch: 512 MB, priced at its measured duration
        # (one full core here; at 0.29 vCPU its CPU part could take up to 3.5 times as long).
        indexer = {
            "memory_mb": 512,
            "duration_ms_median": handler_ms["median"],
            "x86_64": round(per_million(handler_ms["median"] / 1000, 512, "x86_64"), 2),
            "arm64": round(per_million(handler_ms["median"] / 1000, 512, "arm64"), 2),
        }
    js = None
    if tesseractjs and "engines" in tesseractjs and recommended:
        # Tesseract.js needs about 170 MB, so it runs at the same size; its durations are the measured ones.
        engines = tesseractjs["engines"]
        js = {
            "memory_mb": recommended,
            "one_page_per_process_s": engines["js_cold"]["s"]["median"],
            "warm_worker_s": engines["js_warm"]["s"]["median"],
            "one_page_per_process_x86_64": round(
                per_million(engines["js_cold"]["s"]["median"], recommended, "x86_64"), 2
            ),
            "warm_worker_x86_64": round(per_million(engines["js_warm"]["s"]["median"], recommended, "x86_64"), 2),
            "note": "medians measured without a CPU quota; Tesseract.js is single-threaded, so that is about one vCPU",
        }
    textract = PRICES["textract_detect_document_text_page"]
    result: dict[str, Any] = {
        "what": "dollars per million pages: Lambda compute from durations measured under each memory size's CPU quota "
        "(mean over the pages, billed per ms), at list prices; other charges per page separately",
        "prices": PRICES,
        "measured": measured,
        "compute_per_million_pages": table,
        "recommended_memory_mb": recommended,
        "recommendation_rule": f"the fastest size whose compute cost is within {COST_MARGIN - 1:.0%} of the cheapest "
        "and that has at least twice the peak memory",
        "peak_memory_mb": peak_mb,
        "requests_per_page": REQUESTS_PER_PAGE,
        "other_charges_per_million_pages": requests,
        "indexer_compute_per_million_pages": indexer,
        "tesseractjs_compute_per_million_pages": js,
        "textract_per_million_pages": {
            "first_1m_per_month": round(textract["first_1m_pages_per_month"] * 1e6, 2),
            "over_1m": round(textract["over_1m"] * 1e6, 2),
        },
        "arm64_note": "arm64 rows use the x86 durations measured here (priced 20% lower per GB-s); Tesseract's "
        "speed on Graviton is not measured",
        "one_vcpu_buys": f"{LAMBDA_MB_PER_VCPU} MB is one vCPU: Tesseract with OMP_THREAD_LIMIT=1 uses one core, so "
        "memory past it buys nothing; below it, duration grows as 1,769/MB and the cost per page stays about level",
    }
    if recommended and str(recommended) in table:
        chosen = table[str(recommended)]
        result["target"] = {
            "max_ratio_to_bare": TARGET_RATIO,
            "ratio": chosen["ours_to_bare"],
            "met": chosen["ours_to_bare"] <= TARGET_RATIO,
        }
        result["headline"] = {
            "memory_mb": recommended,
            "ocr_x86_64": chosen["ours_x86_64"],
            "ocr_arm64": chosen["ours_arm64"],
            "bare_x86_64": chosen["bare_x86_64"],
            "requests_s3_sns": requests["total"],
            "indexer_x86_64": indexer["x86_64"] if indexer else None,
            "total_x86_64": round(chosen["ours_x86_64"] + requests["total"] + (indexer["x86_64"] if indexer else 0), 2),
            "textract": round(textract["first_1m_pages_per_month"] * 1e6, 2),
        }
    write_result(opts, PART, result)
    return result


# Below one vCPU, duration x memory is level for CPU-bound work, so the sizes' costs differ by a few
# percent, about as much as two runs on a shared machine differ: within this margin, latency decides.
COST_MARGIN = 1.10


def _recommend(table: dict[str, Any], peak_mb: float | None) -> int | None:
    """The fastest size whose x86 cost is within COST_MARGIN of the cheapest, with at least twice the peak memory."""
    if not table:
        return None
    fits = {int(s): row for s, row in table.items() if peak_mb is None or int(s) >= 2 * peak_mb}
    if not fits:
        return max(int(s) for s in table)
    cheapest = min(row["ours_x86_64"] for row in fits.values())
    good = [size for size, row in fits.items() if row["ours_x86_64"] <= cheapest * COST_MARGIN]
    # Fastest among them: beyond one vCPU nothing gets faster, so the smallest of equal speed.
    return min(good, key=lambda size: (round(fits[size]["ours_s_mean"], 1), size))


def _requests() -> dict[str, Any]:
    n = REQUESTS_PER_PAGE
    items = {
        "lambda_requests": n["lambda_invocations"] * PRICES["lambda_request"] * 1e6,
        "s3_get_head": n["s3_get_head"] * PRICES["s3_get_head_request"] * 1e6,
        "s3_put": n["s3_put"] * PRICES["s3_put_copy_post_list_request"] * 1e6,
        "s3_delete": n["s3_delete"] * PRICES["s3_delete_request"] * 1e6,
        "sns_publish": n["sns_publish"] * PRICES["sns_publish_request"] * 1e6,
    }
    out: dict[str, Any] = {k: round(v, 2) for k, v in items.items()}
    out["total"] = round(sum(items.values()), 2)
    out["user_upload_put_not_included"] = round(n["user_upload_put"] * PRICES["s3_put_copy_post_list_request"] * 1e6, 2)
    out["not_included"] = "OpenSearch domain (hourly, not per page), S3 storage, CloudWatch Logs"
    return out
