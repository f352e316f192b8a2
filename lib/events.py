"""Event parsing: the S3 notifications that reach our functions, directly or wrapped in SNS.

Lambda hands the OCR function SNS records whose ``Message`` is an S3 event
serialised as JSON, and the indexer plain S3 records. Both reduce to a list of
:class:`ObjectEvent` (one per S3 record, key decoded) and :class:`BadMessage`
(content that can never be processed). S3's ``s3:TestEvent`` yields nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventRecord
from aws_lambda_powertools.utilities.data_classes.sns_event import SNSEventRecord

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


def _records(records: list[Any]) -> Iterator[ObjectEvent | BadMessage]:
    for index, raw in enumerate(records):
        ref = f"record {index}"
        if not isinstance(raw, Mapping):
            yield BadMessage(ref, "record is not an object")
            continue
        source = raw.get("EventSource") or raw.get("eventSource")
        if source == "aws:sns":
            yield from _sns_record(SNSEventRecord(raw), ref)
        elif source == "aws:s3":
            yield _s3_record(S3EventRecord(raw), ref)
        else:
            yield BadMessage(ref, f"unknown event source {source!r}")


def _sns_record(record: SNSEventRecord, ref: str) -> Iterator[ObjectEvent | BadMessage]:
    try:
        ref = f"sns message {record.sns.message_id}"
        message = json.loads(record.sns.message)
    except (KeyError, TypeError, ValueError) as exc:
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


def _s3_record(record: S3EventRecord, ref: str) -> ObjectEvent | BadMessage:
    try:
        obj = record.s3.get_object
        size = obj.get("size")
        return ObjectEvent(
            bucket=record.s3.bucket.name,
            # S3 URL-encodes keys with '+' for spaces (moto also encodes '/').
            key=unquote_plus(obj.key),
            event_name=record.event_name,
            event_time=record.event_time,
            sequencer=obj.get("sequencer"),
            etag=obj.etag or None,
            version_id=obj.version_id,
            size=int(size) if size is not None else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        return BadMessage(ref, f"malformed S3 record: missing or invalid {exc}")


def _is_test_event(message: Mapping[str, Any]) -> bool:
    return message.get("Event") == "s3:TestEvent"


def sequencer_value(sequencer: str | None) -> int | None:
    """S3 sequencers are hex strings of varying length: compare them as numbers."""
    if not sequencer:
        return None
    try:
        return int(sequencer, 16)
    except ValueError:
        return None


@dataclass(frozen=True)
class SourceStamp:
    """What identifies one version of a source object, to order deliveries."""

    key: str
    event_time: str
    sequencer: str | None = None
    etag: str | None = None

    def same_content(self, other: SourceStamp) -> bool:
        return self.key == other.key and bool(self.etag) and self.etag == other.etag

    def older_than(self, other: SourceStamp) -> bool:
        """True when ``other`` certainly happened after this one.

        S3 orders events of one key by ``sequencer``; events of different keys
        (``0042.jpg`` then ``0042.png``) only by time. A local S3 may repeat one
        sequencer for every event, hence the fall back to time on a tie.
        """
        mine, theirs = sequencer_value(self.sequencer), sequencer_value(other.sequencer)
        if self.key == other.key and mine is not None and theirs is not None and mine != theirs:
            return mine < theirs
        return self.event_time < other.event_time
