"""Failed events: Lambda's on-failure records and local dead letters read the same way, and resent."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber

from lib import failed_events
from lib.failed_events import FailedQueue, decode
from tests.conftest import s3_event, sns_event

ARN = "arn:aws:lambda:eu-west-1:123456789012:function:pagesearch-prod-indexer"
QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/pagesearch-prod-failed-events"


def on_failure_record(event: dict[str, Any]) -> str:
    """What Lambda sends an SQS on-failure destination after the last retry (its documented shape)."""
    return json.dumps(
        {
            "version": "1.0",
            "timestamp": "2026-11-30T10:00:00.000Z",
            "requestContext": {
                "requestId": "e4b46cbf-b738-4a50-be3e-2bd8a3b2b7d1",
                "functionArn": f"{ARN}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": "1 of 1 records failed: ConnectionError", "errorType": "X"},
        }
    )


def test_an_aws_on_failure_record_names_its_function_objects_and_error() -> None:
    event = {"Records": [s3_event("results", "moby dick/0042.json")]}
    failed = decode(FailedQueue(QUEUE), {"MessageId": "m1", "ReceiptHandle": "r1", "Body": on_failure_record(event)})
    assert failed.function == ARN and failed.stage == "index"
    assert failed.objects == [("results", "moby dick/0042.json", "ObjectCreated:Put")]
    assert failed.error.endswith("ConnectionError") and failed.event == event
    [row] = failed.rows()
    assert (row["kind"], row["source"]["key"], row["time"]) == ("failed-event", "moby dick/0042.json", failed.time)


def test_a_local_dead_letter_of_the_ocr_queue_is_the_sns_notification() -> None:
    notification = sns_event(s3_event("pages", "b/0001.png"))["Records"][0]["Sns"]
    body = json.dumps({"Type": "Notification", "Message": notification["Message"], "TopicArn": "t"})
    queue = FailedQueue("http://local/dlq", "ocr", "http://local/ocr")
    failed = decode(queue, {"MessageId": "m", "ReceiptHandle": "r", "Body": body, "Attributes": {"SentTimestamp": "0"}})
    assert (failed.stage, failed.objects) == ("ocr", [("pages", "b/0001.png", "ObjectCreated:Put")])
    assert failed.time == "1970-01-01T00:00:00.000+00:00"


def test_a_message_that_is_not_json_is_named_not_raised() -> None:
    failed = decode(FailedQueue(QUEUE), {"MessageId": "m", "ReceiptHandle": "r", "Body": "{ nope"})
    assert failed.event is None and "not JSON" in failed.error
    with pytest.raises(ValueError, match="holds no event"):
        failed_events.resend(failed)


def test_resending_on_aws_invokes_the_function_then_deletes_the_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """The AWS path, checked against botocore's own models of the Lambda and SQS APIs."""
    import boto3

    event = {"Records": [s3_event("results", "b/0001.json")]}
    failed = decode(FailedQueue(QUEUE), {"MessageId": "m1", "ReceiptHandle": "r1", "Body": on_failure_record(event)})
    lam = boto3.client("lambda", region_name="eu-west-1")
    sqs = boto3.client("sqs", region_name="eu-west-1")
    with Stubber(lam) as lambda_stub, Stubber(sqs) as sqs_stub:
        lambda_stub.add_response(
            "invoke",
            {"StatusCode": 202},
            {"FunctionName": ARN, "InvocationType": "Event", "Payload": json.dumps(event)},
        )
        sqs_stub.add_response("delete_message", {}, {"QueueUrl": QUEUE, "ReceiptHandle": "r1"})
        monkeypatch.setattr(failed_events, "_lambda", lambda: lam)
        monkeypatch.setattr(failed_events, "_sqs", lambda: sqs)
        assert "invoked" in failed_events.resend(failed)
        lambda_stub.assert_no_pending_responses()
        sqs_stub.assert_no_pending_responses()
