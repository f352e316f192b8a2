"""What the integration tests share: page JSONs of real pages put where the indexer reads them, and the
whole pipeline wired as serverless.yml wires it (``pipeline``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from pagesearch import lambda_local
from tests.conftest import PAGES_BUCKET, RESULTS_BUCKET, SAMPLES, ocr_page_json, s3_event


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    return lambda_local.invoke("indexer", event, stage="test")


def put_page(
    s3: Any,
    document: dict[str, Any],
    *,
    sequencer: str = "0062A1B2C3D4E5F601",
    event_time: str = "2026-11-25T09:00:00.000Z",
) -> dict[str, Any]:
    """Write BOOK/PAGE.json as the OCR function would; returns the event S3 emits for it."""
    key = f"{document['book']}/{document['page']}.json"
    response = s3.put_object(
        Bucket=RESULTS_BUCKET, Key=key, Body=json.dumps(document).encode(), ContentType="application/json"
    )
    record = s3_event(RESULTS_BUCKET, key, etag=response["ETag"].strip('"'), sequencer=sequencer, event_time=event_time)
    return {"Records": [record]}


def index(s3: Any, document: dict[str, Any], **kwargs: Any) -> None:
    [outcome] = invoke(put_page(s3, document, **kwargs))["pages"]
    assert outcome["status"] == "indexed", outcome


def search(settings: Any, query: str, **kwargs: Any) -> Any:
    from lib.opensearch import client
    from lib.search.query import search as run

    return run(client(settings.opensearch_url), settings.opensearch_index, query, **kwargs)


def stored(settings: Any, book: str, page: str) -> dict[str, Any] | None:
    """The page's document in the index, as stored."""
    from opensearchpy.exceptions import NotFoundError

    from lib.index.documents import page_id
    from lib.opensearch import client

    try:
        return client(settings.opensearch_url).get(index=settings.opensearch_index, id=page_id(book, page))["_source"]
    except NotFoundError:
        return None


@pytest.fixture
def library(s3: Any, settings: Any, page_json_cache: dict[str, Any], tesseract: str) -> dict[str, dict[str, Any]]:
    """Three real pages in two books, indexed through the handler."""
    pages = {
        "photo": ocr_page_json(page_json_cache, SAMPLES / "phototest.tif", book="tests", page="0001"),
        "euro": ocr_page_json(page_json_cache, SAMPLES / "eurotext.tif", book="tests", page="0002"),
        "moat": ocr_page_json(page_json_cache, SAMPLES / "d015.tiff", book="child-of-the-moat", page="0015"),
    }
    for document in pages.values():
        index(s3, document)
    return pages


def synthetic_page(book: str, page: str, paragraphs: list[list[str]]) -> dict[str, Any]:
    """A valid page JSON whose paragraphs hold these lines (words split on spaces, ``_`` for a space inside one)."""
    from lib.page_json import build_page_json

    blocks, top = [], 10
    paras = []
    for lines in paragraphs:
        line_docs = []
        for text in lines:
            words, left = [], 10
            for token in text.split():
                word = token.replace("_", " ")
                width = 12 * len(word)
                words.append({"text": word, "bbox": [left, top, left + width, top + 20], "conf": 95.0})
                left += width + 10
            line_docs.append(
                {
                    "bbox": [10, top, left - 10, top + 20],
                    "text": " ".join(w["text"] for w in words),
                    "conf": 95.0,
                    "words": words,
                }
            )
            top += 30
        paras.append(
            {
                "bbox": [10, line_docs[0]["bbox"][1], max(ln["bbox"][2] for ln in line_docs), top - 10],
                "lines": line_docs,
            }
        )
        top += 20
    blocks.append({"bbox": [10, 10, max(p["bbox"][2] for p in paras), top], "paragraphs": paras})
    return build_page_json(
        book=book,
        page=page,
        page_number=int(page) if page.isdigit() else None,
        source={"bucket": "test-pages", "key": f"{book}/{page}.png"},
        image={
            **{"width": 2000, "height": top + 10, "dpi": 300, "dpi_from_file": True, "format": "PNG", "frames": 1},
            **{"rotation": 0, "deskew": 0.0, "scale": 1.0},
        },
        ocr={"engine": "tesseract 5.3.0 (synthetic test page)", "lang": "eng", "psm": 3, "duration_ms": 0, "passes": 1},
        blocks=blocks,
    )


@dataclass
class Pipeline:
    s3: Any
    sqs: Any
    queues: dict[str, str]
    summaries: list[dict[str, Any]]

    def run(self, rounds: int = 40) -> list[dict[str, Any]]:
        """Drain every queue into its function until nothing moves; the outcomes of every record handled."""
        outcomes: list[dict[str, Any]] = []
        for _ in range(rounds):
            moved = False
            for function, url in self.queues.items():
                for message in self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                    self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                    if '"s3:TestEvent"' in message["Body"].replace("\\", ""):
                        continue
                    event = lambda_local.from_queue(function, message["Body"], message["MessageId"])
                    summary = lambda_local.invoke(function, event, stage="test")
                    outcomes += [{"function": function, **o} for o in summary["pages"]]
                    moved = True
            if not moved:
                return outcomes
        raise AssertionError("the pipeline never came to rest")

    def upload(self, key: str, data: bytes) -> str:
        return self.s3.put_object(Bucket=PAGES_BUCKET, Key=key, Body=data)["ETag"].strip('"')

    def page(self, book: str, page: str) -> dict[str, Any]:
        return json.loads(self.s3.get_object(Bucket=RESULTS_BUCKET, Key=f"{book}/{page}.json")["Body"].read())

    def keys(self, bucket: str, prefix: str = "") -> set[str]:
        return {o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])}

    def page_jsons(self, book: str) -> set[str]:
        return {k.rpartition("/")[2][:-5] for k in self.keys(RESULTS_BUCKET, f"{book}/") if k.endswith(".json")}

    def status(self, key: str, book: str) -> dict[str, Any]:
        from lib.keys import split_status_key

        obj = self.s3.get_object(Bucket=RESULTS_BUCKET, Key=split_status_key(key, book))
        return json.loads(obj["Body"].read())

    def failures(self) -> list[dict[str, Any]]:
        from lib.failures import list_failures

        return list_failures(RESULTS_BUCKET)


@pytest.fixture
def pipeline(s3: Any, settings: Any, tesseract: str, monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    import boto3

    from lib import jobs
    from pagesearch.stack import notification_configuration

    jobs.sqs_client.cache_clear()
    jobs.queue_url.cache_clear()
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="pages")["TopicArn"]
    queues, arns = {}, {}
    for function in ("splitter", "ocr", "indexer"):
        queues[function] = sqs.create_queue(QueueName=f"{function}-trigger")["QueueUrl"]
        arns[function] = sqs.get_queue_attributes(QueueUrl=queues[function], AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arns["ocr"])
    s3.put_bucket_notification_configuration(
        Bucket=PAGES_BUCKET,
        NotificationConfiguration=notification_configuration("pages", topic, {"books": arns["splitter"]}),
    )
    s3.put_bucket_notification_configuration(
        Bucket=RESULTS_BUCKET, NotificationConfiguration=notification_configuration("results", arns["indexer"])
    )
    monkeypatch.setenv("SPLIT_QUEUE_URL", queues["splitter"])
    monkeypatch.setenv("OUTPUTS", "alto,hocr")
    yield Pipeline(s3, sqs, queues, [])
    jobs.sqs_client.cache_clear()
    jobs.queue_url.cache_clear()
