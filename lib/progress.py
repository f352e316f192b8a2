"""Where an uploaded page is in the pipeline: OCR'd, indexed, failed, or still in flight.

``pagesearch ingest`` polls this for every page it uploaded; it reads only
what the functions leave behind (the page JSON and its source version, the
failure records, the index's page record), so it works the same against the
local stack and AWS.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from lib import storage
from lib.failures import read_failure
from lib.index.documents import page_id
from lib.index.store import get_page_record
from lib.keys import InvalidKey, PageRef, book_of_file, page_ref_from_key, page_ref_from_result_key, split_status_key
from lib.versions import SourceVersion


class PageState(StrEnum):
    INDEXED = "indexed"
    FAILED = "failed"


def _failed(results_bucket: str, key: str, etag: str) -> bool:
    """A failure record of ``key`` exists and is about these bytes (not an earlier upload's)."""
    record = read_failure(results_bucket, key)
    return record is not None and (record.get("event") or {}).get("etag") == etag


def page_state(results_bucket: str, client: Any, alias: str, key: str, etag: str) -> PageState | None:
    """INDEXED, FAILED, or None while the upload ``key`` with ``etag`` is still being processed."""
    if _failed(results_bucket, key, etag):
        return PageState.FAILED
    try:
        ref = page_ref_from_key(key)
    except InvalidKey:
        return None
    result = storage.head(results_bucket, ref.result_key)
    held = SourceVersion.from_metadata(result.metadata) if result else None
    if result is None or held is None or held.etag != etag:
        return None
    return _indexed(results_bucket, client, alias, ref, result.etag)


def _indexed(results_bucket: str, client: Any, alias: str, ref: PageRef, result_etag: str) -> PageState | None:
    """INDEXED when the index holds the page JSON with ``result_etag``, FAILED when indexing it failed."""
    if _failed(results_bucket, ref.result_key, result_etag):
        return PageState.FAILED
    try:
        record = get_page_record(client, alias, page_id(ref.book, ref.page))
    except Exception:  # the index not reachable yet, or not created: still in flight
        return None
    indexed = SourceVersion.from_index(record)
    return PageState.INDEXED if indexed and indexed.etag == result_etag else None


def split_progress(results_bucket: str, key: str, etag: str) -> dict[str, Any] | None:
    """The progress record of the split of the book file ``key`` with ``etag`` (lib.split.status), or None yet."""
    try:
        body = storage.get(results_bucket, split_status_key(key, book_of_file(key)), max_bytes=64 * 1024**2).body
    except (storage.ObjectMissing, InvalidKey):
        return None
    record = json.loads(body)
    return record if (record.get("source") or {}).get("etag") == etag else None


def split_page_state(results_bucket: str, client: Any, alias: str, entry: dict[str, Any]) -> PageState | None:
    """Where one page of a split book is (``entry``: its line in the progress record)."""
    kind = entry.get("kind")
    if kind == "failed":
        return PageState.FAILED
    if kind == "image":
        return page_state(results_bucket, client, alias, entry["key"], entry["etag"])
    if kind == "text":
        return _indexed(results_bucket, client, alias, page_ref_from_result_key(entry["key"]), entry["etag"])
    return PageState.INDEXED  # superseded: a newer source holds the page, and is indexed in its own right
