"""Event parsing: the S3 notifications that reach our functions, directly or wrapped in SNS.

Lambda hands the OCR function SNS records whose ``Message`` is an S3 event
serialised as JSON, and the indexer plain S3 records. Both reduce to a list of
:class:`ObjectEvent` (one per S3 record, key decoded) and :class:`BadMessage`
(content that can never be processed). S3's ``s3:TestEvent`` yields nothing.

Every field is checked for its type where it is read, so a malformed field
makes a bad record of its own and never an exception that would stop the
other records. Powertools' event data classes did the same reading, but
importing their package imports every event class it has (12 ms of each
cold start, measured in bench/), for the five fields read here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from lib.observability import logger


@dataclass(frozen=True)
class ObjectEvent:
    """One S3 object notification, with the key decoded."""

    bucket: str
    key: str
    event_name: str
    event_time: str
    sequencer: str | None = None
    etag: str | None = None
    version_id: str | None = None
    size: int | None = None

    @property
    def created(self) -> bool:
        return self.event_name.startswith("ObjectCreated")

    @property
    def removed(self) -> bool:
        return self.event_name.startswith("ObjectRemoved")


@dataclass(frozen=True)
class BadMessage:
    """A message no retry can process: it is recorded as a failure, not retried."""

    ref: str
    reason: str


def parse_event(event: Any) -> list[ObjectEvent | BadMessage]:
    """Every S3 object event in a Lambda event, SNS-wrapped or direct, in order.

    Never raises on malformed content: each unusable part becomes a BadMessage,
    so one bad record cannot stop the others.
    """
    if not isinstance(event, Mapping):
        return [BadMessage("event", f"event is a {type(event).__name__}, not an object")]
    if _is_test_event(event):
        logger.info("s3:TestEvent acknowledged", extra={"bucket": event.get("Bucket")})
        return []
    records = event.get("Records")
    if not isinstance(records, list):
        return [BadMessage("event", "event has no Records list and is not an s3:TestEvent")]
    return list(_records(records))


class _Malformed(ValueError):
    """A field of a record is missing or of the wrong type."""


def _field(container: Mapping[str, Any], name: str, kind: type, *, optional: bool = False) -> Any:
    value = container.get(name)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, kind):
        got = "missing" if value is None else f"a {type(value).__name__}"
        raise _Malformed(f"{name} is {got}, not a {kind.__name__}")
    return value


def _records(records: list[Any]) -> Iterator[ObjectEvent | BadMessage]:
    for index, raw in enumerate(records):
        ref = f"record {index}"
        if not isinstance(raw, Mapping):
            yield BadMessage(ref, "record is not an object")
            continue
        source = raw.get("EventSource") or raw.get("eventSource")
        if source == "aws:sns":
            yield from _sns_record(raw, ref)
        elif source == "aws:s3":
            yield _s3_record(raw, ref)
        else:
            yield BadMessage(ref, f"unknown event source {source!r}")


def _sns_record(record: Mapping[str, Any], ref: str) -> Iterator[ObjectEvent | BadMessage]:
    try:
        sns = _field(record, "Sns", Mapping)
        ref = f"sns message {sns.get('MessageId')}"
        message = json.loads(_field(sns, "Message", str))
    except (_Malformed, ValueError) as exc:
        yield BadMessage(ref, f"SNS message is not JSON: {exc}")
        return
    if not isinstance(message, Mapping):
        yield BadMessage(ref, "SNS message is JSON but not an object")
    elif _is_test_event(message):
        logger.info("s3:TestEvent acknowledged", extra={"bucket": message.get("Bucket")})
    elif not isinstance(message.get("Records"), list):
        yield BadMessage(ref, "SNS message holds no S3 Records")
    else:
        for item in _records(message["Records"]):
            yield item if isinstance(item, ObjectEvent) else BadMessage(f"{ref}, {item.ref}", item.reason)


def _s3_record(record: Mapping[str, Any], ref: str) -> ObjectEvent | BadMessage:
    try:
        s3 = _field(record, "s3", Mapping)
        obj = _field(s3, "object", Mapping)
        size = _field(obj, "size", int, optional=True)
        return ObjectEvent(
            bucket=_field(_field(s3, "bucket", Mapping), "name", str),
            # S3 URL-encodes keys with '+' for spaces (moto also encodes '/').
            key=unquote_plus(_field(obj, "key", str)),
            event_name=_field(record, "eventName", str),
            event_time=_field(record, "eventTime", str),
            sequencer=_field(obj, "sequencer", str, optional=True),
            etag=_field(obj, "eTag", str, optional=True) or None,
            version_id=_field(obj, "versionId", str, optional=True),
            size=size,
        )
    except _Malformed as exc:
        return BadMessage(ref, f"malformed S3 record: {exc}")


def _is_test_event(message: Mapping[str, Any]) -> bool:
    return message.get("Event") == "s3:TestEvent"
