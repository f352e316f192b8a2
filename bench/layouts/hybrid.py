"""A hybrid layout, measured but not shipped: page documents to match, line documents for the words' positions.

The question it answers: does a page-level match need the words' boxes in
the page document? Here the page document holds only the text (``kind:
page``), one line document per line holds the line's text and its words'
boxes (``kind: line``), and a query is two requests: the shipped query over
the page documents (no highlight, small ``_source``), then the same word and
phrase clauses over the line documents of the pages found, highlighted, for
the boxes. What it costs: the line layout's documents on top of the pages',
two round trips, and phrases broken across lines come back without boxes
(each line is highlighted on its own). Replacing a page would also need the
line layout's high-water bookkeeping again (not built here: the benchmark only
writes new pages).
"""

from __future__ import annotations

import re
from typing import Any

from lib.index.analysis import language_mappings
from lib.index.documents import INDEX_SETTINGS, page_document
from lib.page_json import iter_lines
from lib.search.query import build_query
from lib.search.syntax import parse_query

INDEXED_AT = "2026-01-01T00:00:00.000Z"
_EM = re.compile(r"<em>")
MAPPINGS = {
    "dynamic": "strict",
    "properties": {
        "kind": {"type": "keyword"},
        "book": {"type": "keyword"},
        "page": {"type": "keyword"},
        "page_id": {"type": "keyword"},
        "page_number": {"type": "long"},
        "line": {"type": "integer"},
        "text": {"type": "text", "analyzer": "folded"},
        # What a page document may also hold (lib.index.documents): its joined text, language and language field.
        "text_joined": {"type": "text", "analyzer": "folded"},
        "joins": {"type": "object", "enabled": False},
        "language": {"type": "keyword"},
        **language_mappings(),
        "bbox": {"type": "integer", "index": False},
        "words": {"type": "object", "enabled": False},
        "image": {"type": "object", "enabled": False},
        "source": {"type": "object", "enabled": False},
        "stats": {"type": "object", "enabled": False},
        "indexed_at": {"type": "date"},
    },
}


def create(client: Any, index: str) -> None:
    client.indices.create(index=index, body={"settings": INDEX_SETTINGS, "mappings": MAPPINGS})


def actions(document: dict[str, Any], version: Any) -> list[dict[str, Any]]:
    """The page document without its word spans and boxes, then one line document per line with them."""
    doc = page_document(document, version, INDEXED_AT)
    page = {k: v for k, v in doc.body.items() if k not in ("words", "lines")}
    out = [{"_id": doc.pid, "_source": {**page, "kind": "page", "page_id": doc.pid}}]
    common = {"kind": "line", "book": page["book"], "page": page["page"], "page_id": doc.pid}
    for number, (_block, _paragraph, line) in enumerate(iter_lines(document["blocks"]), start=1):
        words = [[w["text"], *w["bbox"]] for w in line["words"]]
        source = {**common, "line": number, "text": line["text"], "bbox": line["bbox"], "words": words}
        out.append({"_id": f"{doc.pid}-{number}", "_source": source})
    return out


def search(client: Any, index: str, text: str, book: str | None) -> dict[str, Any]:
    """The pages (first request) and the boxes of their matched words (second request)."""
    parsed = parse_query(text)
    body = build_query(parsed, book=book, limit=10, highlight=False)
    body["query"]["bool"]["filter"].append({"term": {"kind": "page"}})
    body["_source"] = ["book", "page", "page_id"]
    response = client.search(index=index, body=body)
    hits = response["hits"]["hits"]
    total = response["hits"]["total"]
    total = total["value"] if isinstance(total, dict) else int(total)
    boxes: list[list[Any]] = []
    if hits:
        ids = [h["_source"]["page_id"] for h in hits]
        # The same word and phrase clauses as the page query's ``must``, any of them, on each line of those pages.
        lines_body = {
            "size": 1000,
            "query": {
                "bool": {
                    "should": body["query"]["bool"]["must"],
                    "minimum_should_match": 1,
                    "filter": [{"term": {"kind": "line"}}, {"terms": {"page_id": ids}}],
                }
            },
            "highlight": {"fields": {"text": {"number_of_fragments": 0}}},
            "_source": ["page_id", "words"],
        }
        for line in client.search(index=index, body=lines_body)["hits"]["hits"]:
            marked = (line.get("highlight", {}).get("text") or [""])[0].split()
            words = line["_source"]["words"]
            boxes += [words[i] for i, token in enumerate(marked) if _EM.search(token) and i < len(words)]
    pages = [(h["_source"]["book"], h["_source"]["page"]) for h in hits]
    return {"total": total, "pages": pages, "boxed_words": len(boxes)}
