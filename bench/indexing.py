"""Part 5, indexing: pages and words per second into the OpenSearch API server, ours against a bare bulk.

Copies of the real pages' JSON (made once by our OCR core, bench.corpus) under
distinct books go three ways, rotated page by page in one warm worker:

- ``handler``: the indexer function end to end (S3 event in, page JSON read
  from moto S3 and validated, the page's previous version looked up, one bulk);
- ``library``: lib.search_index alone, no S3 (previous version, documents, replace_actions, run_bulk);
- ``bare``: the same documents, built before the clock starts, sent by a bare
  ``opensearchpy.helpers.bulk`` in one request per page.

``bare_batched`` (all pages in requests of 1,000 documents) is the server's
best rate, for reference. The index-layout comparison the indexer issue asks
for (line documents carrying word boxes, as shipped, against line documents
plus one document per word) is written to index_layout.json.
"""

from __future__ import annotations

import gzip
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


def _version(book: str, page: str) -> Any:
    from lib.versions import SourceVersion

    return SourceVersion(key=f"{book}/{page}.json", event_time="2026-01-01T00:00:00.000Z", sequencer="01", etag="x")


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
        layout = _layouts(opensearch_url, docs, pages, 2 if opts.quick else 5)
    rates = {way: _rates(times[way], words[way]) for way in WAYS}
    rates["bare_batched"] = batched
    per_page_ratio = {
        way: summary([b / t for t, b in zip(times[way], times["bare"], strict=True)], 3)
        for way in ("handler", "library")
    }
    handler_ratio = rates["handler"]["pages_per_s"] / rates["bare"]["pages_per_s"]
    library_ratio = rates["library"]["pages_per_s"] / rates["bare"]["pages_per_s"]
    result = {
        "what": "page JSON into the OpenSearch API server (osmem-server): the indexer handler, lib.search_index alone, "
        "and a bare helpers.bulk of the same documents, one request per page, rotated page by page",
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
    write_result(opts, "index_layout", layout)
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
    """The server's best: every page's documents in bulk requests of 1,000 documents."""
    from opensearchpy import helpers

    from lib.index.documents import index_documents, replace_actions
    from lib.index.store import ensure_index

    client = opensearch_client(url)
    ensure_index(client, "bench-batched")
    actions, words = [], 0
    for copy in range(copies):
        for page in pages:
            built = index_documents(
                corpus.renamed(docs[page.stem], f"x{copy:03d}", page.stem), _version("x", page.stem), "2026-01-01"
            )
            actions.extend(replace_actions(built, None))
            words += sum(len(d["words"]) for d in built.lines)
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


# --------------------------------------------------------------------------- index layouts

WORD_INDEX = "layout-words"
LINE_INDEX = "layout-lines"


def _word_layout(built: Any) -> list[dict[str, Any]]:
    """Line documents without word boxes, plus one document per word with its box."""
    actions = []
    common = {k: built.record[k] for k in ("book", "page", "page_id", "page_number")}
    for line in built.lines:
        slim = {k: v for k, v in line.items() if k != "words"}
        if "next" in slim:
            slim["next"] = {k: v for k, v in slim["next"].items() if k != "words"}
        actions.append({"_id": f"{built.pid}-{line['line']}", "_source": slim})
        for n, word in enumerate(line["words"], start=1):
            actions.append(
                {
                    "_id": f"{built.pid}-{line['line']}-w{n}",
                    "_source": {
                        **common,
                        "kind": "word",
                        "line": line["line"],
                        "word": n,
                        "text": word["text"],
                        "bbox": word["bbox"],
                    },
                }
            )
    actions.append({"_id": f"{built.pid}-page", "_source": {**built.record, "high_water": len(built.lines)}})
    return actions


def _line_layout(built: Any) -> list[dict[str, Any]]:
    from lib.index.documents import replace_actions

    return list(replace_actions(built, None))


def _body_bytes(actions: list[dict[str, Any]]) -> tuple[int, int]:
    """Bytes of the NDJSON bulk body, raw and gzip-compressed (the client sends it compressed)."""
    lines = []
    for action in actions:
        meta = {action.get("_op_type", "index"): {"_id": action["_id"]}}
        lines.append(json.dumps(meta, separators=(",", ":")))
        if "_source" in action:
            lines.append(json.dumps(action["_source"], ensure_ascii=False, separators=(",", ":")))
    body = ("\n".join(lines) + "\n").encode()
    return len(body), len(gzip.compress(body, 6))


def _word_query(client: Any, index: str, word: str) -> int:
    """Words layout: the word documents (boxes), then their lines for the text around them."""
    response = client.search(
        index=index,
        body={
            "size": 10,
            "query": {
                "bool": {
                    "must": [{"match": {"text": {"query": word, "fuzziness": "AUTO"}}}],
                    "filter": [{"term": {"kind": "word"}}],
                }
            },
        },
    )
    hits = response["hits"]["hits"]
    _line_docs(client, index, [(h["_source"]["page_id"], h["_source"]["line"]) for h in hits])
    return len(hits)


def _phrase_query(client: Any, index: str, phrase: str) -> int:
    """Words layout: the matching lines (highlighted), then the word documents of those lines for boxes."""
    response = client.search(
        index=index,
        body={
            "size": 10,
            "query": {
                "bool": {
                    "should": [{"match_phrase": {"text": phrase}}, {"match_phrase": {"text_pair": phrase}}],
                    "minimum_should_match": 1,
                    "filter": [{"term": {"kind": "line"}}],
                }
            },
            "highlight": {"fields": {"text": {"number_of_fragments": 0}}},
        },
    )
    hits = response["hits"]["hits"]
    keys = [(h["_source"]["page_id"], h["_source"]["line"]) for h in hits]
    if keys:
        client.search(
            index=index,
            body={
                "size": 1000,
                "query": {
                    "bool": {
                        "filter": [{"term": {"kind": "word"}}],
                        "should": [
                            {"bool": {"filter": [{"term": {"page_id": p}}, {"term": {"line": n}}]}} for p, n in keys
                        ],
                        "minimum_should_match": 1,
                    }
                },
            },
        )
    return len(hits)


def _line_docs(client: Any, index: str, keys: list[tuple[str, int]]) -> None:
    if keys:
        client.mget(index=index, body={"ids": [f"{p}-{n}" for p, n in keys]})


def _layouts(url: str, docs: dict[str, dict[str, Any]], pages: list[Any], copies: int) -> dict[str, Any]:
    from opensearchpy import helpers

    from lib.index.documents import INDEX_MAPPINGS, INDEX_SETTINGS, index_documents
    from lib.index.store import ensure_index
    from lib.search.query import search

    client = opensearch_client(url)
    ensure_index(client, LINE_INDEX)
    word_mappings = json.loads(json.dumps(INDEX_MAPPINGS))
    word_mappings["properties"]["word"] = {"type": "integer"}
    client.indices.create(index=WORD_INDEX, body={"settings": INDEX_SETTINGS, "mappings": word_mappings})
    build = {"lines": (_line_layout, LINE_INDEX), "lines_and_words": (_word_layout, WORD_INDEX)}
    stats: dict[str, dict[str, Any]] = {
        name: {"documents": 0, "body_bytes": 0, "body_gzip_bytes": 0, "seconds": 0.0} for name in build
    }
    n = 0
    for copy in range(copies):
        for page in pages:
            built = index_documents(
                corpus.renamed(docs[page.stem], f"y{copy:03d}", page.stem), _version("y", page.stem), "2026-01-01"
            )
            order = list(build) if n % 2 == 0 else list(reversed(build))
            for name in order:
                make, index = build[name]
                actions = make(built)
                raw, packed = _body_bytes(actions)
                started = time.perf_counter()
                helpers.bulk(client, actions, index=index, chunk_size=len(actions) + 1, max_chunk_bytes=256 * 2**20)
                stats[name]["seconds"] += time.perf_counter() - started
                stats[name]["documents"] += len(actions)
                stats[name]["body_bytes"] += raw
                stats[name]["body_gzip_bytes"] += packed
            n += 1
    queries = corpus.pick_queries(docs)
    word, phrase = queries["word"], queries["phrase"].strip('"')
    latencies: dict[str, dict[str, list[float]]] = {name: {"word": [], "phrase": []} for name in build}
    rounds = 3 if len(pages) < 5 else 30
    for r in range(rounds + 2):
        for name in build if r % 2 == 0 else reversed(list(build)):
            for kind, text in (("word", word), ("phrase", phrase)):
                started = time.perf_counter()
                if name == "lines":
                    search(client, LINE_INDEX, text if kind == "word" else f'"{text}"')
                elif kind == "word":
                    _word_query(client, WORD_INDEX, text)
                else:
                    _phrase_query(client, WORD_INDEX, text)
                if r >= 2:  # two warm-up rounds
                    latencies[name][kind].append((time.perf_counter() - started) * 1000)
    layouts = {}
    for name, s in stats.items():
        layouts[name] = {
            "documents": s["documents"],
            "documents_per_page": round(s["documents"] / n, 1),
            "body_bytes": s["body_bytes"],
            "body_gzip_bytes": s["body_gzip_bytes"],
            "bytes_per_page": round(s["body_bytes"] / n),
            "pages_per_s": round(n / s["seconds"], 2),
            "documents_per_s": round(s["documents"] / s["seconds"], 1),
            "query_ms": {kind: summary(values, 2) for kind, values in latencies[name].items()},
        }
    lines, words = layouts["lines"], layouts["lines_and_words"]
    return {
        "what": "the index layout we ship (one document per line, word boxes stored in it, not indexed) vs line "
        "documents plus one document per word; per-page bulk requests into osmem-server, alternating",
        "pages": n,
        "queries": {"word": word, "phrase": phrase},
        "query_method": "lines: lib.search.search (one request, highlighting); lines_and_words: word -> word "
        "documents then an mget of their lines; phrase -> line documents then a search for their words' boxes",
        "layouts": layouts,
        "ratios_words_layout_to_lines": {
            "documents": round(words["documents"] / lines["documents"], 2),
            "body_bytes": round(words["body_bytes"] / lines["body_bytes"], 2),
            "body_gzip_bytes": round(words["body_gzip_bytes"] / lines["body_gzip_bytes"], 2),
            "indexing_pages_per_s": round(words["pages_per_s"] / lines["pages_per_s"], 3),
            "word_query_median_ms": round(words["query_ms"]["word"]["median"] / lines["query_ms"]["word"]["median"], 2),
            "phrase_query_median_ms": round(
                words["query_ms"]["phrase"]["median"] / lines["query_ms"]["phrase"]["median"], 2
            ),
        },
        "memory_note": "osmem-server holds about 7 KB per document, so documents per page is also its memory per page",
        "decision": "lines (shipped)"
        if words["documents"] > lines["documents"] and words["pages_per_s"] <= lines["pages_per_s"]
        else "revisit",
    }
