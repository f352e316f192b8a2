"""Failure records: what could never be processed, kept in the results bucket under ``failed/``.

A record names the source key verbatim (decoded), the book and page when the
key gives them, the stage, the reason and the time; it never ends in ``.json``
so the indexer's trigger ignores it. Writing one is the end of that input: the
invocation returns normally instead of retrying content that cannot succeed.

A record about an object is named after the object's key, so a later success
of that object clears it. A record about a malformed message (no object, so no
bucket) gets a unique name: messages have no key to be named after, and two bad
messages must not overwrite each other's record.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from lib import storage
from lib.events import BadMessage, ObjectEvent
from lib.keys import FAILURE_PREFIX, FAILURE_SUFFIX, PageRef, failure_key
from lib.observability import logger, metrics
from lib.outcome import Outcome


def record_failure(
    *,
    results_bucket: str,
    stage: str,
    source_bucket: str,
    source_key: str,
    reason: str,
    book: str | None = None,
    page: str | None = None,
    event: dict[str, Any] | None = None,
    name: str | None = None,
) -> str:
    """Write the failure record, log it with key, book and page, count it; returns its key.

    ``name`` is what the record is filed under when not the source key (one record per page of a book file).
    """
    now = dt.datetime.now(dt.UTC)
    if source_bucket:
        key = failure_key(name or source_key)
    else:
        key = failure_key(f"{source_key} {now:%Y%m%dT%H%M%S.%f} {uuid.uuid4().hex[:8]}")
    record = {
        "stage": stage,
        "source": {"bucket": source_bucket, "key": source_key},
        "book": book,
        "page": page,
        "reason": reason,
        "time": now.isoformat(timespec="milliseconds"),
        "event": event,
    }
    storage.put_json(results_bucket, key, record)
    logger.error(
        "page failed",
        extra={"stage": stage, "key": source_key, "book": book, "page": page, "reason": reason, "failure_record": key},
    )
    metrics.add_metric(name=f"{stage.capitalize()}Failures", unit=MetricUnit.Count, value=1)
    return key


def record_bad_message(item: BadMessage, *, results_bucket: str, stage: str) -> Outcome:
    """A message no retry can process (not JSON, no Records, unknown source): recorded under failed/events/."""
    record_failure(
        results_bucket=results_bucket,
        stage=stage,
        source_bucket="",
        source_key=f"events/{item.ref}",
        reason=item.reason,
    )
    return Outcome.failed(item.ref, item.reason)


def record_object_failure(
    item: ObjectEvent,
    *,
    results_bucket: str,
    stage: str,
    reason: str,
    ref: PageRef | None = None,
    name: str | None = None,
) -> Outcome:
    """An object (or, with ``name``, one page of it) that can never be processed: its record, and the outcome."""
    record_failure(
        name=name,
        results_bucket=results_bucket,
        stage=stage,
        source_bucket=item.bucket,
        source_key=item.key,
        reason=reason,
        book=ref.book if ref else None,
        page=ref.page if ref else None,
        event={"name": item.event_name, "time": item.event_time, "sequencer": item.sequencer, "etag": item.etag},
    )
    return Outcome.failed(item.key, reason, ref)


def clear_failure(results_bucket: str, source_key: str) -> None:
    """A page that succeeds after a failure no longer needs its record."""
    storage.delete(results_bucket, failure_key(source_key))


def read_failure(results_bucket: str, source_key: str) -> dict[str, Any] | None:
    """The failure record of an object, or None."""
    try:
        return json.loads(storage.get(results_bucket, failure_key(source_key), max_bytes=1024 * 1024).body)
    except storage.ObjectMissing:
        return None


def list_failures(results_bucket: str) -> list[dict[str, Any]]:
    """Every failure record, oldest first."""
    records = []
    for key in storage.list_keys(results_bucket, FAILURE_PREFIX):
        if key.endswith(FAILURE_SUFFIX):
            body = storage.get(results_bucket, key, max_bytes=1024 * 1024).body
            records.append({"record_key": key, **json.loads(body)})
    return sorted(records, key=lambda r: r.get("time", ""))
