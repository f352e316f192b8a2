"""Search, the read side of the index: a parsed query becomes one OpenSearch request, its hits carry boxes.

A line matches on its own text (ranked first) or together with the next line
of its paragraph (``text_pair``), so a phrase broken across two lines is
found. Every hit carries the boxes of its matched words, mapped from the
highlighter's marks back to the line's stored words. Sizes are capped.
"""

from __future__ import annotations

from typing import Any

from opensearchpy.exceptions import NotFoundError

from lib.search.syntax import WORDCHARS, ParsedQuery, parse_query

MAX_LIMIT = 100
_EM = "<em>"


def _clauses(parsed: ParsedQuery, field_name: str) -> list[dict[str, Any]]:
    clauses: list[dict[str, Any]] = [{"match_phrase": {field_name: {"query": p}}} for p in parsed.phrases]
    # A word matches exactly or with OCR-sized errors; the exact match scores
    # higher, so "fox" ranks lines with "fox" above lines with "for".
    clauses += [
        {
            "bool": {
                "should": [
                    {"match": {field_name: {"query": w, "operator": "and", "boost": 3.0}}},
                    {"match": {field_name: {"query": w, "fuzziness": "AUTO", "operator": "and"}}},
                ],
                "minimum_should_match": 1,
            }
        }
        for w in parsed.words
    ]
    return clauses


def build_query(parsed: ParsedQuery, *, book: str | None, limit: int, offset: int = 0) -> dict[str, Any]:
    """The OpenSearch request body: a line matches on its own text (ranked first) or with its next line."""
    filters: list[dict[str, Any]] = [{"term": {"kind": "line"}}]
    if book:
        filters.append({"term": {"book": book}})
    excluded = [{"match_phrase": {"text": {"query": e}}} for e in parsed.excluded]
    return {
        "size": max(1, min(limit, MAX_LIMIT)),
        "from": max(0, min(offset, 10_000 - MAX_LIMIT)),
        "track_total_hits": True,
        "query": {
            "bool": {
                "should": [
                    {"bool": {"must": _clauses(parsed, "text"), "boost": 2.0, "_name": "line"}},
                    {"bool": {"must": _clauses(parsed, "text_pair"), "_name": "pair"}},
                ],
                "minimum_should_match": 1,
                "filter": filters,
                "must_not": excluded,
            }
        },
        "highlight": {
            "pre_tags": [_EM],
            "post_tags": ["</em>"],
            "fields": {"text": {"number_of_fragments": 0}, "text_pair": {"number_of_fragments": 0}},
        },
        "_source": {"excludes": ["text_pair"]},
        "sort": ["_score", {"book": "asc"}, {"page_number": "asc"}, {"line": "asc"}],
    }


def _marked(highlighted: str) -> list[int]:
    """Indexes of the whitespace-separated words the highlighter marked."""
    return [i for i, token in enumerate(highlighted.split()) if _EM in token]


def _normal(word: str) -> str:
    return "".join(WORDCHARS.findall(word.lower()))


def _fallback_marks(words: list[dict[str, Any]], parsed: ParsedQuery) -> list[int]:
    """When the engine returns no highlight: words equal to a query word, else every word."""
    wanted = {_normal(w) for w in parsed.words} | {_normal(t) for p in parsed.phrases for t in p.split()}
    marks = [i for i, w in enumerate(words) if _normal(w["text"]) in wanted]
    return marks or list(range(len(words)))


def _union(boxes: list[list[int]]) -> list[int]:
    return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]


def format_hit(hit: dict[str, Any], parsed: ParsedQuery) -> dict[str, Any] | None:
    """A search hit as users see it, or None when it only repeats the next line's own hit."""
    source = hit["_source"]
    words = source.get("words", [])
    following = (source.get("next") or {}).get("words", [])
    highlight = hit.get("highlight", {})
    # The highlighter marks query words in a field even where the whole query
    # did not match it: the named query says which field really matched.
    if "line" in hit.get("matched_queries", ["line"]) and highlight.get("text"):
        snippet = highlight["text"][0]
        marks = _marked(snippet)
    elif highlight.get("text_pair"):
        snippet = highlight["text_pair"][0]
        marks = _marked(snippet)
        if marks and min(marks) >= len(words):
            return None  # everything matched is on the next line, which is a hit of its own
    else:
        snippet, marks = source["text"], []
    pool = words + following
    marks = [i for i in marks if i < len(pool)] or _fallback_marks(words, parsed)
    matched = [pool[i] for i in marks]
    lines_used = [source["bbox"]] + ([source["next"]["bbox"]] if any(i >= len(words) for i in marks) else [])
    return {
        "book": source["book"],
        "page": source["page"],
        "page_number": source.get("page_number"),
        "line": source["line"],
        "text": source["text"] + ("\n" + source["next"]["text"] if len(lines_used) > 1 else ""),
        "snippet": snippet,
        "bbox": _union(lines_used),
        "words": [{"text": w["text"], "bbox": w["bbox"]} for w in matched],
        "score": hit.get("_score"),
    }


def search(
    client: Any, index: str, query: str, *, book: str | None = None, limit: int = 10, offset: int = 0
) -> dict[str, Any]:
    """Run a user query; returns ``{"total", "hits": [...]}`` as ``pagesearch search --json`` prints it."""
    parsed = parse_query(query)
    try:
        response = client.search(index=index, body=build_query(parsed, book=book, limit=limit, offset=offset))
    except NotFoundError:
        return {"total": 0, "hits": []}  # nothing indexed yet: one request, not an exists() first
    hits, dropped = [], 0
    for raw in response["hits"]["hits"]:
        formatted = format_hit(raw, parsed)
        if formatted is None:
            dropped += 1
        else:
            hits.append(formatted)
    total = response["hits"]["total"]
    total = total["value"] if isinstance(total, dict) else int(total)
    return {"total": max(total - dropped, len(hits)), "hits": hits}
