"""Part 6's latency and what our search code adds: each query through ``lib.search.query.search`` and as the
bare OpenSearch request it makes, interleaved.

``bare`` sends the very body ``build_query`` makes (built before the clock
starts) with ``client.search``, which parses the JSON answer too; ``function``
is ``lib.search.query.search`` from the query text: parsing, building, the
same request, and every hit mapped to its words and boxes. Per round the ways
take turns in rotated order and each is compared with the bare request next
to it, so the machine's load cancels out. The time ours adds is also broken
down, untimed by the loop: building the body, and mapping a bare answer's
hits (``page_hits``).

The ``search`` Lambda handler (API Gateway HTTP API v2 events) is a third way
once it lands: add ``WAYS["handler"]`` calling
``pagesearch.lambda_local.invoke("search", http_event(...))`` with
``OPENSEARCH_URL`` and ``OPENSEARCH_INDEX`` set, and it is timed and compared
with the bare request like ``function``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bench.stats import summary

TARGET_ADDED_MS = 10.0
TARGET_RATIO = 1.1
LIMIT = 10


def ways(client: Any, index: str) -> dict[str, Callable[[str, str | None, dict[str, Any]], Any]]:
    """name -> call(text, book, prebuilt body); ``bare`` is the baseline every other way is paired with."""
    from lib.search.query import search

    return {
        "bare": lambda text, book, body: client.search(index=index, body=body),
        "function": lambda text, book, body: search(client, index, text, book=book, limit=LIMIT),
    }


def _mapping_ms(response: dict[str, Any], text: str, book: str | None) -> tuple[float, float]:
    """What ``search`` does besides the request, on a bare answer: parse and build, then map every hit."""
    from lib.search.hits import hit_text, page_hits
    from lib.search.query import build_query
    from lib.search.syntax import parse_query

    started = time.perf_counter()
    parsed = parse_query(text)
    build_query(parsed, book=book, limit=LIMIT)
    built = time.perf_counter()
    for raw in response["hits"]["hits"]:
        page_hits(raw["_source"], hit_text(raw), parsed, raw.get("_score"))
    return (built - started) * 1000, (time.perf_counter() - built) * 1000


def measure(
    client: Any, index: str, asked: dict[str, tuple[str, str | None]], rounds: int, warmup: int = 3
) -> dict[str, Any]:
    from lib.search.query import build_query
    from lib.search.syntax import parse_query

    called = ways(client, index)
    names = list(called)
    bodies = {q: build_query(parse_query(text), book=book, limit=LIMIT) for q, (text, book) in asked.items()}
    times: dict[str, dict[str, list[float]]] = {w: {q: [] for q in asked} for w in names}
    build_ms: list[float] = []
    map_ms: dict[str, list[float]] = {q: [] for q in asked}
    totals: dict[str, int] = {}
    for r in range(rounds + warmup):
        queries = list(asked)[r % len(asked) :] + list(asked)[: r % len(asked)]
        for query in queries:
            text, book = asked[query]
            for way in names[r % len(names) :] + names[: r % len(names)]:
                started = time.perf_counter()
                answer = called[way](text, book, bodies[query])
                elapsed = (time.perf_counter() - started) * 1000
                if r < warmup:
                    continue
                times[way][query].append(elapsed)
                if way == "bare":
                    built, mapped = _mapping_ms(answer, text, book)
                    build_ms.append(built)
                    map_ms[query].append(mapped)
                elif way == "function":
                    totals[query] = answer.total
                    if not answer.pages:
                        raise RuntimeError(f"query {query} ({text!r}) found nothing: the benchmark would time a miss")
    added = {}
    for way in names[1:]:
        pairs = {q: list(zip(times[way][q], times["bare"][q], strict=True)) for q in asked}
        every = [p for q in asked for p in pairs[q]]
        added[way] = {
            "added_ms": {q: summary([a - b for a, b in pairs[q]], 2) for q in asked},
            "ratio": {q: summary([a / b for a, b in pairs[q]], 3) for q in asked},
            "all_queries": {
                "added_ms": summary([a - b for a, b in every], 2),
                "ratio": summary([a / b for a, b in every], 3),
            },
        }
        overall = added[way]["all_queries"]
        added[way]["target_met"] = (
            overall["added_ms"]["median"] <= TARGET_ADDED_MS or overall["ratio"]["median"] <= TARGET_RATIO
        )
    return {
        "latency_ms": {way: {q: summary(v, 2) for q, v in per.items()} for way, per in times.items()},
        "totals": totals,
        "added_to_bare": added,
        "breakdown_ms": {
            "parse_and_build": summary(build_ms, 3),
            "map_hits": {q: summary(v, 2) for q, v in map_ms.items()},
        },
        "target": {"max_added_ms": TARGET_ADDED_MS, "or_max_ratio": TARGET_RATIO},
    }
