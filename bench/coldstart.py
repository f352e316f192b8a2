"""Part 7, cold start: what importing each handler costs beside importing boto3 alone, and the first call's extra.

``python -X importtime -c "import X"`` for boto3, handlers.ocr and
handlers.indexer, in fresh processes taking turns round after round; the
figure is the cumulative import time of X's own line, and what a handler adds
is the median over rounds of its time minus boto3's in the same round (both
handlers import boto3, through lib.storage).
What each handler imports beyond boto3 is listed by package, so a regression
names its cause. The first invocation's extra is a fresh worker process invoking the
OCR handler twice on the same page under two keys: first minus second.
"""

from __future__ import annotations

import re
import statistics
from typing import Any

from bench.log import log
from bench.pages import select_pages
from bench.paths import ROOT
from bench.processes import child_env, run_measured
from bench.results import Options, write_result
from bench.runtime import runtime
from bench.services import moto_server, s3_client
from bench.stats import summary
from bench.tesseract import counting_wrapper
from bench.worker_client import cold_invocation, function_env

PART = "cold_start"
MODULES = ("boto3", "handlers.ocr", "handlers.indexer")
TARGET_ADDED_MS = 50
_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)$")


def parse_importtime(stderr: str) -> dict[str, tuple[float, float, int]]:
    """module -> (self ms, cumulative ms, depth) from -X importtime's report."""
    out = {}
    for line in stderr.splitlines():
        match = _LINE.match(line.rstrip())
        if match:
            own, cumulative, indent, name = match.groups()
            out.setdefault(name, (int(own) / 1000, int(cumulative) / 1000, (len(indent) - 1) // 2))
    return out


def added_packages(
    report: dict[str, tuple[float, float, int]], base: dict[str, tuple[float, float, int]], limit: int = 10
) -> list[dict[str, Any]]:
    """What a handler imports that `import boto3` does not, by top-level package (sum of own times)."""
    totals: dict[str, float] = {}
    for name, (own, _cumulative, _depth) in report.items():
        if name not in base:
            top = name.split(".")[0]
            totals[top] = totals.get(top, 0.0) + own
    ranked = sorted(totals.items(), key=lambda kv: kv[1], reverse=True)
    return [{"package": name, "own_ms": round(ms, 1)} for name, ms in ranked[:limit]]


def run(opts: Options) -> dict[str, Any]:
    rounds = 2 if opts.quick else 15
    env = child_env({"PYTHONPATH": runtime().pythonpath})
    cumulative: dict[str, list[float]] = {m: [] for m in MODULES}
    wall: dict[str, list[float]] = {m: [] for m in MODULES}
    reports: dict[str, dict[str, tuple[float, float, int]]] = {}
    by_round: list[dict[str, float]] = []
    # One unmeasured round first: compiled bytecode and the page cache are warm for all alike.
    for r in range(rounds + 1):
        this_round: dict[str, float] = {}
        for module in MODULES[r % 3 :] + MODULES[: r % 3]:
            done = run_measured(
                [*runtime().python, "-X", "importtime", "-c", f"import {module}"], env=env, cwd=ROOT, stderr_tail=10**7
            )
            if done.returncode != 0:
                raise RuntimeError(f"import {module} failed: {done.stderr[-2000:]}")
            report = parse_importtime(done.stderr)
            if r == 0:
                continue
            cumulative[module].append(report[module][1])
            wall[module].append(done.wall_s * 1000)
            reports[module] = report
            this_round[module] = report[module][1]
        if this_round:
            by_round.append(this_round)
    # Each handler against the boto3 import of the same round (adjacent processes): the
    # machine's load changes from minute to minute, so medians of differences, not differences of medians.
    added = {m: round(statistics.median(r[m] - r["boto3"] for r in by_round), 1) for m in MODULES if m != "boto3"}
    added_spread = {m: summary([r[m] - r["boto3"] for r in by_round], 1) for m in MODULES if m != "boto3"}

    # The first invocation against the second, in fresh processes (a cold container each).
    pages = select_pages(True)
    work = opts.work / PART
    work.mkdir(parents=True, exist_ok=True)
    count_file = work / "tesseract-starts.log"
    extras, firsts, seconds, imports = [], [], [], []
    with moto_server(work) as aws:
        s3 = s3_client(aws)
        fenv = function_env(aws, tesseract_cmd=counting_wrapper(work), count_file=count_file)
        for i in range(2 if opts.quick else 6):
            page = pages[i % len(pages)]
            cold = cold_invocation(s3, fenv, page, work, count_file)
            first, second = cold["invocations"]
            extras.append((first["s"] - second["s"]) * 1000)
            firsts.append(first["s"] * 1000)
            seconds.append(second["s"] * 1000)
            imports.append(cold["import_s"] * 1000)
    log(f"{PART}: handlers add {added} ms to boto3's import; first invocation +{statistics.median(extras):.0f} ms")
    result = {
        "what": "`python -X importtime -c 'import X'`, cumulative ms of X, fresh processes in rotation; and the OCR "
        "handler's first invocation minus its second in a fresh process",
        "rounds": rounds,
        "import_ms": {m: summary(cumulative[m], 1) for m in MODULES},
        "process_wall_ms": {m: summary(wall[m], 1) for m in MODULES},
        "added_to_boto3_ms": added,
        "added_to_boto3_per_round_ms": added_spread,
        "added_by_package_sum_ms": {
            m: round(sum(p["own_ms"] for p in added_packages(reports[m], reports["boto3"], limit=1000)), 1)
            for m in MODULES
            if m != "boto3"
        },
        "added_by_package": {m: added_packages(reports[m], reports["boto3"]) for m in MODULES if m != "boto3"},
        "first_invocation": {
            "pages": [p.name for p in pages],
            "extra_ms": summary(extras, 1),
            "first_ms": summary(firsts, 1),
            "second_ms": summary(seconds, 1),
            "handler_import_in_worker_ms": summary(imports, 1),
            "what_it_includes": "the S3 client's creation (botocore loads the S3 model), Pillow's plugin "
            "registration on the first Image.open, pytesseract's import, and `tesseract --version` (once per "
            "container)",
        },
        "target": {
            "max_added_ms": TARGET_ADDED_MS,
            "met": all(v <= TARGET_ADDED_MS for v in added.values()),
        },
    }
    write_result(opts, PART, result)
    return result
