"""The PREVIOUS index layout (v1), kept as the baseline the page documents are measured against: one document per line.

A faithful copy of ``lib/index/documents.py`` and ``lib/search/query.py`` as
they were before commit a42636a (``git show a42636a~1:lib/index/documents.py``),
trimmed only of what a benchmark never calls (removing a page, the mapping's
index version check). It is not shipped and must not go back into ``lib/``:
it exists so that every run compares the shipped layout with what it replaced,
on the same pages, server and machine. A line matches on its own ``text`` or
with the next line of its paragraph (``text_pair``); words anywhere else on
the page cannot be matched together, which is the limit the page documents
lift.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from opensearchpy.exceptions import NotFoundError

from lib.index.documents import page_id
from lib.page_json import iter_lines
from lib.search.syntax import WORDCHARS, ParsedQuery, parse_query
from lib.versions import SourceVersion

# --- documents (was lib/index/documents.py, INDEX_VERSION = 1) ---

INDEX_SETTINGS = {
    "analysis": {
        "analyzer": {"folded": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]}}
    }
}

INDEX_MAPPINGS = {
    "dynamic": "strict",
    "properties": {
        "kind": {"type": "keyword"},
        "book": {"type": "keyword"},
        "page": {"type": "keyword"},
        "page_id": {"type": "keyword"},
        "page_number": {"type": "integer"},
        "line": {"type": "integer"},
        "block": {"type": "integer", "index": False},
        "paragraph": {"type": "integer", "index": False},
        "text": {"type": "text", "analyzer": "folded"},
        "text_pair": {"type": "text", "analyzer": "folded"},
        "conf": {"type": "float"},
        "bbox": {"type": "integer", "index": False},
        "words": {"type": "object", "enabled": False},
        "next": {"type": "object", "enabled": False},
        "image": {"type": "object", "enabled": False},
        "lines": {"type": "integer", "index": False},
        "high_water": {"type": "integer", "index": False},
        "source": {"type": "object", "enabled": False},
        "indexed_at": {"type": "date"},
    },
}


def line_doc_id(pid: str, line: int) -> str:
    return f"{pid}-{line}"


def page_record_id(pid: str) -> str:
    return f"{pid}-page"


def _word(word: dict[str, Any]) -> dict[str, Any]:
    return {"text": word["text"], "bbox": word["bbox"]}


@dataclass(frozen=True)
class IndexDocuments:
    """What one page JSON becomes in the index: its line documents and its page record."""

    pid: str
    lines: list[dict[str, Any]]
    record: dict[str, Any]
    version: SourceVersion


def index_documents(document: dict[str, Any], version: SourceVersion, indexed_at: str) -> IndexDocuments:
    """The line documents and the page record of one page JSON."""
    book, page = document["book"], document["page"]
    pid = page_id(book, page)
    common = {"book": book, "page": page, "page_id": pid, "page_number": document.get("page_number")}
    rows = list(iter_lines(document["blocks"]))
    lines = []
    for number, (block, paragraph, line) in enumerate(rows, start=1):
        doc = {
            **common,
            "kind": "line",
            "line": number,
            "block": block,
            "paragraph": paragraph,
            "text": line["text"],
            "text_pair": line["text"],
            "conf": line["conf"],
            "bbox": line["bbox"],
            "words": [_word(w) for w in line["words"]],
        }
        if number < len(rows):
            next_block, next_paragraph, next_line = rows[number]
            if (next_block, next_paragraph) == (block, paragraph):
                doc["text_pair"] = f"{line['text']} {next_line['text']}"
                doc["next"] = {
                    "line": number + 1,
                    "text": next_line["text"],
                    "bbox": next_line["bbox"],
                    "words": [_word(w) for w in next_line["words"]],
                }
        lines.append(doc)
    image = document.get("image", {})
    record = {
        **common,
        "kind": "page",
        "lines": len(lines),
        "image": {"width": image.get("width"), "height": image.get("height")},
        "source": version.to_index(image_key=document.get("source", {}).get("key")),
        "indexed_at": indexed_at,
    }
    return IndexDocuments(pid=pid, lines=lines, record=record, version=version)


def _versioned(action: dict[str, Any], version: int | None) -> dict[str, Any]:
    if version is not None:
        # external_gte: a retry of the same version may re-apply it.
        action.update(version=version, version_type="external_gte")
    return action


def _high_water(docs: IndexDocuments, previous: dict[str, Any] | None) -> int:
    return max(int(previous.get("high_water", 0)) if previous else 0, len(docs.lines))


def line_actions(docs: IndexDocuments, previous: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Bulk actions that make the index hold exactly this page's lines.

    New lines overwrite old ids in place (no moment without the page), and
    lines past the new count are deleted up to the highest number ever written.
    """
    version = docs.version.index_version
    actions = [
        _versioned({"_op_type": "index", "_id": line_doc_id(docs.pid, doc["line"]), "_source": doc}, version)
        for doc in docs.lines
    ]
    for number in range(len(docs.lines) + 1, _high_water(docs, previous) + 1):
        actions.append(_versioned({"_op_type": "delete", "_id": line_doc_id(docs.pid, number)}, version))
    return actions


def record_action(docs: IndexDocuments, previous: dict[str, Any] | None) -> dict[str, Any]:
    """The page record's write: sent only once every line action succeeded, so that a page record
    holding a version means the index holds all of that version's lines."""
    record = {**docs.record, "high_water": _high_water(docs, previous)}
    return _versioned(
        {"_op_type": "index", "_id": page_record_id(docs.pid), "_source": record}, docs.version.index_version
    )


def replace_actions(docs: IndexDocuments, previous: dict[str, Any] | None) -> Iterator[dict[str, Any]]:
    """Every action of a page's replacement in order: its lines, then its page record."""
    yield from line_actions(docs, previous)
    yield record_action(docs, previous)


# --- search (was lib/search/query.py) ---

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
