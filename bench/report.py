"""One table of every figure with its baseline, ratio, target and verdict, from the parts' result files.

Written as ``summary.json`` beside the results and as Markdown: into
docs/bench.md between its markers for a full run into bench/results, else
``summary.md`` beside the results (a quick run never edits the docs).
"""

from __future__ import annotations

import json
from typing import Any

from bench import book_pipeline, outputs
from bench import compounds as compounds_part
from bench import split as split_part
from bench.log import log
from bench.paths import DEFAULT_RESULTS, ROOT
from bench.report_search import layout_rows, quality_rows, search_rows
from bench.results import Options, read_result

DOC = ROOT / "docs" / "bench.md"
BEGIN, END = "<!-- bench:table:begin -->", "<!-- bench:table:end -->"


def _mmm(s: dict[str, Any] | None, unit: str = "", scale: float = 1.0, digits: int = 2) -> str:
    """'median (min-max)' of a summary."""
    if not s or "median" not in s:
        return "-"
    f = f"{{:.{digits}f}}"
    return f"{f.format(s['median'] * scale)}{unit} ({f.format(s['min'] * scale)}-{f.format(s['max'] * scale)})"


def _met(flag: bool | None) -> str:
    return "-" if flag is None else ("met" if flag else "**missed**")


def rows(opts: Options) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []

    def add(part: str, figure: str, value: str, baseline: str = "", ratio: str = "", target: str = "", met: str = ""):
        out.append(
            {
                "part": part,
                "figure": figure,
                "value": value,
                "baseline": baseline,
                "ratio": ratio,
                "target": target,
                "met": met,
            }
        )

    r = read_result(opts, "ocr_overhead")
    if r:
        add(
            "1 OCR overhead",
            f"OCR handler per page, warm ({r['pages']} pages x {r['repeats_per_page']})",
            _mmm(r["ours_s"], " s"),
            f"bare CLI {_mmm(r['bare_s'], ' s')}",
            _mmm(r["ratio"], digits=3),
            f"median ≤ {r['target']['ratio_median_max']}",
            _met(r["target"]["met"]),
        )
        add("1 OCR overhead", "time outside Tesseract per page", _mmm(r["outside_tesseract_ms"], " ms", digits=0))
        starts = r["tesseract_starts"]
        add(
            "1 OCR overhead",
            "Tesseract processes per page (counted)",
            f"{starts['ocr_per_page']['min']:.0f}-{starts['ocr_per_page']['max']:.0f} OCR, "
            f"{starts['version_per_warm_invocation']['max']:.0f} `--version` per warm page",
            "",
            "",
            "exactly 1",
            _met(r["target"]["one_tesseract_per_page_met"]),
        )
    r = read_result(opts, "memory")
    if r:
        big = r["largest_page"]
        add(
            "2 Memory",
            f"peak of a cold invocation, largest page ({big['page']})",
            f"{big['ours_tree_sampled_peak_mb']:.0f} MB at once (Python {big.get('python_at_tree_peak_mb', 0):.0f} "
            f"+ Tesseract {big['tesseract_in_handler_peak_mb']:.0f})",
            f"bare CLI {big['bare_tesseract_peak_mb']:.0f} MB",
            f"+{big['above_tesseract_mb']:.0f} MB",
            "",
            "",
        )
        add(
            "2 Memory",
            f"above Tesseract's own peak, all {r['pages']} pages",
            _mmm(r["above_tesseract_mb"], " MB", digits=0),
            "",
            "",
            f"≤ {r['target']['max_mb_above_tesseract']} MB",
            _met(r["target"]["met"]),
        )
    r = read_result(opts, "threads")
    if r:
        for name, label in (("all_cores", "2 cores"), ("one_vcpu_quota", "1 vCPU quota (1,769 MB)")):
            c = r["configs"].get(name, {})
            if "ratio_default_to_one" in c:
                add(
                    "3 Threads",
                    f"default OpenMP threads vs OMP_THREAD_LIMIT=1, {label}",
                    _mmm(c["default_s"], " s"),
                    f"one thread {_mmm(c['one_thread_s'], ' s')}",
                    _mmm(c["ratio_default_to_one"]),
                    "",
                    "",
                )
        add(
            "3 Threads",
            "setting shipped (seen by Tesseract)",
            f"OMP_THREAD_LIMIT={','.join(r['shipped']['omp_thread_limit_seen_by_tesseract'])}",
        )
    r = read_result(opts, "tesseractjs")
    if r and "ratios" in r:
        q, e = r["ratios"], r["engines"]
        units = {"s": (" s", 2), "peak_mb": (" MB", 0)}

        def versus(figure: str, side: str, base_label: str, base: str, key: str, ratio: str) -> None:
            """One engine's median (min-max) against another's, and the ratio of the pairs."""
            unit, digits = units[key]
            add(
                "4 Tesseract.js",
                figure,
                _mmm(e[side][key], unit, digits=digits),
                f"{base_label} {_mmm(e[base][key], unit, digits=digits)}",
                _mmm(q[ratio]),
            )

        versus("one page per process: time", "js_cold", "ours cold", "ours_cold", "s", "js_cold_to_ours_cold_time")
        versus(
            "one page per process: peak memory",
            "js_cold",
            "ours cold",
            "ours_cold",
            "peak_mb",
            "js_cold_to_ours_cold_peak_memory",
        )
        versus("warm worker: time per page", "js_warm", "ours warm", "ours_warm", "s", "js_warm_to_ours_warm_time")
        add(
            "4 Tesseract.js",
            "warm worker: peak memory over the run",
            f"{e['js_warm']['peak_mb_whole_run']:.0f} MB",
            f"ours warm {e['ours_warm']['peak_mb_whole_run']:.0f} MB",
            f"{q['js_warm_to_ours_warm_peak_memory']:.2f}",
        )
        versus(
            "warm worker vs the CLI with the same model",
            "js_warm",
            "CLI",
            "cli_same_model",
            "s",
            "js_warm_to_cli_same_model_time",
        )
        cer = r["cer_median"]
        add(
            "4 Tesseract.js",
            "character error rate (median)",
            f"Tesseract.js {cer['js_warm']:.2%}",
            f"ours {cer['ours_warm']:.2%}; CLI same model {cer['cli_same_model']:.2%}",
        )
    r = read_result(opts, "indexing")
    if r:
        rates = r["rates"]
        for way, label in (
            ("handler", "indexer handler (S3 + validation + bulk)"),
            ("library", "lib.index only"),
        ):
            add(
                "5 Indexing",
                f"{label}: pages/s, words/s",
                f"{rates[way]['pages_per_s']:.1f}, {rates[way]['words_per_s']:.0f}",
                f"bare bulk {rates['bare']['pages_per_s']:.1f}, {rates['bare']['words_per_s']:.0f}",
                f"{r['ratio_to_bare'][way]:.2f}",
                f"≥ {r['target']['min_ratio_to_bare']}",
                _met(r["target"][f"{way}_met"]),
            )
        add(
            "5 Indexing",
            "bare bulk, requests of 1,000 documents or 8 MB (server's best)",
            f"{rates['bare_batched']['pages_per_s']:.1f} pages/s, {rates['bare_batched']['words_per_s']:.0f} words/s",
        )
    layout_rows(add, opts)
    search_rows(add, opts)
    quality_rows(add, opts)
    r = read_result(opts, "cold_start")
    if r and "whole_process" in r:
        _cold_start_rows(add, r)
    r = read_result(opts, "pipeline")
    if r:
        add(
            "8 Pipeline",
            f"{r['pages']} pages uploaded at once, all searchable",
            f"{r['seconds']:.1f} s",
            f"bare Tesseract sum / {r['dispatcher_workers']} cores = {r['baseline_s']:.1f} s",
            f"{r['ratio_to_baseline']:.2f}",
        )
    r = read_result(opts, "cost")
    if r and r.get("headline"):
        h = r["headline"]
        add(
            "9 Cost",
            f"OCR compute per million pages at {h['memory_mb']} MB, x86_64 / arm64",
            f"${h['ocr_x86_64']:.2f} / ${h['ocr_arm64']:.2f}",
            f"bare Tesseract ${h['bare_x86_64']:.2f}",
            f"{r['target']['ratio']:.3f}",
            f"≤ {r['target']['max_ratio_to_bare']}",
            _met(r["target"]["met"]),
        )
        add("9 Cost", "requests, S3, SNS per million pages", f"${h['requests_s3_sns']:.2f}")
        if h.get("indexer_x86_64") is not None:
            add("9 Cost", "indexer compute per million pages (512 MB, x86_64)", f"${h['indexer_x86_64']:.2f}")
        add(
            "9 Cost",
            "total per million pages (x86_64, without OpenSearch)",
            f"${h['total_x86_64']:.2f}",
            f"Textract ${h['textract']:,.0f}",
            f"{h['total_x86_64'] / h['textract']:.4f}",
        )
    outputs.report_rows(add, read_result(opts, "outputs"))
    split_part.report_rows(add, read_result(opts, "split"))
    book_pipeline.report_rows(add, read_result(opts, "book_pipeline"))
    compounds_part.report_rows(add, read_result(opts, "compounds"))
    return out


def _plus(s: dict[str, Any], unit: str = " ms") -> str:
    """'+median (min to max)' of a summary of differences."""
    return f"{s['median']:+.0f}{unit} ({s['min']:+.0f} to {s['max']:+.0f})"


def _cold_start_rows(add: Any, r: dict[str, Any]) -> None:
    target = r["target"]["max_added_ms"]
    shipped = "as shipped (layer and ours .pyc)" if r["bytecode"].get("layer_compiled") else "as shipped (no .pyc)"
    labels = {"shipped": shipped, "compiled": "with .pyc compiled in"}
    for state in ("shipped", "compiled"):
        w = r["whole_process"][state]
        for module in w["added_ms"]:
            added = w["added_ms"][module]
            add(
                "7 Cold start",
                f"`import {module}`, whole process, {labels[state]}",
                _mmm(w["until_imported_ms"][module], " ms", digits=0),
                f"boto3 {_mmm(w['until_imported_ms']['boto3'], ' ms', digits=0)}",
                f"{_plus(added)}; CPU {w['added_cpu_ms'][module]['median']:+.0f} ms",
                f"≤ +{target} ms" if state == r["bytecode"]["headline"] else "",
                _met(added["median"] <= target) if state == r["bytecode"]["headline"] else "",
            )
    explained = r["importtime"][r["bytecode"]["headline"]]
    for module in explained["added_ms"]:
        top = ", ".join(f"{p['package']} {p['own_ms']:.0f}" for p in explained["added_by_package"][module][:4])
        add(
            "7 Cold start",
            f"-X importtime: what {module} adds (ms)",
            f"{explained['added_ms'][module]['median']:+.0f} cumulative, "
            f"{explained['added_by_package_sum_ms'][module]['median']:+.0f} by package",
            top,
        )
    first = r["first_invocation"]
    for function in ("ocr", "indexer"):
        f = first[function]
        add(
            "7 Cold start",
            f"first {function} invocation: import + first call, whole process",
            _mmm(f["ours_until_first_done_ms"], " ms", digits=0),
            f"boto3 + the same work {_mmm(f['bare_until_first_done_ms'], ' ms', digits=0)}",
            f"{_plus(f['added_until_first_done_ms'])}; CPU {f['added_cpu_until_first_done_ms']['median']:+.0f} ms",
        )
    add(
        "7 Cold start",
        "first OCR invocation's extra time",
        _mmm(first["extra_ms"], " ms", digits=0),
        f"second invocation {_mmm(first['second_ms'], ' ms', digits=0)}",
    )


def markdown(table: list[dict[str, str]]) -> str:
    head = "| part | figure | value | baseline (same run) | ratio | target | |\n|---|---|---|---|---|---|---|\n"
    columns = ("part", "figure", "value", "baseline", "ratio", "target", "met")
    body = "".join("| " + " | ".join(r[c] for c in columns) + " |\n" for r in table)
    return head + body


def write(opts: Options) -> None:
    table = rows(opts)
    if not table:
        return
    opts.results_dir.mkdir(parents=True, exist_ok=True)
    (opts.results_dir / "summary.json").write_text(json.dumps({"rows": table}, indent=2, ensure_ascii=False) + "\n")
    text = markdown(table)
    if opts.results_dir.resolve() == DEFAULT_RESULTS.resolve() and DOC.exists():
        doc = DOC.read_text(encoding="utf-8")
        if BEGIN in doc and END in doc:
            before, rest = doc.split(BEGIN, 1)
            _, after = rest.split(END, 1)
            DOC.write_text(f"{before}{BEGIN}\n{text}{END}{after}", encoding="utf-8")
            log(f"updated the table in {DOC}")
            return
    (opts.results_dir / "summary.md").write_text(text, encoding="utf-8")
    log(f"wrote {opts.results_dir / 'summary.md'}")
