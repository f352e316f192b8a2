"""The indexer's work for one S3 event on the results bucket: page JSON -> OpenSearch.

ObjectCreated on ``BOOK/PAGE.json`` replaces the page in the index;
ObjectRemoved removes it. An older event (S3 ``sequencer`` of the JSON key)
never overwrites what a newer one indexed. A page JSON that cannot be read or
fails the schema gets a failure record; OpenSearch and S3 errors raise, so
Lambda retries until the page is complete.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from lib import storage
from lib.events import BadMessage, ObjectEvent, SourceStamp
from lib.failures import clear_failure, record_bad_message, record_object_failure
from lib.keys import InvalidKey, page_ref_from_result_key
from lib.observability import logger
from lib.outcome import Outcome
from lib.settings import Settings

STAGE = "index"
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema" / "page.schema.json"


class PageInvalid(ValueError):
    """The page JSON is not a page: bad JSON or fails the schema."""


@lru_cache(maxsize=1)
def _validator() -> Any:
    # fastjsonschema compiles the schema to Python once per container: about
    # 1 ms a page where the generic jsonschema validator took 40 ms, which
    # was most of the indexer's own time. Imported on first use (cold start).
    import fastjsonschema

    return fastjsonschema.compile(json.loads(SCHEMA_PATH.read_text()))


def load_page(body: bytes) -> dict[str, Any]:
    """Parse and validate a page JSON; PageInvalid says where it is wrong."""
    import fastjsonschema

    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PageInvalid(f"not JSON: {exc}") from None
    try:
        _validator()(document)
    except fastjsonschema.JsonSchemaValueException as exc:
        where = "/".join(str(p) for p in (exc.path or [])[1:]) or "(root)"
        raise PageInvalid(f"fails the page schema at {where}: {exc.message[:300]}") from None
    return document


def process_message(item: ObjectEvent | BadMessage, settings: Settings) -> Outcome:
    if isinstance(item, BadMessage):
        return record_bad_message(item, results_bucket=settings.results_bucket, stage=STAGE)
    try:
        ref = page_ref_from_result_key(item.key)
    except InvalidKey as exc:
        logger.warning("not a page JSON key, ignored", extra={"key": item.key, "reason": str(exc)})
        return Outcome(key=item.key, status="skipped", detail=str(exc))
    from lib.opensearch import client as opensearch_client
    from lib.search_index import ensure_index, get_page_doc, indexed_stamp, page_id

    client = opensearch_client(settings.opensearch_url, timeout=settings.opensearch_timeout)
    ensure_index(client, settings.opensearch_index)
    stamp = SourceStamp(key=item.key, event_time=item.event_time, sequencer=item.sequencer, etag=item.etag)
    previous = get_page_doc(client, settings.opensearch_index, page_id(ref.book, ref.page))
    current = indexed_stamp(previous)
    if current is not None and stamp.older_than(current):
        logger.info("stale event skipped", extra={"key": item.key, "book": ref.book, "page": ref.page})
        return Outcome(
            key=item.key,
            status="skipped",
            book=ref.book,
            page=ref.page,
            detail="stale event: a newer version is indexed",
        )
    if item.removed:
        return _remove(item, ref.book, ref.page, settings, client, previous)
    return _index(item, stamp, ref.book, ref.page, settings, client, previous)


def _index(
    item: ObjectEvent,
    stamp: SourceStamp,
    book: str,
    page: str,
    settings: Settings,
    client: Any,
    previous: dict[str, Any] | None,
) -> Outcome:
    from lib.search_index import page_docs, replace_actions, run_bulk

    started = time.perf_counter()
    try:
        obj = storage.get(item.bucket, item.key, max_bytes=settings.max_page_json_bytes)
    except storage.ObjectMissing:
        logger.info("page JSON gone before indexing", extra={"key": item.key, "book": book, "page": page})
        return Outcome(key=item.key, status="skipped", book=book, page=page, detail="object no longer exists")
    except storage.ObjectTooLarge as exc:
        return _fail(item, book, page, settings, str(exc))
    try:
        document = load_page(obj.body)
        if (document["book"], document["page"]) != (book, page):
            raise PageInvalid(f"names book {document['book']!r} page {document['page']!r}, not those of its key")
    except PageInvalid as exc:
        return _fail(item, book, page, settings, str(exc))
    # The content read may be newer than the event: stamp it with what was read.
    stamp = SourceStamp(key=stamp.key, event_time=stamp.event_time, sequencer=stamp.sequencer, etag=obj.etag)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    docs = page_docs(document, stamp, now)
    run_bulk(client, settings.opensearch_index, list(replace_actions(docs, previous)))
    clear_failure(settings.results_bucket, item.key)
    outcome = Outcome(
        key=item.key,
        status="indexed",
        book=book,
        page=page,
        lines=len(docs.lines),
        words=sum(len(d["words"]) for d in docs.lines),
        ms=round((time.perf_counter() - started) * 1000),
    )
    logger.info("page indexed", extra=outcome.as_dict())
    return outcome


def _remove(
    item: ObjectEvent, book: str, page: str, settings: Settings, client: Any, previous: dict[str, Any] | None
) -> Outcome:
    from lib.search_index import delete_actions, page_id, run_bulk

    clear_failure(settings.results_bucket, item.key)
    if previous is None:
        return Outcome(key=item.key, status="skipped", book=book, page=page, detail="page not in the index")
    run_bulk(client, settings.opensearch_index, list(delete_actions(page_id(book, page), previous, item.event_time)))
    logger.info("page removed from the index", extra={"key": item.key, "book": book, "page": page})
    return Outcome(key=item.key, status="deleted", book=book, page=page)


def _fail(item: ObjectEvent, book: str, page: str, settings: Settings, reason: str) -> Outcome:
    return record_object_failure(
        item, results_bucket=settings.results_bucket, stage=STAGE, reason=reason, book=book, page=page
    )
