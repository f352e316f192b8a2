"""Part 6, search: the index layout (line vs page documents) and the shipped search's latency, over 2,000 pages.

Copies of the real pages' JSON (bench.corpus) under distinct books, 19 pages a
book, go into one OpenSearch API server per layout (bench.index_layout:
indexing rate, documents, bytes, memory and query latency of each, side by
side, written to index_layout.json). Then, over the page-document index the
shipped code reads, five queries users type, round after round in rotation:
``lib.search.query.search`` (highlighting and word boxes, 10 pages) against
the bare OpenSearch request it makes, next to each other
(bench.search_overhead): the latency, and what our code adds to the request.
"""

from __future__ import annotations

import math
from typing import Any

from bench import corpus, index_layout, search_overhead
from bench.log import log
from bench.pages import select_pages
from bench.results import Options, write_result
from bench.services import opensearch_client, opensearch_servers, resident_mb

PART = "search"
MIN_PAGES = 2000


def run(opts: Options) -> dict[str, Any]:
    pages = select_pages(opts.quick)
    docs = corpus.documents(pages)
    copies = math.ceil((40 if opts.quick else MIN_PAGES) / len(pages))
    rounds = 5 if opts.quick else 100
    work = opts.work / PART
    work.mkdir(parents=True, exist_ok=True)
    with opensearch_servers(work, index_layout.NAMES) as servers:
        clients = {name: opensearch_client(server.url) for name, server in servers.items()}
        layout = index_layout.compare(
            clients, lambda name: round(resident_mb(servers[name].pid), 1), docs, pages, copies, opts.quick
        )
        write_result(opts, "index_layout", layout)
        asked = index_layout.queries(docs, f"book{copies // 2:03d}")
        log(f"{PART}: {rounds} rounds of {len(asked)} queries, lib.search.query.search and the bare request")
        measured = search_overhead.measure(clients["pages"], index_layout.INDEX, asked, rounds)
    result = {
        "what": "lib.search.query.search (highlighting and word boxes, 10 pages) over page documents of copies of "
        "the real pages under distinct books, against the bare OpenSearch request it makes, interleaved",
        "index": {
            "pages": copies * len(pages),
            "documents": layout["layouts"]["pages"]["index_documents"],
            "layout": "pages",
        },
        "rounds": rounds,
        "queries": {
            q: {"text": text, "book": book, "total_pages": measured["totals"].get(q)}
            for q, (text, book) in asked.items()
        },
        "latency_ms": measured["latency_ms"]["function"],
        "bare_request_ms": measured["latency_ms"]["bare"],
        "overhead": {k: measured[k] for k in ("added_to_bare", "breakdown_ms", "target")},
    }
    write_result(opts, PART, result)
    return result
