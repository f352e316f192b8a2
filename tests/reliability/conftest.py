"""Fixtures of the reliability tests: S3 that really emits its notifications, in-process.

moto's S3 sends ObjectCreated/ObjectRemoved notifications (and the
``s3:TestEvent``) to SNS and SQS inside ``mock_aws`` too, so the events handed
to the functions here are the ones S3 (moto) emitted, not hand-written ones:
pages bucket -> SNS topic -> queue (the OCR function's trigger), results
bucket -> queue (the indexer's), as serverless.yml wires AWS.

moto leaves ``sequencer`` out of its events; S3 puts one in every record,
increasing per key. ``Notifications(flavour="aws")`` adds it in emission
order, as S3 would; ``flavour="moto"`` hands moto's events over untouched, so
ordering falls back to event times (what the local stack sees).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conftest import PAGES_BUCKET, RESULTS_BUCKET


@dataclass
class Notifications:
    s3: Any
    flavour: str = "aws"
    sqs: Any = None
    ocr_queue: str = ""
    index_queue: str = ""
    _sequence: int = 0
    emitted: list[dict[str, Any]] = field(default_factory=list)

    def _next_sequencer(self) -> str:
        self._sequence += 1
        return f"{0x0062A1B2C3D4E50000 + self._sequence:018X}"

    def _stamp(self, s3_event: dict[str, Any]) -> dict[str, Any]:
        for record in s3_event.get("Records", []):
            self.emitted.append(record)
            if self.flavour == "aws":
                record["s3"]["object"]["sequencer"] = self._next_sequencer()
        return s3_event

    def _drain(self, queue: str) -> list[str]:
        bodies: list[str] = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return bodies
            for message in batch:
                bodies.append(message["Body"])
                self.sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])

    def ocr_events(self) -> list[dict[str, Any]]:
        """The SNS-triggered Lambda events the OCR function gets for what S3 emitted since the last call."""
        from pagesearch.lambda_local import from_queue

        events = []
        for body in self._drain(self.ocr_queue):
            envelope = json.loads(body)
            message = json.loads(envelope["Message"])
            if "Records" not in message:
                continue  # the s3:TestEvent of the notification set-up
            envelope["Message"] = json.dumps(self._stamp(message))
            events.append(from_queue("ocr", json.dumps(envelope)))
        return events

    def index_events(self) -> list[dict[str, Any]]:
        """The S3-triggered Lambda events the indexer gets for what S3 emitted since the last call."""
        events = []
        for body in self._drain(self.index_queue):
            message = json.loads(body)
            if "Records" in message:
                events.append(self._stamp(message))
        return events


def wire(s3: Any, flavour: str = "aws") -> Notifications:
    """Topic, queues and bucket notifications on moto's in-process S3, as stack.provision does on moto_server."""
    import boto3

    from pagesearch.stack import notification_configuration

    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="pages-topic")["TopicArn"]
    queues = {}
    for name in ("ocr", "index"):
        url = sqs.create_queue(QueueName=f"{name}-trigger")["QueueUrl"]
        queues[name] = (
            url,
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"],
        )
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queues["ocr"][1])
    s3.put_bucket_notification_configuration(
        Bucket=PAGES_BUCKET, NotificationConfiguration=notification_configuration("pages", topic)
    )
    s3.put_bucket_notification_configuration(
        Bucket=RESULTS_BUCKET, NotificationConfiguration=notification_configuration("results", queues["index"][1])
    )
    notifications = Notifications(
        s3=s3, flavour=flavour, sqs=sqs, ocr_queue=queues["ocr"][0], index_queue=queues["index"][0]
    )
    notifications.ocr_events(), notifications.index_events()  # the set-up's test events
    return notifications


@pytest.fixture
def notifications(s3: Any) -> Iterator[Callable[[str], Notifications]]:
    yield lambda flavour="aws": wire(s3, flavour)
