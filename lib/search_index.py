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

import datetime as dt
import hashlib
import random
import time
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


def stamp_version(event_time: str | None) -> int | None:
    """The external version of a page's documents: its S3 event time in milliseconds.

    OpenSearch then refuses (409) any write older than what a document holds,
    so an older version's bulk that lands late, from a concurrent invocation
    or a timed-out request applied after all, cannot overwrite a newer page.
    """
    if not event_time:
        return None
    try:
        moment = dt.datetime.fromisoformat(event_time.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(moment.timestamp() * 1000)


def _versioned(action: dict[str, Any], version: int | None) -> dict[str, Any]:
    if version is not None:
        # external_gte: a retry of the same version may re-apply it.
        action.update(version=version, version_type="external_gte")
    return action


def replace_actions(docs: PageDocs, previous: dict[str, Any] | None) -> Iterator[dict[str, Any]]:
    """Bulk actions that make the index hold exactly this page's lines.

    New lines overwrite old ids in place (no moment without the page), lines
    past the new count are deleted up to the highest number ever written, and
    the page document goes last.
    """
    version = stamp_version(docs.page["source"].get("event_time"))
    high_water = max(int(previous.get("high_water", 0)) if previous else 0, len(docs.lines))
    for doc in docs.lines:
        yield _versioned({"_op_type": "index", "_id": line_doc_id(docs.pid, doc["line"]), "_source": doc}, version)
    for number in range(len(docs.lines) + 1, high_water + 1):
        yield _versioned({"_op_type": "delete", "_id": line_doc_id(docs.pid, number)}, version)
    page_doc = {"_op_type": "index", "_id": page_doc_id(docs.pid), "_source": {**docs.page, "high_water": high_water}}
    yield _versioned(page_doc, version)


def delete_actions(pid: str, previous: dict[str, Any], event_time: str | None = None) -> Iterator[dict[str, Any]]:
    """Remove every line ever written for the page, then the page document."""
    version = stamp_version(event_time)
    high_water = max(int(previous.get("high_water", 0)), int(previous.get("lines", 0)))
    for number in range(1, high_water + 1):
        yield _versioned({"_op_type": "delete", "_id": line_doc_id(pid, number)}, version)
    yield _versioned({"_op_type": "delete", "_id": page_doc_id(pid)}, version)


BULK_ATTEMPTS = 3
# 404: deleting a line already gone; 409: a newer version of the page is there.
_SETTLED = (404, 409)


def run_bulk(client: Any, alias: str, actions: list[dict[str, Any]]) -> int:
    """One bulk request for the page; raises if any item failed (the retry converges).

    The index goes in the path (``POST /ALIAS/_bulk``), not in each action, so
    IAM and the domain policy can confine the indexer to its own index.
    No ``refresh``: the indexer's own reads are real-time GETs of the page
    document, which need none, and ``refresh="wait_for"`` would hold (and bill)
    every invocation until the next refresh, up to a second. Searches see the
    page at that refresh; ``make_searchable`` forces it when a caller waits.

    Items rejected with 429 are resent by the bulk helper with backoff (it can
    only do so with ``raise_on_error=False``); a whole request failing with
    429/5xx or a connection error is retried here with jittered backoff, since
    the client's own retries do not pause.
    """
    from opensearchpy import helpers
    from opensearchpy.exceptions import TransportError
    from opensearchpy.helpers import BulkIndexError

    for attempt in range(BULK_ATTEMPTS):
        try:
            ok, errors = helpers.bulk(
                client,
                actions,
                index=alias,
                chunk_size=len(actions) + 1,
                max_chunk_bytes=256 * 1024 * 1024,
                max_retries=3,
                initial_backoff=1,
                max_backoff=8,
                raise_on_error=False,
            )
            break
        except TransportError as exc:
            status = exc.status_code
            retryable = not isinstance(status, int) or status == 429 or status >= 500
            if not retryable or attempt == BULK_ATTEMPTS - 1:
                raise
            time.sleep(min(8.0, 2.0**attempt) * random.uniform(0.5, 1.0))
    failed = [e for e in errors if next(iter(e.values())).get("status") not in _SETTLED]
    if failed:
        raise BulkIndexError(f"{len(failed)} document(s) failed to index.", failed)
    return ok


def make_searchable(client: Any, alias: str) -> None:
    """Refresh the index now, for a caller that waited for pages and searches next (pagesearch ingest)."""
    client.indices.refresh(index=alias)
