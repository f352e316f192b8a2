"""The search index: how a page JSON becomes OpenSearch documents, and how a page is replaced or removed.

One document per line carries the line's text, its box and its words' boxes
(stored, not indexed), plus ``text_pair``: the line joined to the next line of
its paragraph, so a phrase broken across two lines still matches. One
``page`` document per page records which version is indexed and the highest
line number ever written (``high_water``), so replacing a page needs no search
(which would depend on refresh): the new lines overwrite the old ids in place
and the lines past the new count are deleted, all in one bulk request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lib.events import SourceStamp
from lib.page import iter_lines

INDEX_VERSION = 1

SETTINGS = {
    "analysis": {
        "analyzer": {
            # Lower case and accent folding: "Café" is found by "cafe"; no
            # stemming, so a hit's highlighted words are the words typed.
            "folded": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]}
        }
    }
}

MAPPINGS = {
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
        # Word and next-line boxes are only read back, never searched: not indexed,
        # and not `nested` (each nested object would be a hidden document).
        "words": {"type": "object", "enabled": False},
        "next": {"type": "object", "enabled": False},
        "image": {"type": "object", "enabled": False},
        "lines": {"type": "integer", "index": False},
        "high_water": {"type": "integer", "index": False},
        "source": {"type": "object", "enabled": False},
        "indexed_at": {"type": "date"},
    },
}


class StaleVersion(RuntimeError):
    """The index already holds a newer version of this page."""


def page_id(book: str, page: str) -> str:
    """Deterministic, bounded id of a page (book and page names can be long or non-ASCII)."""
    return hashlib.blake2b(f"{book}\x00{page}".encode(), digest_size=12).hexdigest()


def line_doc_id(pid: str, line: int) -> str:
    return f"{pid}-{line}"


def page_doc_id(pid: str) -> str:
    return f"{pid}-page"


def ensure_index(client: Any, alias: str) -> None:
    """Create ``ALIAS-v1`` with the alias on first use; a later reindex can swap the alias."""
    if client.indices.exists(index=alias):
        return
    from opensearchpy.exceptions import RequestError

    body = {"settings": SETTINGS, "mappings": MAPPINGS, "aliases": {alias: {}}}
    try:
        client.indices.create(index=f"{alias}-v{INDEX_VERSION}", body=body)
    except RequestError as exc:
        # Another invocation created it first.
        if "already_exists" not in str(exc.error):
            raise


def _word(word: dict[str, Any]) -> dict[str, Any]:
    return {"text": word["text"], "bbox": word["bbox"]}


@dataclass(frozen=True)
class PageDocs:
    pid: str
    lines: list[dict[str, Any]]
    page: dict[str, Any]


def page_docs(document: dict[str, Any], stamp: SourceStamp, indexed_at: str) -> PageDocs:
    """The line documents and the page document of one page JSON (no I/O)."""
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
    page_doc = {
        **common,
        "kind": "page",
        "lines": len(lines),
        "image": {"width": image.get("width"), "height": image.get("height")},
        "source": {
            "key": stamp.key,
            "sequencer": stamp.sequencer,
            "event_time": stamp.event_time,
            "etag": stamp.etag,
            "image_key": document.get("source", {}).get("key"),
        },
        "indexed_at": indexed_at,
    }
    return PageDocs(pid=pid, lines=lines, page=page_doc)


def indexed_stamp(page_doc: dict[str, Any] | None) -> SourceStamp | None:
    if not page_doc:
        return None
    source = page_doc.get("source") or {}
    return SourceStamp(
        key=source.get("key", ""),
        event_time=source.get("event_time", ""),
        sequencer=source.get("sequencer"),
        etag=source.get("etag"),
    )


def get_page_doc(client: Any, alias: str, pid: str) -> dict[str, Any] | None:
    """The page document, by a real-time GET (no refresh needed)."""
    from opensearchpy.exceptions import NotFoundError

    try:
        return client.get(index=alias, id=page_doc_id(pid))["_source"]
    except NotFoundError:
        return None


def replace_actions(docs: PageDocs, previous: dict[str, Any] | None) -> Iterator[dict[str, Any]]:
    """Bulk actions that make the index hold exactly this page's lines.

    New lines overwrite old ids in place (no moment without the page), lines
    past the new count are deleted up to the highest number ever written, and
    the page document goes last.
    """
    high_water = max(int(previous.get("high_water", 0)) if previous else 0, len(docs.lines))
    for doc in docs.lines:
        yield {"_op_type": "index", "_id": line_doc_id(docs.pid, doc["line"]), "_source": doc}
    for number in range(len(docs.lines) + 1, high_water + 1):
        yield {"_op_type": "delete", "_id": line_doc_id(docs.pid, number)}
    yield {
        "_op_type": "index",
        "_id": page_doc_id(docs.pid),
        "_source": {**docs.page, "high_water": high_water},
    }


def delete_actions(pid: str, previous: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Remove every line ever written for the page, then the page document."""
    high_water = max(int(previous.get("high_water", 0)), int(previous.get("lines", 0)))
    for number in range(1, high_water + 1):
        yield {"_op_type": "delete", "_id": line_doc_id(pid, number)}
    yield {"_op_type": "delete", "_id": page_doc_id(pid)}


def run_bulk(client: Any, alias: str, actions: list[dict[str, Any]]) -> int:
    """One bulk request for the page; raises if any item failed (the retry converges).

    The index goes in the path (``POST /ALIAS/_bulk``), not in each action, so
    IAM and the domain policy can confine the indexer to its own index.

    ``refresh="wait_for"``: when the invocation returns, searches see the page,
    and the real-time page document and the searchable lines agree.
    """
    from opensearchpy import helpers

    ok, _ = helpers.bulk(
        client,
        actions,
        index=alias,
        chunk_size=len(actions) + 1,
        max_chunk_bytes=256 * 1024 * 1024,
        max_retries=3,
        initial_backoff=1,
        max_backoff=8,
        ignore_status=(404,),  # deleting a line that is already gone is success
        refresh="wait_for",
    )
    return ok
