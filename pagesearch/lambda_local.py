"""Lambda, simulated: the events it delivers to our functions, its context object, and invoking a handler.

The one place that knows these shapes outside AWS: the local stack's
dispatcher, ``sls invoke local``'s event files, the tests and the benchmarks
all build their events here, so a handler sees exactly what Lambda hands it:
S3 notification records (key URL-encoded, ``+`` for spaces), SNS
notifications carrying an S3 event as a JSON string, and the S3 event as an
SQS queue subscribed to a bucket receives it.
"""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's account
FUNCTIONS = {"ocr": "handlers.ocr", "indexer": "handlers.indexer"}
_sequence = itertools.count(1)


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that Powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 1024
    aws_request_id: str = ""

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def now_event_time() -> str:
    """The time as S3 writes ``eventTime``: ISO 8601, milliseconds, ``Z``."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def fresh_sequencer() -> str:
    """A sequencer larger than every earlier one of this process, as S3's grow per key."""
    return f"{time.time_ns():016X}{next(_sequence):04X}"


def s3_record(
    bucket: str,
    key: str,
    *,
    name: str = "ObjectCreated:Put",
    etag: str = "",
    size: int = 1,
    sequencer: str | None = None,
    event_time: str | None = None,
    version_id: str | None = None,
) -> dict[str, Any]:
    """One S3 notification record as S3 sends it; a fresh sequencer and the current time unless given."""
    obj: dict[str, Any] = {"key": quote_plus(key, safe="/"), "sequencer": sequencer or fresh_sequencer()}
    if name.startswith("ObjectCreated"):
        obj.update(size=size, eTag=etag.strip('"'))
    if version_id:
        obj["versionId"] = version_id
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": event_time or now_event_time(),
        "eventName": name,
        "userIdentity": {"principalId": "AWS:LOCAL"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "local",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "LOCAL"}, "arn": f"arn:aws:s3:::{bucket}"},
            "object": obj,
        },
    }


def sns_notification(message: str, *, topic_arn: str = "", subject: str | None = None, **fields: Any) -> dict[str, Any]:
    """The SNS-triggered Lambda event for one notification whose ``Message`` is ``message``."""
    topic_arn = topic_arn or f"arn:aws:sns:{REGION}:{ACCOUNT}:pagesearch-local-pages"
    sns = {
        "Type": fields.get("Type", "Notification"),
        "MessageId": fields.get("MessageId") or str(uuid.uuid4()),
        "TopicArn": topic_arn,
        "Subject": subject,
        "Message": message,
        "Timestamp": fields.get("Timestamp") or now_event_time(),
        "SignatureVersion": fields.get("SignatureVersion", "1"),
        "Signature": fields.get("Signature", "local"),
        "SigningCertUrl": fields.get("SigningCertURL", "https://example.invalid/cert"),
        "UnsubscribeUrl": fields.get("UnsubscribeURL", "https://example.invalid/unsubscribe"),
        "MessageAttributes": fields.get("MessageAttributes", {}),
    }
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:local",
                "Sns": sns,
            }
        ]
    }


def sns_event(*records: dict[str, Any], message: str | None = None) -> dict[str, Any]:
    """The OCR function's trigger: SNS wrapping an S3 event with ``records`` (or a raw ``message``)."""
    return sns_notification(message if message is not None else json.dumps({"Records": list(records)}))


def from_queue(function: str, body: str) -> dict[str, Any]:
    """The Lambda event for a message the local stack's queue of ``function`` received.

    The OCR queue is subscribed to the topic, so its messages are SNS
    notifications (moto's S3 event untouched inside); the indexer's queue
    receives the results bucket's S3 events as they are.
    """
    payload = json.loads(body)
    if function == "ocr":
        return sns_notification(
            payload["Message"],
            topic_arn=payload.get("TopicArn", ""),
            subject=payload.get("Subject"),
            **{k: v for k, v in payload.items() if k not in ("Message", "TopicArn", "Subject")},
        )
    return payload


def handler_of(function: str) -> Callable[[dict[str, Any], Any], Any]:
    """The handler of one of our functions (``ocr``, ``indexer``), imported on first use."""
    return importlib.import_module(FUNCTIONS[function]).handler


def invoke(function: str, event: Any, *, request_id: str = "", stage: str = "local") -> Any:
    """Call a function's handler with ``event`` as Lambda would: its return value, or what it raised."""
    context = LambdaContext(function_name=f"pagesearch-{stage}-{function}", aws_request_id=request_id)
    return handler_of(function)(event, context)
