"""Events no retry could process: listed, and sent to their function again (``pagesearch failures``/``retry``).

Errors a retry may cure (OpenSearch or S3 down) make an invocation fail, and
after its retries the event is kept, not dropped:

- on AWS, each function's on-failure destination is an SQS queue whose
  messages are Lambda's invocation records: the original event under
  ``requestPayload``, the error under ``responsePayload``, the function's ARN
  under ``requestContext.functionArn``;
- locally, the dispatcher's queues dead-letter the message itself: the SNS
  notification or S3 event as the function's queue received it.

Re-driving sends the original event to its function again: on AWS by an
asynchronous invoke, locally by putting the message back on the function's
queue. The functions' version checks make that safe whenever it happens: an
event older than what a page holds is skipped, a removal of an object that
exists again does not remove it. A message is deleted from its queue only
once it was sent again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import boto3

from lib.events import ObjectEvent, parse_event
from lib.storage import RETRY_CONFIG

# How long a listed message stays hidden from other readers while we look at it.
_PEEK_SECONDS = 30


@dataclass(frozen=True)
class FailedQueue:
    """A queue of failed events: the on-failure destination on AWS, or a local dead-letter queue."""

    url: str
    # Locally: the function whose dead-letter queue this is, and that function's own queue.
    function: str | None = None
    function_queue: str | None = None


@dataclass(frozen=True)
class FailedEvent:
    queue: FailedQueue
    message_id: str
    receipt: str
    body: str
    function: str  # "ocr", "indexer", or a function ARN (AWS)
    event: Any
    objects: list[tuple[str, str, str]] = field(default_factory=list)  # (bucket, key, event name)
    error: str = ""
    time: str = ""
    received: int = 0

    @property
    def stage(self) -> str:
        name = self.function.rsplit(":", 1)[-1]
        return "ocr" if name == "ocr" or name.endswith("-ocr") else "index"

    def rows(self) -> list[dict[str, Any]]:
        """One row per object the event names, shaped like a failure record (``pagesearch failures``)."""
        base = {
            "kind": "failed-event",
            "stage": self.stage,
            "function": self.function,
            "queue": self.queue.url,
            "message_id": self.message_id,
            "reason": self.error or "the invocation failed after its retries",
            "time": self.time,
            "received": self.received,
        }
        objects = self.objects or [("", "", "")]
        return [{**base, "source": {"bucket": b, "key": k}, "event_name": n} for b, k, n in objects]


@lru_cache(maxsize=1)
def _sqs() -> Any:
    return boto3.client("sqs", config=RETRY_CONFIG)


@lru_cache(maxsize=1)
def _lambda() -> Any:
    return boto3.client("lambda", config=RETRY_CONFIG)


def decode(queue: FailedQueue, message: dict[str, Any]) -> FailedEvent:
    """A queue message as the failed event it holds (never raises: an unreadable body is named as such)."""
    body = message.get("Body", "")
    attributes = message.get("Attributes", {})
    common = {
        "queue": queue,
        "message_id": message.get("MessageId", ""),
        "receipt": message.get("ReceiptHandle", ""),
        "body": body,
        "received": int(attributes.get("ApproximateReceiveCount", 0)),
    }
    try:
        payload = json.loads(body)
    except ValueError:
        return FailedEvent(function=queue.function or "?", event=None, error="the message is not JSON", **common)
    if isinstance(payload, dict) and "requestPayload" in payload:  # Lambda's on-failure record
        context, response = payload.get("requestContext") or {}, payload.get("responsePayload") or {}
        event = payload["requestPayload"]
        error = response.get("errorMessage", "") if isinstance(response, dict) else str(response)
        function = str(context.get("functionArn", "?")).removesuffix(":$LATEST")
        return FailedEvent(
            function=function, event=event, objects=_objects(event), error=error, time=payload.get("timestamp", ""),
            **common,
        )  # fmt: skip
    # A local dead letter: what the function's queue received, an SNS notification (OCR) or an S3 event.
    s3_event = payload.get("Message") if isinstance(payload, dict) and "Message" in payload else payload
    try:
        event = json.loads(s3_event) if isinstance(s3_event, str) else s3_event
    except ValueError:
        event = s3_event
    sent = attributes.get("SentTimestamp")
    moment = dt.datetime.fromtimestamp(int(sent) / 1000, dt.UTC).isoformat(timespec="milliseconds") if sent else ""
    return FailedEvent(function=queue.function or "?", event=event, objects=_objects(event), time=moment, **common)


def _objects(event: Any) -> list[tuple[str, str, str]]:
    return [(i.bucket, i.key, i.event_name) for i in parse_event(event) if isinstance(i, ObjectEvent)]


def peek(queue: FailedQueue, *, limit: int = 10_000) -> list[FailedEvent]:
    """Every failed event in the queue, leaving them there (each is hidden for a moment, then visible again)."""
    taken = take(queue, limit=limit)
    for failed in taken:
        release(failed)
    return taken


def take(queue: FailedQueue, *, limit: int = 10_000) -> list[FailedEvent]:
    """Every failed event in the queue, hidden from other readers until resent, released, or ``_PEEK_SECONDS``."""
    seen: dict[str, FailedEvent] = {}
    for failed in _receive(queue, limit):
        seen.setdefault(failed.message_id, failed)
    return list(seen.values())


def release(failed: FailedEvent) -> None:
    """Make a taken message visible again, untouched."""
    _sqs().change_message_visibility(QueueUrl=failed.queue.url, ReceiptHandle=failed.receipt, VisibilityTimeout=0)


def _receive(queue: FailedQueue, limit: int) -> Iterator[FailedEvent]:
    count = 0
    while count < limit:
        batch = (
            _sqs()
            .receive_message(
                QueueUrl=queue.url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=_PEEK_SECONDS,
                AttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
            )
            .get("Messages", [])
        )
        if not batch:
            return
        for message in batch:
            count += 1
            yield decode(queue, message)


def resend(failed: FailedEvent) -> str:
    """Send the event to its function again, then delete it from the queue; returns what was done."""
    if failed.event is None:
        raise ValueError(f"message {failed.message_id} holds no event: {failed.error}")
    if failed.queue.function_queue:
        _sqs().send_message(QueueUrl=failed.queue.function_queue, MessageBody=failed.body)
        done = f"put back on the {failed.function} function's queue"
    else:
        _lambda().invoke(FunctionName=failed.function, InvocationType="Event", Payload=json.dumps(failed.event))
        done = f"invoked {failed.function} again (asynchronously)"
    _sqs().delete_message(QueueUrl=failed.queue.url, ReceiptHandle=failed.receipt)
    return done
