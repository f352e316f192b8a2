"""Part 6, search: latency of lib.search.search over an index of at least 2,000 real pages.

The index holds copies of the real pages' JSON under distinct books (19 pages
per book), built with our own documents and mapping (lib.search_index) in large
bulk requests. Four queries the users type: a frequent word, a phrase, the
word misspelt (fuzzy), and the phrase within one book; highlighting on, as
lib.search.search always asks for it. The queries take turns, round after
round, so load from elsewhere hits them alike; the time is the caller's, from
the query text to formatted hits.
"""

from __future__ import annotations

import math
import time
from typing import Any

from bench import corpus
from bench.log import log
from bench.pages import select_pages
from bench.results import Options, write_result
from bench.services import opensearch_client, opensearch_server
from bench.stats import summary

PART = "search"
INDEX = "bench-search"
MIN_PAGES = 2000


def build_index(client: Any, docs: dict[str, dict[str, Any]], pages: list[Any], copies: int) -> dict[str, Any]:
    from opensearchpy import helpers

    from lib.index.documents import index_documents, replace_actions
    from lib.index.store import ensure_index
    from lib.versions import SourceVersion

    ensure_index(client, INDEX)

    def actions() -> Any:
        for copy in range(copies):
            for page in pages:
                book = f"book{copy:03d}"
                version = SourceVersion(key=f"{book}/{page.stem}.json", event_time="2026-01-01T00:00:00.000Z")
                built = index_documents(corpus.renamed(docs[page.stem], book, page.stem), version, "2026-01-01")
                yield from replace_actions(built, None)

    started = time.perf_counter()
    ok, _ = helpers.bulk(client, actions(), index=INDEX, chunk_size=2000, max_chunk_bytes=16 * 2**20)
    elapsed = time.perf_counter() - started
    lines = client.count(index=INDEX, body={"query": {"term": {"kind": "line"}}})["count"]
    return {"pages": copies * len(pages), "documents": ok, "line_documents": lines, "build_s": round(elapsed, 1)}


def run(opts: Options) -> dict[str, Any]:
    from lib.search.query import search

    pages = select_pages(opts.quick)
    docs = corpus.documents(pages)
    target_pages = 40 if opts.quick else MIN_PAGES
    copies = math.ceil(target_pages / len(pages))
    rounds = 5 if opts.quick else 100
    picked = corpus.pick_queries(docs)
    book = f"book{copies // 2:03d}"
    queries = {
        "word": (picked["word"], None),
        "phrase": (picked["phrase"], None),
        "fuzzy_word": (picked["fuzzy"], None),
        "book_filtered_phrase": (picked["phrase"], book),
    }
    latencies: dict[str, list[float]] = {name: [] for name in queries}
    hits: dict[str, int] = {}
    work = opts.work / PART
    work.mkdir(parents=True, exist_ok=True)
    with opensearch_server(work) as opensearch_url:
        client = opensearch_client(opensearch_url)
        log(f"{PART}: indexing {copies * len(pages)} pages")
        index = build_index(client, docs, pages, copies)
        log(f"{PART}: {index['documents']} documents in {index['build_s']} s; {rounds} rounds of queries")
        names = list(queries)
        for r in range(rounds + 3):
            # Rotate which query goes first each round.
            for name in names[r % len(names) :] + names[: r % len(names)]:
                text, in_book = queries[name]
                started = time.perf_counter()
                found = search(client, INDEX, text, book=in_book, limit=10)
                elapsed = (time.perf_counter() - started) * 1000
                if r >= 3:  # three warm-up rounds
                    latencies[name].append(elapsed)
                hits[name] = found["total"]
                if not found["hits"]:
                    raise RuntimeError(f"query {name} ({text!r}) found nothing: the benchmark would time a miss")
    result = {
        "what": "lib.search.search (highlighting on, 10 hits) over copies of the real pages under distinct books, "
        "queries in rotation",
        "index": index,
        "rounds": rounds,
        "queries": {
            name: {"text": text, "book": in_book, "total_hits": hits[name]} for name, (text, in_book) in queries.items()
        },
        "latency_ms": {name: summary(values, 2) for name, values in latencies.items()},
        "note": "each call is two requests: indices.exists, then the search (lib.search.search checks the index first)",
    }
    write_result(opts, PART, result)
    return result
