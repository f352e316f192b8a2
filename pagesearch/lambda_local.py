"""Lambda, simulated: the events it delivers to our functions, its context object, and invoking a handler.

The one place that knows these shapes outside AWS: the local stack's
dispatcher, ``sls invoke local``'s event files, the tests and the benchmarks
all build their events here, so a handler sees exactly what Lambda hands it:
S3 notification records (key URL-encoded, ``+`` for spaces), SNS
notifications carrying an S3 event as a JSON string, the S3 event as an
SQS queue subscribed to a bucket receives it, and API Gateway HTTP API
requests (payload 2.0) for the search function.
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
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's account
FUNCTIONS = {
    "ocr": "handlers.ocr",
    "indexer": "handlers.indexer",
    "search": "handlers.search",
    "splitter": "handlers.splitter",
}
# Characters a path keeps as they are; everything else is percent-encoded (RFC 3986 pchar, and "%" for paths
# already encoded).
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
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


def sqs_event(body: str, *, message_id: str = "", queue_arn: str = "") -> dict[str, Any]:
    """The SQS-triggered Lambda event for one message (the splitter's trigger: batch size 1)."""
    queue_arn = queue_arn or f"arn:aws:sqs:{REGION}:{ACCOUNT}:pagesearch-local-split"
    sent = str(int(time.time() * 1000))
    return {
        "Records": [
            {
                "messageId": message_id or str(uuid.uuid4()),
                "receiptHandle": "local",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": sent, "SenderId": "LOCAL"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
        ]
    }


def from_queue(function: str, body: str, message_id: str = "") -> dict[str, Any]:
    """The Lambda event for a message the local stack's queue of ``function`` received.

    The OCR queue is subscribed to the topic, so its messages are SNS
    notifications (moto's S3 event untouched inside); the indexer's queue
    receives the results bucket's S3 events as they are; the splitter is
    SQS-triggered on AWS too, so its message arrives as an SQS event.
    """
    if function == "splitter":
        return sqs_event(body, message_id=message_id)
    payload = json.loads(body)
    if function == "ocr":
        return sns_notification(
            payload["Message"],
            topic_arn=payload.get("TopicArn", ""),
            subject=payload.get("Subject"),
            **{k: v for k, v in payload.items() if k not in ("Message", "TopicArn", "Subject")},
        )
    return payload


def http_event(
    path: str,
    query: dict[str, str] | list[tuple[str, str]] | str | None = None,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    domain: str = "127.0.0.1:8080",
    scheme: str = "http",
    stage: str = "$default",
    route_key: str | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API request (payload 2.0) as the search function receives it.

    ``path`` is percent-encoded as a client sends it (what is not encoded yet
    is: ``/iiif/Viewer Book/...`` becomes ``/iiif/Viewer%20Book/...``);
    ``query`` is a mapping or pairs of decoded values, or a raw query string.
    The route key is the serverless.yml route the path matches (``{book}`` in
    place of the second segment of ``/iiif/`` paths) unless given.
    """
    raw_path = quote(path, safe=_PATH_SAFE)
    if isinstance(query, str):
        raw_query = query
    else:
        raw_query = urlencode(list(query.items()) if isinstance(query, dict) else list(query or []), quote_via=quote)
    values: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        values[name] = f"{values[name]},{value}" if name in values else value
    segments = raw_path.split("/")
    parameters = {}
    if len(segments) > 3 and segments[1] == "iiif":
        parameters = {"book": unquote(segments[2])}
        segments[2] = "{book}"
    now = dt.datetime.now(dt.UTC)
    all_headers = {
        "accept": "application/json",
        "host": domain,
        "user-agent": "pagesearch-local",
        "x-forwarded-for": "127.0.0.1",
        "x-forwarded-port": "443" if scheme == "https" else domain.rpartition(":")[2] or "80",
        "x-forwarded-proto": scheme,
        **{k.lower(): v for k, v in (headers or {}).items()},
    }
    prefix = "" if stage == "$default" else f"/{stage}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key or f"{method} {'/'.join(segments)}",
        "rawPath": prefix + raw_path,
        "rawQueryString": raw_query,
        "headers": all_headers,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "local",
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": method,
                "path": prefix + unquote(raw_path),
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": all_headers["user-agent"],
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key or f"{method} {'/'.join(segments)}",
            "stage": stage,
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if values:
        event["queryStringParameters"] = values
    if parameters:
        event["pathParameters"] = parameters
    return event


def handler_of(function: str) -> Callable[[dict[str, Any], Any], Any]:
    """The handler of one of our functions (``ocr``, ``indexer``, ``search``), imported on first use."""
    return importlib.import_module(FUNCTIONS[function]).handler


def invoke(function: str, event: Any, *, request_id: str = "", stage: str = "local") -> Any:
    """Call a function's handler with ``event`` as Lambda would: its return value, or what it raised."""
    context = LambdaContext(function_name=f"pagesearch-{stage}-{function}", aws_request_id=request_id)
    return handler_of(function)(event, context)
