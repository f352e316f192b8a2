"""The summary table's rows of the search parts: index layout, search latency and overhead, search quality."""

from __future__ import annotations

from typing import Any

from bench.results import Options, read_result

SHORT = {"lines": "lines (v1)", "pages": "pages (shipped)", "hybrid": "pages + lines"}


def _size(x: dict[str, Any]) -> str:
    """Documents and bulk KB per page, gzip in brackets."""
    return f"{x['documents_per_page']:.0f}, {x['bytes_per_page'] / 1024:.0f} ({x['gzip_bytes_per_page'] / 1024:.1f})"


def _ms(s: dict[str, Any]) -> str:
    return f"{s['median']:.1f} ({s.get('p95', s['max']):.1f})"


def layout_rows(add: Any, opts: Options) -> None:
    r = read_result(opts, "index_layout")
    if not r or "ratios_to_lines" not in r:
        return
    layouts, ratios = r["layouts"], r["ratios_to_lines"]
    lines, pages = layouts["lines"], layouts["pages"]
    part = f"6 Index layout ({r['pages']} pages)"
    add(
        part,
        "documents, bulk KB per page (gzip)",
        "; ".join(f"{SHORT[n]} {_size(x)}" for n, x in layouts.items() if n != "lines"),
        f"lines {_size(lines)}",
        "{documents:.3f}, {body_bytes:.2f} ({body_gzip_bytes:.2f})".format(**ratios["pages"]),
    )
    add(
        part,
        "indexing, pages/s (one request a page, interleaved)",
        "; ".join(f"{SHORT[n]} {x['indexing']['pages_per_s']:.1f}" for n, x in layouts.items() if n != "lines"),
        f"lines {lines['indexing']['pages_per_s']:.1f}",
        f"{ratios['pages']['indexing_pages_per_s']:.2f}",
        "pages ≥ lines",
        "met" if r["target"]["indexing_met"] else "**missed**",
    )
    add(
        part,
        "server memory after filling (RSS)",
        "; ".join(f"{SHORT[n]} {x['server_rss_mb']:.0f} MB" for n, x in layouts.items() if n != "lines"),
        f"lines {lines['server_rss_mb']:.0f} MB",
    )
    for query, asked in r["queries"].items():
        text = asked["text"] + (f" in {asked['book']}" if asked["book"] else "")
        paired = ratios["pages"]["query_ms_paired"].get(query)
        met = r["target"]["latency_met"].get(query)
        add(
            part,
            f"{query.replace('_', ' ')} `{text}`: ms median (p95)",
            "; ".join(f"{SHORT[n]} {_ms(x['query_ms'][query])}" for n, x in layouts.items() if n != "lines"),
            f"lines {_ms(lines['query_ms'][query])}"
            + ("" if paired else f"; lines found {lines['two_words_far_hits_holding_both']} pages with both"),
            f"{paired['median']:.2f}" if paired else f"pages found {pages['answers'][query]['total']}",
            "pages ≤ lines" if paired else "",
            ("met" if met else "**missed**") if paired else "",
        )


def search_rows(add: Any, opts: Options) -> None:
    r = read_result(opts, "search")
    if not r:
        return
    for name, s in r["latency_ms"].items():
        query = r["queries"][name]
        add(
            "6 Search",
            f"{name.replace('_', ' ')} `{query['text']}` ({r['index']['pages']} pages)",
            f"p50 {s['median']:.1f} ms, p95 {s['p95']:.1f} ms",
            f"bare request p50 {r['bare_request_ms'][name]['median']:.1f} ms" if "bare_request_ms" in r else "",
        )
    overhead = r.get("overhead")
    if overhead:
        for way, o in overhead["added_to_bare"].items():
            every, target = o["all_queries"], overhead["target"]
            added = every["added_ms"]
            add(
                "6 Search",
                f"`lib.search.query.search` ({way}) over the bare request it makes, all queries",
                f"{added['median']:+.1f} ms ({added['min']:+.1f} to {added['max']:+.1f})",
                "bare `client.search`, same body",
                f"{every['ratio']['median']:.2f}",
                f"≤ +{target['max_added_ms']:.0f} ms or ≤ {target['or_max_ratio']}x",
                "met" if o["target_met"] else "**missed**",
            )


def quality_rows(add: Any, opts: Options) -> None:
    r = read_result(opts, "search_quality")
    if not r:
        return
    settings, target = r["settings"], r["target"]
    exact = settings["exact"]["all_word_queries"]
    labels = {"exact": "", r["shipped"]: "shipped"}
    for key, label in (("best", "best constant"), ("best_with_fallback", "best with a fallback")):
        if target.get(key):
            labels[target[key]] = ", ".join(filter(None, [labels.get(target[key]), label]))
    for name, label in labels.items():
        s = settings[name]
        every = s["all_word_queries"]
        add(
            "6 Search quality",
            f"{name}{f' ({label})' if label else ''}: recall, precision ({every['queries']} word queries)",
            f"{every['recall']:.4f}, {every['precision']:.3f}",
            f"exact {exact['recall']:.4f}, {exact['precision']:.3f}",
            "precision, 6+ letters {:.3f}; 3-5 letters {:.3f}".format(
                s["words_6_plus"]["precision"], s["words_3_to_5"]["precision"]
            ),
            f"recall > exact, precision ≥ {target['min_precision_every_set']}" if name != "exact" else "",
            ("met" if name in target["settings_meeting"] else "**missed**") if name != "exact" else "",
        )
    shipped = settings[r["shipped"]]
    add(
        "6 Search quality",
        f"`fox` finds ({r['shipped']}, shipped)",
        ", ".join(shipped["fox_finds"]) or "nothing",
        "",
        "",
        "no page without fox",
        "met" if shipped["fox_finds_only_fox"] else "**missed**",
    )
