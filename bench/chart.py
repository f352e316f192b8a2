"""bench/summary.png: one figure of the headline results, each panel against its same-run baseline.

Bars are medians; the whiskers span min to max. Drawn with matplotlib's Agg
backend (no display), from whatever result files exist.
"""

from __future__ import annotations

from typing import Any

from bench.log import log
from bench.results import Options, read_result

OURS, BASE, OTHER, ALT = "#1f77b4", "#9e9e9e", "#d62728", "#ff7f0e"


def _bars(ax: Any, labels: list[str], stats: list[dict[str, Any]], colors: list[str], unit: str) -> None:
    medians = [s["median"] for s in stats]
    lows = [s["median"] - s["min"] for s in stats]
    highs = [s["max"] - s["median"] for s in stats]
    ax.bar(labels, medians, color=colors, yerr=[lows, highs], capsize=4)
    for i, m in enumerate(medians):
        ax.annotate(f"{m:.3g}", (i, m), ha="center", va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
    ax.set_ylabel(unit)
    ax.tick_params(axis="x", labelsize=8)


def _empty(ax: Any, title: str) -> None:
    ax.set_title(title, fontsize=10)
    ax.text(0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])


def draw(opts: Options) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed (pip install -r requirements-bench.txt): no chart")
        return
    fig, axes = plt.subplots(2, 4, figsize=(20, 9))
    panels = [_ocr, _memory, _threads, _tesseractjs, _indexing, _search, _cold_start, _cost]
    for ax, panel in zip(axes.flat, panels, strict=True):
        panel(ax, opts)
    meta = next(
        (r["meta"] for r in map(lambda p: read_result(opts, p), ("ocr_overhead", "cost", "index_layout")) if r), None
    )
    where = (
        f"{meta['tesseract']}, {meta['host']['cpus']} cores, {meta['generated_at'][:10]}"
        + (" (quick run)" if meta["quick"] else "")
        if meta
        else ""
    )
    fig.suptitle(
        f"pagesearch benchmarks: medians, whiskers min-max, baselines from the same run — {where}", fontsize=12
    )
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    opts.chart.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(opts.chart, dpi=90)
    plt.close(fig)
    log(f"wrote {opts.chart}")


def _ocr(ax: Any, opts: Options) -> None:
    r = read_result(opts, "ocr_overhead")
    if not r:
        return _empty(ax, "1 OCR time per page")
    # Per page, our time over the bare CLI's: the pages differ 10x in time, so ratios, not seconds.
    rows = sorted(r["per_page"], key=lambda row: row["bare_s"]["median"])
    ratios = [row["ratio"] for row in rows]
    ax.bar(range(len(rows)), ratios, color=[OURS if x <= 1.05 else ALT for x in ratios])
    ax.axhline(1.0, color=BASE, linewidth=1)
    ax.axhline(1.05, color=OTHER, linestyle="--", linewidth=1)
    ax.set_xticks(range(len(rows)), [row["page"].split("/")[-1][:6] for row in rows], rotation=90, fontsize=7)
    ax.set_ylim(min(0.9, min(ratios) - 0.02), max(1.2, max(ratios) + 0.02))
    ax.set_ylabel("our handler / bare CLI (per page)")
    ax.set_title(
        f"1 OCR, ours / bare per page: median {r['ratio']['median']:.3f} (target <= 1.05)",
        fontsize=10,
    )


def _memory(ax: Any, opts: Options) -> None:
    r = read_result(opts, "memory")
    js = read_result(opts, "tesseractjs")
    if not r:
        return _empty(ax, "2 Peak memory")
    labels = ["ours (cold)", "bare CLI"]
    stats = [r["ours_tree_sampled_peak_mb"], r["bare_tesseract_peak_mb"]]
    colors = [OURS, BASE]
    if js and "engines" in js:
        labels.append("Tesseract.js")
        stats.append(js["engines"]["js_cold"]["peak_mb"])
        colors.append(OTHER)
    _bars(ax, labels, stats, colors, "MB")
    ax.axhline(r["bare_tesseract_peak_mb"]["max"] + 64, color=ALT, linestyle="--", linewidth=1)
    ax.set_title(
        f"2 Peak memory: +{r['above_tesseract_mb']['max']:.0f} MB over Tesseract (target +64, dashed)", fontsize=10
    )


def _tesseractjs(ax: Any, opts: Options) -> None:
    r = read_result(opts, "tesseractjs")
    if not r or "engines" not in r:
        return _empty(ax, "4 Tesseract.js")
    e = r["engines"]
    _bars(
        ax,
        ["js 1/process", "ours cold", "js warm", "ours warm", "CLI js model"],
        [e["js_cold"]["s"], e["ours_cold"]["s"], e["js_warm"]["s"], e["ours_warm"]["s"], e["cli_same_model"]["s"]],
        [OTHER, OURS, OTHER, OURS, BASE],
        "seconds per page",
    )
    q = r["ratios"]
    ax.set_title(
        f"4 Tesseract.js: {q['js_cold_to_ours_cold_time']['median']:.1f}x (1/process), "
        f"{q['js_warm_to_ours_warm_time']['median']:.1f}x (warm) our time",
        fontsize=10,
    )


def _threads(ax: Any, opts: Options) -> None:
    r = read_result(opts, "threads")
    if not r:
        return _empty(ax, "3 Threads")
    labels, stats, colors = [], [], []
    for name, label in (("all_cores", "2 cores"), ("one_vcpu_quota", "1 vCPU")):
        c = r["configs"].get(name, {})
        if "one_thread_s" in c:
            labels += [f"1 thread\n{label}", f"default\n{label}"]
            stats += [c["one_thread_s"], c["default_s"]]
            colors += [OURS, OTHER]
    _bars(ax, labels, stats, colors, "seconds per page (bare CLI)")
    ratio = r["configs"]["all_cores"]["ratio_default_to_one"]["median"]
    ax.set_title(f"3 Threads: default OpenMP {ratio:.1f}x slower than 1 (shipped)", fontsize=10)


def _indexing(ax: Any, opts: Options) -> None:
    r = read_result(opts, "indexing")
    if not r:
        return _empty(ax, "5 Indexing")
    rates = r["rates"]
    names = ["handler", "library", "bare", "bare_batched"]
    labels = ["indexer\nhandler", "lib only", "bare bulk\n(per page)", "bare bulk\n(batched)"]
    values = [rates[n]["pages_per_s"] for n in names]
    ax.bar(labels, values, color=[OURS, OURS, BASE, BASE])
    for i, v in enumerate(values):
        ax.annotate(f"{v:.3g}", (i, v), ha="center", va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
    ax.set_ylabel("pages per second")
    ax.tick_params(axis="x", labelsize=8)
    ax.set_title(
        f"5 Indexing: handler {r['ratio_to_bare']['handler']:.2f}, lib {r['ratio_to_bare']['library']:.2f} of bare "
        "(target ≥ 0.9)",
        fontsize=10,
    )


def _search(ax: Any, opts: Options) -> None:
    r = read_result(opts, "index_layout")
    if not r or "ratios_to_lines" not in r:
        return _empty(ax, "6 Search")
    # Each query's median in each layout, side by side: the shipped page documents against the previous lines.
    queries = list(r["queries"])
    layouts = [("lines", BASE), ("pages", OURS), ("hybrid", ALT)]
    width = 0.8 / len(layouts)
    for k, (name, color) in enumerate(layouts):
        medians = [r["layouts"][name]["query_ms"][q]["median"] for q in queries]
        ax.bar([i + (k - 1) * width for i in range(len(queries))], medians, width=width, color=color, label=name)
    ax.set_yscale("log")
    ax.set_xticks(range(len(queries)), [q.replace("_", "\n") for q in queries], fontsize=7)
    ax.set_ylabel("ms per query, median (log)")
    ax.legend(fontsize=8)
    rate = r["ratios_to_lines"]["pages"]["indexing_pages_per_s"]
    ax.set_title(f"6 Search, {r['pages']:,} pages: page docs vs lines (v1); indexing {rate:.1f}x", fontsize=10)


def _cold_start(ax: Any, opts: Options) -> None:
    r = read_result(opts, "cold_start")
    if not r or "whole_process" not in r:
        return _empty(ax, "7 Cold start")
    shipped = r["whole_process"]["shipped"]["until_imported_ms"]
    compiled = r["whole_process"]["compiled"]["until_imported_ms"]
    _bars(
        ax,
        ["boto3", "ocr\nas shipped", "ocr\n.pyc", "indexer\nas shipped", "indexer\n.pyc"],
        [shipped["boto3"], *(state[m] for m in ("handlers.ocr", "handlers.indexer") for state in (shipped, compiled))],
        [BASE, OURS, ALT, OURS, ALT],
        "ms, spawn until imported (whole process)",
    )
    added = r["added_to_boto3_ms"]
    ax.set_title(
        f"7 Cold start: +{added['handlers.ocr']:.0f} / +{added['handlers.indexer']:.0f} ms over boto3 "
        f"(target ≤ +{r['target']['max_added_ms']})",
        fontsize=10,
    )


def _cost(ax: Any, opts: Options) -> None:
    r = read_result(opts, "cost")
    if not r or not r.get("headline"):
        return _empty(ax, "9 Cost")
    h = r["headline"]
    labels = ["ours\nx86_64", "ours\narm64", "bare CLI\nx86_64", "Textract"]
    values = [
        h["total_x86_64"],
        h["total_x86_64"] - h["ocr_x86_64"] + h["ocr_arm64"],
        h["bare_x86_64"] + h["requests_s3_sns"] + (h["indexer_x86_64"] or 0),
        h["textract"],
    ]
    colors = [OURS, OURS, BASE, OTHER]
    js = r.get("tesseractjs_compute_per_million_pages")
    if js:
        labels.insert(3, "Tesseract.js\n1/process")
        values.insert(3, js["one_page_per_process_x86_64"] + h["requests_s3_sns"] + (h["indexer_x86_64"] or 0))
        colors.insert(3, OTHER)
    ax.bar(labels, values, color=colors)
    ax.set_yscale("log")
    for i, v in enumerate(values):
        ax.annotate(
            f"${v:,.0f}", (i, v), ha="center", va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points"
        )
    ax.set_ylabel("$ per million pages (log)")
    ax.tick_params(axis="x", labelsize=8)
    ax.set_title(f"9 Cost at {h['memory_mb']} MB incl. requests, S3, SNS (not OpenSearch)", fontsize=10)
