"""Local stand-in for Lambda's triggers: drain the stack's SQS queues and call the handlers.

The OCR queue is subscribed to the pages topic, so its messages are SNS
notifications; they are handed to the OCR handler as the SNS event Lambda
delivers (``Records[].Sns``), with moto's S3 event untouched inside. The
indexer queue receives the results bucket's S3 events, handed over as they
are (``pagesearch.lambda_local`` builds both). A handler that raises leaves
its message in the queue: it comes back after the visibility timeout, and
after three receives it goes to the dead-letter queue, as Lambda's retries
and on-failure destination would. Every such error is logged with the keys
of the message.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote_plus

from pagesearch.lambda_local import from_queue, invoke

_stop = threading.Event()
log = logging.getLogger("pagesearch.dispatcher")


def keys_of(event: Any) -> list[str]:
    """The decoded object keys an event names, for the log line of a failed invocation."""
    keys: list[str] = []
    for record in event.get("Records", []) if isinstance(event, dict) else []:
        if not isinstance(record, dict):
            continue
        if "Sns" in record:
            try:
                keys += keys_of(json.loads(record["Sns"]["Message"]))
            except (KeyError, TypeError, ValueError):
                keys.append("(SNS message that is not an S3 event)")
        else:
            key = ((record.get("s3") or {}).get("object") or {}).get("key")
            keys.append(unquote_plus(key) if isinstance(key, str) else "(record without a key)")
    return keys


def drain(sqs: Any, queues: dict[str, str], workers: int, once: bool = False, retry_delay: int = 60) -> int:
    """Poll until stopped (or, with ``once``, until the queues are empty); returns messages handled.

    ``queues`` maps a function name (``ocr``, ``indexer``, ``splitter``) to its queue's URL. A
    message whose handler raised is received again after ``retry_delay`` seconds.
    """
    handled = 0

    def run(function: str, url: str, message: dict[str, Any]) -> None:
        event: Any = None
        try:
            event = from_queue(function, message["Body"], message.get("MessageId", ""))
            invoke(function, event, request_id=message["MessageId"], stage="dev")
        except Exception:
            # The message stays queued and is received again (then dead-lettered): say which pages it holds.
            log.exception(
                "%s failed on message %s (keys: %s); it stays queued for a retry",
                function,
                message.get("MessageId"),
                ", ".join(keys_of(event)) or "unknown",
            )
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=retry_delay
            )
            return
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    with ThreadPoolExecutor(max_workers=workers) as pool:
        while not _stop.is_set():
            futures = []
            for function, url in queues.items():
                batch = sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=min(10, workers * 2), WaitTimeSeconds=0 if once else 1
                ).get("Messages", [])
                futures += [pool.submit(run, function, url, m) for m in batch]
            for future in futures:
                future.result()
            handled += len(futures)
            if once and not futures:
                break
    return handled


def main() -> None:
    import boto3

    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    signal.signal(signal.SIGTERM, lambda *_: _stop.set())
    sqs = boto3.client("sqs")
    queues = {
        "ocr": os.environ["PAGESEARCH_OCR_QUEUE"],
        "indexer": os.environ["PAGESEARCH_INDEX_QUEUE"],
        "splitter": os.environ["PAGESEARCH_SPLIT_QUEUE"],
    }
    workers = int(os.environ.get("PAGESEARCH_WORKERS") or os.cpu_count() or 2)
    drain(sqs, queues, workers, retry_delay=int(os.environ.get("PAGESEARCH_RETRY_DELAY") or 60))


if __name__ == "__main__":
    main()
