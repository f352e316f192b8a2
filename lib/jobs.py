"""The split queue: messages that ask the splitter to split a book file, or to go on splitting it.

Three kinds of message reach the splitter through one SQS queue (so Lambda's
SQS trigger gives every one retries and a dead-letter queue, and the local
stack drains it like the others):

- S3's own notifications for ``.pdf`` uploads and removals (``{"Records": [...]}``);
- a multi-page TIFF the OCR function handed over (``{"split": {...}}``, from page 1);
- a split that ran out of time, to continue from page ``start`` (the same shape).

Only this module sends to the queue (the SQS adapter, as lib.storage is S3's).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import boto3

from lib.events import BadMessage, ObjectEvent, parse_event
from lib.storage import RETRY_CONFIG


@dataclass(frozen=True)
class SplitJob:
    """Split the file an S3 event names, from page ``start``; ``chunk`` counts the invocations so far."""

    event: ObjectEvent
    start: int = 1
    chunk: int = 1

    @property
    def key(self) -> str:
        return self.event.key

    def body(self) -> str:
        return json.dumps({"split": {**asdict(self.event), "start": self.start, "chunk": self.chunk}})


@lru_cache(maxsize=1)
def sqs_client() -> Any:
    """One client per container; honours AWS_ENDPOINT_URL(_SQS) for local stacks."""
    return boto3.client("sqs", config=RETRY_CONFIG)


@lru_cache(maxsize=4)
def queue_url(queue: str) -> str:
    """A queue's URL from its URL or its name (looked up once per container)."""
    if queue.startswith(("https://", "http://")):
        return queue
    return str(sqs_client().get_queue_url(QueueName=queue)["QueueUrl"])


def send(queue: str, job: SplitJob) -> None:
    """Put the job on the split queue (``queue``: its URL or its name)."""
    sqs_client().send_message(QueueUrl=queue_url(queue), MessageBody=job.body())


def _job(split: Mapping[str, Any], ref: str) -> SplitJob | BadMessage:
    fields = {name: split.get(name) for name in ObjectEvent.__dataclass_fields__}
    start, chunk = split.get("start", 1), split.get("chunk", 1)
    if not all(isinstance(fields[n], str) for n in ("bucket", "key", "event_name", "event_time")):
        return BadMessage(ref, "split message lacks bucket, key, event_name or event_time")
    if not isinstance(start, int) or not isinstance(chunk, int) or start < 1 or chunk < 1:
        return BadMessage(ref, "split message has no valid start page")
    return SplitJob(ObjectEvent(**fields), start=start, chunk=chunk)


def parse_split_event(event: Any) -> list[SplitJob | BadMessage]:
    """Every job in the splitter's event: SQS messages of the split queue, or a plain S3 event (sls invoke local)."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list) or not any(
        isinstance(r, Mapping) and r.get("eventSource") == "aws:sqs" for r in records
    ):
        return [SplitJob(i) if isinstance(i, ObjectEvent) else i for i in parse_event(event)]
    jobs: list[SplitJob | BadMessage] = []
    for index, record in enumerate(records):
        ref = f"sqs message {record.get('messageId', index)}" if isinstance(record, Mapping) else f"record {index}"
        try:
            body = json.loads(record["body"])
        except (TypeError, KeyError, ValueError) as exc:
            jobs.append(BadMessage(ref, f"SQS message body is not JSON: {exc}"))
            continue
        if isinstance(body, Mapping) and isinstance(body.get("split"), Mapping):
            jobs.append(_job(body["split"], ref))
        else:
            for item in parse_event(body):
                jobs.append(SplitJob(item) if isinstance(item, ObjectEvent) else BadMessage(ref, item.reason))
    return jobs


# S3 user metadata of a page image the splitter wrote into the pages bucket: the book file it is a page of.
SPLIT_SOURCE_METADATA = "split-source"  # the file's key (lib.versions.stored_key)
SPLIT_ETAG_METADATA = "split-source-etag"
SPLIT_PAGE_METADATA = "split-page"  # the page number, 1-based


def split_origin(metadata: Mapping[str, str]) -> dict[str, Any] | None:
    """The book file a page image was split from (for its page JSON's ``source.split_from``), or None."""
    if SPLIT_SOURCE_METADATA not in metadata:
        return None
    page = metadata.get(SPLIT_PAGE_METADATA, "")
    return {
        "key": metadata[SPLIT_SOURCE_METADATA],
        "etag": metadata.get(SPLIT_ETAG_METADATA, ""),
        "page": int(page) if page.isdigit() else None,
    }
