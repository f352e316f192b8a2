"""The index's OpenSearch I/O: create the index behind its alias, read a page's version, write or remove a page.

What the documents are is ``lib.index.documents`` (pure); the client is
``lib.opensearch``. Writes go through ``POST /ALIAS/_bulk`` (the index in the
path, so IAM and the domain policy can confine the indexer to its own index),
one page per request: a page is one document, so its replacement is atomic
for searches whatever its size, and a request is bounded by the page JSON's
limit (MAX_PAGE_JSON_BYTES).
"""

from __future__ import annotations

import random
import time
from functools import lru_cache
from typing import Any

from opensearchpy import helpers
from opensearchpy.exceptions import NotFoundError, RequestError, TransportError

from lib.index.documents import INDEX_MAPPINGS, INDEX_SETTINGS, INDEX_VERSION

BULK_ATTEMPTS = 3
# 404: deleting a page already gone; 409: a newer version of the page is there.
_SETTLED = (404, 409)
# What the indexer reads of a page to order deliveries (never its words).
VERSION_FIELDS = ["source", "stats", "book", "page"]


class IndexOutdated(RuntimeError):
    """The alias points at an index of an older mapping: `pagesearch reindex` builds the current one."""


class PageRejected(ValueError):
    """OpenSearch refused the page's document itself (a mapping error): no retry can help."""


def index_name(alias: str, version: int = INDEX_VERSION, generation: int = 0) -> str:
    """``ALIAS-v4``, or ``ALIAS-v4-r3`` for the third rebuild of the same mapping (``pagesearch reindex``)."""
    return f"{alias}-v{version}" + (f"-r{generation}" if generation else "")


def create_index(client: Any, name: str, aliases: dict[str, Any] | None = None) -> None:
    body: dict[str, Any] = {"settings": INDEX_SETTINGS, "mappings": INDEX_MAPPINGS}
    if aliases:
        body["aliases"] = aliases
    try:
        client.indices.create(index=name, body=body)
    except RequestError as exc:
        # Another invocation created it first.
        if "already_exists" not in str(exc.error):
            raise


def ensure_index(client: Any, alias: str) -> None:
    """Create ``ALIAS-v4`` with the alias on first use; refuse to write into an older mapping's index."""
    if not client.indices.exists(index=alias):
        create_index(client, index_name(alias), {alias: {}})
    _check_version(client, alias)


def _check_version(client: Any, alias: str) -> None:
    found = _version_of(client, alias)
    if found < INDEX_VERSION:
        _version_of.cache_clear()  # asked again at the next invocation: the reindex may have run meanwhile
        raise IndexOutdated(
            f"the alias {alias!r} points at an index of mapping version {found}, this code writes version "
            f"{INDEX_VERSION}: run `pagesearch reindex` (docs/search-index.md, upgrading)"
        )


@lru_cache(maxsize=8)
def _version_of(client: Any, alias: str) -> int:
    """The mapping version of the index behind the alias (once per container: it changes only by a reindex)."""
    metas = [m.get("mappings", {}).get("_meta") or {} for m in client.indices.get_mapping(index=alias).values()]
    return min((int(meta.get("pagesearch_index_version", 1)) for meta in metas), default=INDEX_VERSION)


def get_page_record(client: Any, alias: str, pid: str) -> dict[str, Any] | None:
    """The page's version and counts (not its text or words), by a real-time GET: no refresh needed."""
    try:
        return client.get(index=alias, id=pid, _source_includes=VERSION_FIELDS)["_source"]
    except NotFoundError:
        return None


def run_bulk(client: Any, alias: str, actions: list[dict[str, Any]]) -> int:
    """One bulk request; raises if an item failed (the retry converges), PageRejected if OpenSearch refused one.

    No ``refresh``: the indexer's own reads are real-time GETs, which need none,
    and ``refresh="wait_for"`` would hold (and bill) every invocation until the
    next refresh, up to a second. Searches see the page at that refresh;
    ``make_searchable`` forces it when a caller waits.

    Items rejected with 429 are resent by the bulk helper with backoff (it can
    only do so with ``raise_on_error=False``); a whole request failing with
    429/5xx or a connection error is retried here with jittered backoff, since
    the client's own retries do not pause.
    """
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
    rejected = [e for e in failed if next(iter(e.values())).get("status") == 400]
    if rejected:
        error = next(iter(rejected[0].values())).get("error") or {}
        reason = error.get("reason", error) if isinstance(error, dict) else error
        raise PageRejected(f"OpenSearch refused the page's document: {str(reason)[:300]}")
    if failed:
        raise helpers.BulkIndexError(f"{len(failed)} document(s) failed to index.", failed)
    return ok


def make_searchable(client: Any, alias: str) -> None:
    """Refresh the index now, for a caller that waited for pages and searches next (pagesearch ingest)."""
    client.indices.refresh(index=alias)
