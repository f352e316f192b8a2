"""Part 5, indexing: pages and words per second into the OpenSearch API server, ours against a bare bulk.

Copies of the real pages' JSON (made once by our OCR core, bench.corpus) under
distinct books go three ways, rotated page by page in one warm worker:

- ``handler``: the indexer function end to end (S3 event in, page JSON read
  from moto S3 and validated, the page's previous version looked up, one bulk);
- ``library``: lib.index alone, no S3 (the page's indexed version, its one
  page document, ``index_action`` and ``run_bulk``);
- ``bare``: the same document, built before the clock starts, sent by a bare
  ``opensearchpy.helpers.bulk`` in one request per page.

``bare_batched`` (all pages in requests of up to 1,000 documents or 8 MB) is
the server's best rate, for reference. The index layouts are compared by the
search part (bench.index_layout), which needs 2,000 pages of each anyway.
"""

from __future__ import annotations

import json
import time
from typing import Any

from bench import corpus
from bench.pages import select_pages
from bench.results import Options, write_result
from bench.services import RESULTS_BUCKET, moto_server, opensearch_client, opensearch_server, s3_client
from bench.stats import summary
from bench.worker_client import Worker, function_env
from pagesearch.lambda_local import s3_record

PART = "indexing"
TARGET_RATIO = 0.9
WAYS = ("handler", "library", "bare")


def _rates(times: list[float], words: list[int]) -> dict[str, Any]:
    total = sum(times)
    return {
        "pages": len(times),
        "seconds": round(total, 3),
        "pages_per_s": round(len(times) / total, 2),
        "words_per_s": round(sum(words) / total, 1),
        "per_page_ms": summary([t * 1000 for t in times], 2),
    }


def run(opts: Options) -> dict[str, Any]:
    pages = select_pages(opts.quick)
    copies = 3 if opts.quick else 11  # 19 pages x 11 = 209 pages per way
    work = opts.work / PART
    work.mkdir(parents=True, exist_ok=True)
    docs = corpus.documents(pages)
    paths = {p.stem: corpus.page_json(p) for p in pages}
    times: dict[str, list[float]] = {way: [] for way in WAYS}
    words: dict[str, list[int]] = {way: [] for way in WAYS}
    with moto_server(work) as aws, opensearch_server(work) as opensearch_url:
        s3 = s3_client(aws)
        env = function_env(aws, opensearch_url=opensearch_url, index="bench-handler")
        with Worker(env, work / "worker.log") as worker:
            # First calls (imports, clients, index creation) are not what is compared.
            first = pages[0]
            _put_and_invoke(s3, worker, docs[first.stem], "warmup", first.stem)
            worker.call(
                "index_lib", url=opensearch_url, index="bench-lib", doc_path=str(paths[first.stem]), book="w", page="w"
            )
            worker.call(
                "index_bare",
                url=opensearch_url,
                index="bench-bare",
                doc_path=str(paths[first.stem]),
                book="w",
                page="w",
            )
            items = [(copy, page) for copy in range(copies) for page in pages]
            profile = None
            for i, (copy, page) in enumerate(items):
                order = WAYS[i % 3 :] + WAYS[: i % 3]
                for way in order:
                    book = f"{way[0]}{copy:03d}"
                    if way == "handler":
                        answer = _put_and_invoke(s3, worker, docs[page.stem], book, page.stem)
                        count = answer["result"]["pages"][0]["words"]
                    else:
                        answer = worker.call(
                            f"index_{'lib' if way == 'library' else 'bare'}",
                            url=opensearch_url,
                            index=f"bench-{'lib' if way == 'library' else 'bare'}",
                            doc_path=str(paths[page.stem]),
                            book=book,
                            page=page.stem,
                        )
                        count = answer["words"]
                    times[way].append(answer["s"])
                    words[way].append(count)
            largest = max(pages, key=lambda p: docs[p.stem]["stats"]["words"])
            answer = _put_and_invoke(s3, worker, docs[largest.stem], "profile", largest.stem, profile=True)
            profile = {"page": largest.name, "handler_s": round(answer["s"], 4), "top_own_time": answer["profile"]}
        batched = _bare_batched(opensearch_url, docs, pages, copies)
    rates = {way: _rates(times[way], words[way]) for way in WAYS}
    rates["bare_batched"] = batched
    per_page_ratio = {
        way: summary([b / t for t, b in zip(times[way], times["bare"], strict=True)], 3)
        for way in ("handler", "library")
    }
    handler_ratio = rates["handler"]["pages_per_s"] / rates["bare"]["pages_per_s"]
    library_ratio = rates["library"]["pages_per_s"] / rates["bare"]["pages_per_s"]
    result = {
        "what": "page JSON into the OpenSearch API server (osmem-server): the indexer handler, lib.index alone, "
        "and a bare helpers.bulk of the same document, one request per page, rotated page by page",
        "pages_per_way": len(times["bare"]),
        "rates": rates,
        "ratio_to_bare": {
            "handler": round(handler_ratio, 3),
            "library": round(library_ratio, 3),
            "handler_per_page": per_page_ratio["handler"],
            "library_per_page": per_page_ratio["library"],
        },
        "target": {
            "min_ratio_to_bare": TARGET_RATIO,
            "library_met": library_ratio >= TARGET_RATIO,
            "handler_met": handler_ratio >= TARGET_RATIO,
        },
        "note": "osmem-server's refresh is a no-op: run_bulk's refresh=wait_for costs nothing here, but on a real "
        "OpenSearch domain it holds each invocation until the next refresh (index.refresh_interval, 1 s by default)",
        "profile": profile,
    }
    write_result(opts, PART, result)
    return result


def _put_and_invoke(
    s3: Any, worker: Worker, document: dict[str, Any], book: str, page: str, profile: bool = False
) -> dict[str, Any]:
    """Upload a page JSON (untimed, as the OCR function's output) and invoke the indexer on its S3 event."""
    key = f"{book}/{page}.json"
    body = json.dumps(corpus.renamed(document, book, page), ensure_ascii=False).encode()
    put = s3.put_object(Bucket=RESULTS_BUCKET, Key=key, Body=body)
    event = {"Records": [s3_record(RESULTS_BUCKET, key, etag=put["ETag"], size=len(body))]}
    return worker.invoke("indexer", event, profile=profile)


def _bare_batched(url: str, docs: dict[str, dict[str, Any]], pages: list[Any], copies: int) -> dict[str, Any]:
    """The server's best: every page's document in bulk requests of up to 1,000 documents or 8 MB."""
    from opensearchpy import helpers

    from lib.index.documents import page_document
    from lib.index.store import ensure_index

    client = opensearch_client(url)
    ensure_index(client, "bench-batched")
    actions, words = [], 0
    for copy in range(copies):
        for page in pages:
            doc = page_document(
                corpus.renamed(docs[page.stem], f"x{copy:03d}", page.stem), corpus.version("x", page.stem), "2026-01-01"
            )
            actions.append({"_id": doc.pid, "_source": doc.body})
            words += doc.body["stats"]["words"]
    started = time.perf_counter()
    helpers.bulk(client, actions, index="bench-batched", chunk_size=1000, max_chunk_bytes=8 * 2**20)
    elapsed = time.perf_counter() - started
    n = copies * len(pages)
    return {
        "pages": n,
        "documents": len(actions),
        "seconds": round(elapsed, 3),
        "pages_per_s": round(n / elapsed, 2),
        "words_per_s": round(words / elapsed, 1),
        "documents_per_s": round(len(actions) / elapsed, 1),
    }
