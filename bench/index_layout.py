"""Part 6's first question, index layout: line documents (v1, the previous layout), page documents (shipped), or both.

Each layout gets its own OpenSearch API server, so one layout's heap and
garbage collections never slow another's requests, and the server's memory
after indexing is that layout's. The same page JSON (copies of the real pages'
OCR output under distinct books, bench.corpus) goes to all three:

- **indexing rate**, in interleaved rounds: page by page, one bulk request a
  page (as the indexer sends it), the layouts taking turns in rotated order,
  so load from elsewhere hits them alike; documents and bulk bytes (raw and
  gzip, which the client sends) counted from the same requests;
- **filling** every index to at least 2,000 pages in large bulk requests
  (timed too: each layout's best rate on this server);
- **query latency** of five queries, each layout running the same query next
  to the others, rotated round after round: a word, two words far apart on a
  page (a line cannot hold both: what each layout returns is reported), a
  phrase, a misspelt word, a phrase within one book. Each layout answers with
  its own code, highlighting and word boxes included.

Called by the search part (bench.search), which owns the servers and reuses
the page-document index; written to index_layout.json.
"""

from __future__ import annotations

import gzip
import itertools
import time
from typing import Any

from bench import corpus
from bench.layouts import LAYOUTS, Answer
from bench.log import log
from bench.stats import summary

INDEX = "layout"
NAMES = tuple(LAYOUTS)  # lines, pages, hybrid
# Both layouts can answer these; two_words_far only the page-level ones.
COMPARABLE = ("word", "phrase", "fuzzy_word", "book_filtered_phrase")


def queries(docs: dict[str, dict[str, Any]], book: str) -> dict[str, tuple[str, str | None]]:
    picked = corpus.pick_queries(docs)
    return {
        "word": (picked["word"], None),
        "two_words_far": (picked["far"], None),
        "phrase": (picked["phrase"], None),
        "fuzzy_word": (picked["fuzzy"], None),
        "book_filtered_phrase": (picked["phrase"], book),
    }


def _copy(docs: dict[str, dict[str, Any]], copy: int, stem: str) -> dict[str, Any]:
    return corpus.renamed(docs[stem], f"book{copy:03d}", stem)


def _rotated(items: tuple[str, ...] | list[str], n: int) -> list[str]:
    k = n % len(items)
    return list(items[k:]) + list(items[:k])


def index_in_rounds(clients: dict[str, Any], docs: dict[str, Any], pages: list[Any], rounds: int) -> dict[str, Any]:
    """Copies 0..rounds-1 of every page, one bulk request per page and layout, layouts rotated page by page."""
    from opensearchpy import helpers

    stats = {name: {"documents": 0, "body_bytes": 0, "body_gzip_bytes": 0, "seconds": [], "pages": 0} for name in NAMES}
    for n, (copy, page) in enumerate(itertools.product(range(rounds), pages)):
        document = _copy(docs, copy, page.stem)
        for name in _rotated(NAMES, n):
            actions = LAYOUTS[name].actions(document, corpus.version(f"book{copy:03d}", page.stem))
            body = corpus.bulk_body(actions)
            started = time.perf_counter()
            helpers.bulk(clients[name], actions, index=INDEX, chunk_size=len(actions) + 1, max_chunk_bytes=2**28)
            s = stats[name]
            s["seconds"].append(time.perf_counter() - started)
            s["documents"] += len(actions)
            s["body_bytes"] += len(body)
            s["body_gzip_bytes"] += len(gzip.compress(body, 6))
            s["pages"] += 1
    return stats


def fill(clients: dict[str, Any], docs: dict[str, Any], pages: list[Any], first: int, last: int) -> dict[str, Any]:
    """Copies first..last-1 into every layout in bulk requests of up to 2,000 documents or 16 MB, timed."""
    from opensearchpy import helpers

    out = {}
    for name in NAMES:
        actions = [
            action
            for copy in range(first, last)
            for page in pages
            for action in LAYOUTS[name].actions(_copy(docs, copy, page.stem), corpus.version("b", page.stem))
        ]
        started = time.perf_counter()
        helpers.bulk(clients[name], actions, index=INDEX, chunk_size=2000, max_chunk_bytes=16 * 2**20)
        elapsed = time.perf_counter() - started
        pages_filled = (last - first) * len(pages)
        out[name] = {"pages": pages_filled, "documents": len(actions), "seconds": round(elapsed, 2)}
        out[name]["pages_per_s"] = round(pages_filled / elapsed, 1) if elapsed else None
    return out


def time_queries(
    clients: dict[str, Any], asked: dict[str, tuple[str, str | None]], rounds: int, warmup: int = 2
) -> tuple[dict[str, dict[str, list[float]]], dict[str, dict[str, Answer]]]:
    """Every query in every layout, the layouts of one query back to back, both orders rotated each round."""
    times: dict[str, dict[str, list[float]]] = {name: {q: [] for q in asked} for name in NAMES}
    answers: dict[str, dict[str, Answer]] = {name: {} for name in NAMES}
    for r in range(rounds + warmup):
        for query in _rotated(list(asked), r):
            text, book = asked[query]
            for name in _rotated(NAMES, r + len(query)):
                started = time.perf_counter()
                answer = LAYOUTS[name].search(clients[name], INDEX, text, book)
                elapsed = (time.perf_counter() - started) * 1000
                if r >= warmup:
                    times[name][query].append(elapsed)
                answers[name][query] = answer
    return times, answers


def _holds_all(document: dict[str, Any], words: list[str]) -> bool:
    from lib.page_json import iter_lines

    found = {
        w["text"].lower().strip(".,;:!?\"'()") for _, _, line in iter_lines(document["blocks"]) for w in line["words"]
    }
    return all(w.lower() in found for w in words)


def compare(
    clients: dict[str, Any], rss_mb: Any, docs: dict[str, Any], pages: list[Any], copies: int, quick: bool
) -> dict[str, Any]:
    """The whole comparison; ``rss_mb(name)`` reads a layout's server's resident memory."""
    rounds = 2 if quick else 8
    for name in NAMES:
        LAYOUTS[name].create(clients[name], INDEX)
    log(f"layouts: {rounds * len(pages)} pages per layout in interleaved per-page requests")
    indexed = index_in_rounds(clients, docs, pages, rounds)
    log(f"layouts: filling each index to {copies * len(pages)} pages")
    filled = fill(clients, docs, pages, rounds, copies)
    asked = queries(docs, f"book{copies // 2:03d}")
    query_rounds = 3 if quick else 30
    log(f"layouts: {query_rounds} rounds of {len(asked)} queries in each layout")
    times, answers = time_queries(clients, asked, query_rounds)
    far_words = asked["two_words_far"][0].split()
    stems = {p.stem for p in pages}
    layouts = {}
    for name in NAMES:
        s = indexed[name]
        seconds = sum(s["seconds"])
        far = answers[name]["two_words_far"]
        layouts[name] = {
            "label": LAYOUTS[name].label,
            "documents_per_page": round(s["documents"] / s["pages"], 1),
            "bytes_per_page": round(s["body_bytes"] / s["pages"]),
            "gzip_bytes_per_page": round(s["body_gzip_bytes"] / s["pages"]),
            "indexing": {
                "pages": s["pages"],
                "pages_per_s": round(s["pages"] / seconds, 2),
                "per_page_ms": summary([t * 1000 for t in s["seconds"]], 2),
            },
            "fill": filled[name],
            "index_documents": clients[name].count(index=INDEX)["count"],
            "server_rss_mb": rss_mb(name),
            "query_ms": {q: summary(v, 2) for q, v in times[name].items()},
            "answers": {
                q: {"total": a.total, "hits": len(a.pages), "boxed_words": a.boxed_words}
                for q, a in answers[name].items()
            },
            "two_words_far_hits_holding_both": sum(
                1 for book, page in far.pages if page in stems and _holds_all(docs[page], far_words)
            ),
        }
    return {
        "what": "index layouts side by side over the same pages, each in its own osmem-server: per-page bulk "
        "requests in interleaved rounds, then filled in large bulks, then five queries with each layout's own "
        "search code (highlighting and word boxes), layouts and queries rotated",
        "pages": copies * len(pages),
        "pages_indexed_in_rounds": rounds * len(pages),
        "query_rounds": query_rounds,
        "queries": {q: {"text": text, "book": book} for q, (text, book) in asked.items()},
        "layouts": layouts,
        "ratios_to_lines": {
            name: _ratios(layouts[name], layouts["lines"], times, name) for name in ("pages", "hybrid")
        },
        "target": _target(layouts, times),
    }


def _paired(times: dict[str, dict[str, list[float]]], name: str, query: str) -> dict[str, Any]:
    """Per round, this layout's time over the line layout's on the same query next to it."""
    return summary([a / b for a, b in zip(times[name][query], times["lines"][query], strict=True)], 3)


def _ratios(mine: dict[str, Any], lines: dict[str, Any], times: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "documents": round(mine["documents_per_page"] / lines["documents_per_page"], 3),
        "body_bytes": round(mine["bytes_per_page"] / lines["bytes_per_page"], 3),
        "body_gzip_bytes": round(mine["gzip_bytes_per_page"] / lines["gzip_bytes_per_page"], 3),
        "indexing_pages_per_s": round(mine["indexing"]["pages_per_s"] / lines["indexing"]["pages_per_s"], 3),
        "query_ms_paired": {q: _paired(times, name, q) for q in COMPARABLE},
    }


def _target(layouts: dict[str, Any], times: dict[str, Any]) -> dict[str, Any]:
    """Page documents no worse than lines: indexing rate, and median and p95 latency of every query both answer."""
    pages, lines = layouts["pages"], layouts["lines"]
    indexing = pages["indexing"]["pages_per_s"] >= lines["indexing"]["pages_per_s"]
    latency = {
        q: pages["query_ms"][q]["median"] <= lines["query_ms"][q]["median"]
        and pages["query_ms"][q].get("p95", 0) <= lines["query_ms"][q].get("p95", 0)
        for q in COMPARABLE
    }
    return {"indexing_met": indexing, "latency_met": latency, "met": indexing and all(latency.values())}
