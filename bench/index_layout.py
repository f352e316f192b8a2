"""Part 5's second question, index layout: line documents carrying their words' boxes (shipped) or one per word.

Per page, the same documents go to two indices of the OpenSearch API server
in alternating order: one document per line with its words' boxes stored in
it, as lib.index.documents builds them, against line documents without boxes
plus one document per word. Documents, bulk body bytes (raw and gzip, which
the client sends), indexing rate, and the latency of a word and a phrase query
answered with boxes in each layout. Called by the indexing part, which owns
the server; written to index_layout.json.
"""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

from bench import corpus
from bench.services import opensearch_client
from bench.stats import summary

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
    body = corpus.bulk_body(actions)
    return len(body), len(gzip.compress(body, 6))


def _kind_hits(client: Any, index: str, kind: str, size: int = 10, **request: Any) -> list[dict[str, Any]]:
    """The hits among one kind of document (``line`` or ``word``) for a bool query; ``highlight`` passes through."""
    highlight = request.pop("highlight", None)
    body: dict[str, Any] = {"size": size, "query": {"bool": {**request, "filter": [{"term": {"kind": kind}}]}}}
    if highlight:
        body["highlight"] = highlight
    return client.search(index=index, body=body)["hits"]["hits"]


def _line_keys(hits: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(h["_source"]["page_id"], h["_source"]["line"]) for h in hits]


def _word_query(client: Any, index: str, word: str) -> int:
    """Words layout: the word documents (boxes), then their lines for the text around them."""
    hits = _kind_hits(client, index, "word", must=[{"match": {"text": {"query": word, "fuzziness": "AUTO"}}}])
    _line_docs(client, index, _line_keys(hits))
    return len(hits)


def _phrase_query(client: Any, index: str, phrase: str) -> int:
    """Words layout: the matching lines (highlighted), then the word documents of those lines for boxes."""
    hits = _kind_hits(
        client,
        index,
        "line",
        should=[{"match_phrase": {"text": phrase}}, {"match_phrase": {"text_pair": phrase}}],
        minimum_should_match=1,
        highlight={"fields": {"text": {"number_of_fragments": 0}}},
    )
    keys = _line_keys(hits)
    if keys:
        _kind_hits(
            client,
            index,
            "word",
            size=1000,
            should=[{"bool": {"filter": [{"term": {"page_id": p}}, {"term": {"line": n}}]}} for p, n in keys],
            minimum_should_match=1,
        )
    return len(hits)


def _line_docs(client: Any, index: str, keys: list[tuple[str, int]]) -> None:
    if keys:
        client.mget(index=index, body={"ids": [f"{p}-{n}" for p, n in keys]})


def compare_layouts(url: str, docs: dict[str, dict[str, Any]], pages: list[Any], copies: int) -> dict[str, Any]:
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
                corpus.renamed(docs[page.stem], f"y{copy:03d}", page.stem), corpus.version("y", page.stem), "2026-01-01"
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
