"""Part 3, threads: Tesseract with OMP_THREAD_LIMIT=1 against its default OpenMP threading, same pages.

Bare CLI both ways, interleaved page by page, on all cores of this machine and
under a one-vCPU CFS quota (what a 1,769 MB Lambda gets) when cgroups allow it.
Wall time and CPU time (user + system) are both reported: OpenMP's threads
spin, so default threading burns CPU that Lambda bills as duration. The
setting we ship is observed, not read from the code: one invocation of the
handler through the counting wrapper records the OMP_THREAD_LIMIT that
Tesseract actually saw.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench.cpu import LAMBDA_MB_PER_VCPU, CpuLimit, cpu_limits_available
from bench.log import log
from bench.pages import select_pages
from bench.results import Options, write_result
from bench.services import fresh_key, moto_server, s3_client, upload_page
from bench.stats import summary
from bench.tesseract import bare_output, bare_tesseract, counting_wrapper, read_counts
from bench.worker_client import Worker, function_env

PART = "threads"
# One page per oldbooks book and a multi-column magazine page: the spread of sizes and layouts.
SUBSET = ("a013", "b013", "c015", "d015", "e009", "8071_093.3B")


def shipped_setting(opts: Options) -> list[str]:
    """OMP_THREAD_LIMIT as Tesseract saw it when started by our handler (environment left unset)."""
    work = opts.work / PART
    count_file = work / "shipped-starts.log"
    page = select_pages(True)[0]
    with moto_server(work) as aws:
        env = function_env(aws, tesseract_cmd=counting_wrapper(work), count_file=count_file)
        with Worker(env, work / "worker.log") as worker:
            worker.invoke("ocr", upload_page(s3_client(aws), page, fresh_key(page, "threads")))
    starts, _ = read_counts(count_file)
    return sorted({s[0] for s in starts})


def _compare(pages: list[Any], work: Any, cpu: CpuLimit | None) -> dict[str, Any]:
    rows = []
    for i, page in enumerate(pages):
        runs: dict[str, Any] = {}
        for setting in ("one", "default") if i % 2 == 0 else ("default", "one"):
            runs[setting] = bare_tesseract(page, work, threads_limit=setting == "one", cpu=cpu)
        bare_output(work)
        one, default = runs["one"], runs["default"]
        rows.append(
            {
                "page": page.name,
                "one_thread_s": round(one.wall_s, 3),
                "default_s": round(default.wall_s, 3),
                "one_thread_cpu_s": round(one.cpu_s, 3),
                "default_cpu_s": round(default.cpu_s, 3),
                "ratio_default_to_one": round(default.wall_s / one.wall_s, 3),
            }
        )
    return {
        "ratio_default_to_one": summary([r["ratio_default_to_one"] for r in rows], 3),
        "one_thread_s": summary([r["one_thread_s"] for r in rows], 3),
        "default_s": summary([r["default_s"] for r in rows], 3),
        "cpu_ratio_default_to_one": round(
            sum(r["default_cpu_s"] for r in rows) / sum(r["one_thread_cpu_s"] for r in rows), 3
        ),
        "per_page": rows,
    }


def run(opts: Options) -> dict[str, Any]:
    work = opts.work / PART
    work.mkdir(parents=True, exist_ok=True)
    pages = select_pages(opts.quick)
    pages = [p for p in pages if p.stem in SUBSET] if not opts.quick else pages[:1]
    configs: dict[str, Any] = {}
    log(f"{PART}: all {len(pages)} pages on every core")
    configs["all_cores"] = _compare(pages, work, None)
    unavailable = cpu_limits_available()
    if unavailable is None:
        log(f"{PART}: under a one-vCPU quota ({LAMBDA_MB_PER_VCPU} MB Lambda)")
        with CpuLimit(1.0) as cpu:
            configs["one_vcpu_quota"] = _compare(pages, work, cpu)
    else:
        configs["one_vcpu_quota"] = {"skipped": unavailable}
    shipped = shipped_setting(opts)
    ratios = [configs[c]["ratio_default_to_one"]["median"] for c in configs if "ratio_default_to_one" in configs[c]]
    result = {
        "what": "bare `tesseract ... tsv` with OMP_THREAD_LIMIT=1 vs unset (OpenMP default: one thread per core), "
        "interleaved page by page",
        "pages": [p.name for p in pages],
        "configs": configs,
        "shipped": {
            "omp_thread_limit_seen_by_tesseract": shipped,
            "set_by": "lib/ocr.py (OMP_THREAD_LIMIT=1 unless the environment sets it)",
        },
        "verdict": "one thread" if ratios and statistics.median(ratios) > 1 else "default threads",
    }
    write_result(opts, PART, result)
    return result
