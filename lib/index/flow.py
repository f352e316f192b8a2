"""The indexer's work for one S3 event on the results bucket: page JSON -> one OpenSearch document.

ObjectCreated on ``BOOK/PAGE.json`` replaces the page in the index;
ObjectRemoved removes it. An older event (S3 ``sequencer`` of the JSON key)
never overwrites what a newer one indexed. A page JSON that cannot be read or
fails the schema gets a failure record; OpenSearch and S3 errors raise, so
Lambda retries until the page is complete.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from lib import storage
from lib.events import BadMessage, ObjectEvent
from lib.failures import clear_failure, record_bad_message, record_object_failure
from lib.index.documents import delete_action, index_action, page_document, page_id
from lib.index.store import PageRejected, ensure_index, get_page_record, run_bulk
from lib.keys import InvalidKey, PageRef, page_ref_from_result_key
from lib.observability import logger
from lib.opensearch import client as opensearch_client
from lib.outcome import Outcome, Status, foreign_bucket
from lib.page_json import PageInvalid, load_page_json
from lib.settings import Settings
from lib.versions import SourceVersion

STAGE = "index"


def process_message(item: ObjectEvent | BadMessage, settings: Settings) -> Outcome:
    if isinstance(item, BadMessage):
        return record_bad_message(item, results_bucket=settings.results_bucket, stage=STAGE)
    if item.bucket != settings.results_bucket:
        return foreign_bucket(item, settings.results_bucket)
    try:
        ref = page_ref_from_result_key(item.key)
    except InvalidKey as exc:
        logger.warning("not a page JSON key, ignored", extra={"key": item.key, "reason": str(exc)})
        return Outcome.skipped(item.key, str(exc))
    client = opensearch_client(settings.opensearch_url, timeout=settings.opensearch_timeout)
    ensure_index(client, settings.opensearch_index)
    version = SourceVersion.of(item.key, item.event_time, item.sequencer, item.etag)
    previous = get_page_record(client, settings.opensearch_index, page_id(ref.book, ref.page))
    current = SourceVersion.from_index(previous)
    if current is not None and version.older_than(current):
        logger.info("stale event skipped", extra={"key": item.key, "book": ref.book, "page": ref.page})
        return Outcome.skipped(item.key, "stale event: a newer version is indexed", ref)
    if item.removed:
        return _remove(item, version, ref, settings, client, previous)
    if current is not None and version.same_content(current):
        # The same page JSON announced again (a redelivery, or the OCR function
        # re-announcing it after identical bytes were uploaded again): the
        # index's page record, not the JSON's existence, says it is done.
        return Outcome.skipped(item.key, "already indexed: the index holds this version", ref)
    return _index(item, version, ref, settings, client, previous)


def _index(
    item: ObjectEvent,
    version: SourceVersion,
    ref: PageRef,
    settings: Settings,
    client: Any,
    previous: dict[str, Any] | None,
) -> Outcome:
    started = time.perf_counter()
    try:
        obj = storage.get(item.bucket, item.key, max_bytes=settings.max_page_json_bytes)
    except storage.ObjectMissing:
        logger.info("page JSON gone before indexing", extra={"key": item.key, "book": ref.book, "page": ref.page})
        return Outcome.skipped(item.key, "object no longer exists", ref)
    except storage.ObjectTooLarge as exc:
        return _fail(item, ref, settings, str(exc))
    try:
        document = load_page_json(obj.body)
        if (document["book"], document["page"]) != (ref.book, ref.page):
            raise PageInvalid(f"names book {document['book']!r} page {document['page']!r}, not those of its key")
    except PageInvalid as exc:
        return _fail(item, ref, settings, str(exc))
    # The content read may be newer than the event: name what was read.
    now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    doc = page_document(document, version.with_etag(obj.etag), now)
    try:
        run_bulk(client, settings.opensearch_index, [index_action(doc)])
    except PageRejected as exc:
        # The page is one document, so nothing of it was written: no half-indexed page.
        return _fail(item, ref, settings, str(exc))
    if storage.head(item.bucket, item.key) is None:
        # Deleted while the bulk was in flight: its removal found nothing to remove, so remove what was just written.
        run_bulk(client, settings.opensearch_index, [delete_action(doc.pid, doc.version)])
        logger.info("page JSON deleted during indexing: page removed", extra={"key": item.key, "book": ref.book})
        return Outcome.skipped(item.key, "the page JSON was deleted while it was indexed: the page was removed", ref)
    clear_failure(settings.results_bucket, item.key)
    outcome = Outcome.done(item.key, Status.INDEXED, ref, doc.body["stats"], started)
    logger.info("page indexed", extra=outcome.as_dict())
    return outcome


def _remove(
    item: ObjectEvent,
    version: SourceVersion,
    ref: PageRef,
    settings: Settings,
    client: Any,
    previous: dict[str, Any] | None,
) -> Outcome:
    current = storage.head(item.bucket, item.key)
    if current is not None:
        # Versioned bucket: a noncurrent version was deleted (the page stands), or the latest one and an older
        # version is current again (it is the page now).
        indexed = SourceVersion.from_index(previous)
        if indexed is not None and indexed.etag == current.etag:
            return Outcome.skipped(item.key, "a noncurrent version was deleted: the current page JSON stands", ref)
        return _index(item, version.with_etag(current.etag), ref, settings, client, previous)
    clear_failure(settings.results_bucket, item.key)
    if previous is None:
        return Outcome.skipped(item.key, "page not in the index", ref)
    run_bulk(client, settings.opensearch_index, [delete_action(page_id(ref.book, ref.page), version)])
    logger.info("page removed from the index", extra={"key": item.key, "book": ref.book, "page": ref.page})
    return Outcome.deleted(item.key, ref)


def _fail(item: ObjectEvent, ref: PageRef, settings: Settings, reason: str) -> Outcome:
    return record_object_failure(item, results_bucket=settings.results_bucket, stage=STAGE, reason=reason, ref=ref)
