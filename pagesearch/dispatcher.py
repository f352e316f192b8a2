"""Local stand-in for Lambda's triggers: drain the stack's SQS queues and call the handlers.

The OCR queue is subscribed to the pages topic, so its messages are SNS
notifications; they are handed to the OCR handler as the SNS event Lambda
delivers (``Records[].Sns``), with moto's S3 event untouched inside. The
indexer queue receives the results bucket's S3 events, handed over as they
are. A handler that raises leaves its message in the queue: it comes back
after the visibility timeout, and after three receives it goes to the
dead-letter queue, as Lambda's retries and on-failure destination would.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

_stop = threading.Event()


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that Powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 1024
    aws_request_id: str = ""

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def sns_event(body: dict[str, Any], subscription_arn: str) -> dict[str, Any]:
    """The SNS-triggered Lambda event for one SNS notification as SQS received it."""
    sns = {
        "Type": body.get("Type", "Notification"),
        "MessageId": body.get("MessageId", str(uuid.uuid4())),
        "TopicArn": body.get("TopicArn", ""),
        "Subject": body.get("Subject"),
        "Message": body["Message"],
        "Timestamp": body.get("Timestamp", ""),
        "SignatureVersion": body.get("SignatureVersion", "1"),
        "Signature": body.get("Signature", ""),
        "SigningCertUrl": body.get("SigningCertURL", ""),
        "UnsubscribeUrl": body.get("UnsubscribeURL", ""),
        "MessageAttributes": body.get("MessageAttributes", {}),
    }
    return {
        "Records": [
            {"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": subscription_arn, "Sns": sns}
        ]
    }


def lambda_event(queue: str, body: str) -> dict[str, Any]:
    payload = json.loads(body)
    if queue == "ocr":
        return sns_event(payload, f"{payload.get('TopicArn', '')}:local")
    return payload


def _handlers() -> dict[str, Callable[[dict[str, Any], Any], Any]]:
    from handlers import indexer, ocr

    return {"ocr": ocr.handler, "indexer": indexer.handler}


def drain(sqs: Any, queues: dict[str, str], workers: int, once: bool = False) -> int:
    """Poll until stopped (or, with ``once``, until the queues are empty); returns messages handled."""
    handlers = _handlers()
    handled = 0

    def run(name: str, url: str, message: dict[str, Any]) -> None:
        function = "ocr" if name == "ocr" else "indexer"
        context = LambdaContext(function_name=f"pagesearch-dev-{function}", aws_request_id=message["MessageId"])
        try:
            handlers[function](lambda_event(name, message["Body"]), context)
        except Exception:
            return
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    with ThreadPoolExecutor(max_workers=workers) as pool:
        while not _stop.is_set():
            futures = []
            for name, url in queues.items():
                batch = sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=min(10, workers * 2), WaitTimeSeconds=0 if once else 1
                ).get("Messages", [])
                futures += [pool.submit(run, name, url, m) for m in batch]
            for future in futures:
                future.result()
            handled += len(futures)
            if once and not futures:
                break
    return handled


def main() -> None:
    import boto3

    signal.signal(signal.SIGTERM, lambda *_: _stop.set())
    sqs = boto3.client("sqs")
    queues = {"ocr": os.environ["PAGESEARCH_OCR_QUEUE"], "index": os.environ["PAGESEARCH_INDEX_QUEUE"]}
    workers = int(os.environ.get("PAGESEARCH_WORKERS") or os.cpu_count() or 2)
    drain(sqs, queues, workers)


if __name__ == "__main__":
    main()
