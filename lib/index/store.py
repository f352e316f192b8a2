"""The index's OpenSearch I/O: create the index behind its alias, read a page record, run a page's bulk.

What the documents are is ``lib.index.documents`` (pure); the client is
``lib.opensearch``. opensearch-py is imported at the top: the indexer needs
it on every invocation, so deferring it would move its cost, not save it.
"""

from __future__ import annotations

import random
import time
from typing import Any

from opensearchpy import helpers
from opensearchpy.exceptions import NotFoundError, RequestError, TransportError
from opensearchpy.helpers import BulkIndexError

from lib.index.documents import INDEX_MAPPINGS, INDEX_SETTINGS, INDEX_VERSION, page_record_id


def ensure_index(client: Any, alias: str) -> None:
    """Create ``ALIAS-v1`` with the alias on first use; a later reindex can swap the alias."""
    if client.indices.exists(index=alias):
        return
    body = {"settings": INDEX_SETTINGS, "mappings": INDEX_MAPPINGS, "aliases": {alias: {}}}
    try:
        client.indices.create(index=f"{alias}-v{INDEX_VERSION}", body=body)
    except RequestError as exc:
        # Another invocation created it first.
        if "already_exists" not in str(exc.error):
            raise


def get_page_record(client: Any, alias: str, pid: str) -> dict[str, Any] | None:
    """The page record, by a real-time GET (no refresh needed)."""
    try:
        return client.get(index=alias, id=page_record_id(pid))["_source"]
    except NotFoundError:
        return None


BULK_ATTEMPTS = 3
# 404: deleting a line already gone; 409: a newer version of the page is there.
_SETTLED = (404, 409)


def run_bulk(client: Any, alias: str, actions: list[dict[str, Any]]) -> int:
    """One bulk request for the page; raises if any item failed (the retry converges).

    The index goes in the path (``POST /ALIAS/_bulk``), not in each action, so
    IAM and the domain policy can confine the indexer to its own index.
    No ``refresh``: the indexer's own reads are real-time GETs of the page
    record, which need none, and ``refresh="wait_for"`` would hold (and bill)
    every invocation until the next refresh, up to a second. Searches see the
    page at that refresh; ``make_searchable`` forces it when a caller waits.

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
    if failed:
        raise BulkIndexError(f"{len(failed)} document(s) failed to index.", failed)
    return ok


def make_searchable(client: Any, alias: str) -> None:
    """Refresh the index now, for a caller that waited for pages and searches next (pagesearch ingest)."""
    client.indices.refresh(index=alias)
