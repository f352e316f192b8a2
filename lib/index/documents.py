"""The index's documents (pure, no I/O): how a page JSON becomes OpenSearch documents and bulk actions.

One line document per line carries the line's text, its box and its words' boxes
(stored, not indexed), plus ``text_pair``: the line joined to the next line of
its paragraph, so a phrase broken across two lines still matches. One
*page record* per page (``kind: page``) records which source version is
indexed and the highest line number ever written (``high_water``), so
replacing a page needs no search (which would depend on refresh): the new
lines overwrite the old ids in place and the lines past the new count are
deleted, all in one bulk request. Reading and writing the index is
``lib.index.store``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lib.page_json import iter_lines
from lib.versions import SourceVersion

INDEX_VERSION = 1

INDEX_SETTINGS = {
    "analysis": {
        "analyzer": {
            # Lower case and accent folding: "Café" is found by "cafe"; no
            # stemming, so a hit's highlighted words are the words typed.
            "folded": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]}
        }
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


def page_id(book: str, page: str) -> str:
    """Deterministic, bounded id of a page (book and page names can be long or non-ASCII).

    Book and page are joined by a NUL, which is unambiguous only when neither
    holds one: S3 keys may (``nul\0a/1.png`` and ``nul/a\01.png`` would
    collide), so such names are hashed as a JSON pair instead, which escapes
    NUL and so can never equal a joined name. Names without NUL keep their ids.
    """
    name = f"{book}\x00{page}" if "\x00" not in book + page else json.dumps([book, page])
    return hashlib.blake2b(name.encode(), digest_size=12).hexdigest()


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


def delete_actions(
    pid: str, previous: dict[str, Any], removal: SourceVersion | None = None
) -> Iterator[dict[str, Any]]:
    """Remove every line ever written for the page, then the page record."""
    version = removal.index_version if removal else None
    high_water = max(int(previous.get("high_water", 0)), int(previous.get("lines", 0)))
    for number in range(1, high_water + 1):
        yield _versioned({"_op_type": "delete", "_id": line_doc_id(pid, number)}, version)
    yield _versioned({"_op_type": "delete", "_id": page_record_id(pid)}, version)
