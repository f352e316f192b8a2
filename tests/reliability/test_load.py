"""Load: 300 page uploads at once into the local stack end as 300 page JSONs and 300 searchable pages.

The local stack is the real wiring (moto_server's S3 -> SNS -> SQS, the
dispatcher calling both handlers with Lambda's events, the OpenSearch API
server), started in a private state directory. The pages are copies of real
pages under distinct keys, uploaded by 16 threads. The time from the first
upload to the last page searchable is printed and recorded (``-rP`` or the
JUnit report's properties show it); it is a measurement, not an assertion.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLES

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
PAGES = 300
BOOK = "load"
DEADLINE_S = 20 * 60  # a bound on waiting, far above the measured time: not a performance assertion
STALLED_S = 180  # no page written nor indexed for this long: the pipeline is stuck, stop waiting for it


def _count_json(s3: Any, bucket: str) -> int:
    total = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{BOOK}/"):
        total += sum(1 for item in page.get("Contents", []) if item["Key"].endswith(".json"))
    return total


def _count_pages(client: Any, index: str) -> int:
    if not client.indices.exists(index=index):
        return 0
    query = {"query": {"bool": {"filter": [{"term": {"book": BOOK}}]}}}  # one document per page
    return int(client.count(index=index, body=query)["count"])


def _queue_depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_300_uploads_at_once_end_as_300_searchable_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tesseract: str, record_property: Any
) -> None:
    import boto3

    from lib.opensearch import client as opensearch_client
    from lib.search.query import search
    from pagesearch import stack

    monkeypatch.setenv("PAGESEARCH_STATE_DIR", str(tmp_path / "stack"))
    running = stack.up()
    try:
        env = running.env()
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        s3 = boto3.client("s3", endpoint_url=running.aws_endpoint)
        sqs = boto3.client("sqs", endpoint_url=running.aws_endpoint)
        os_client = opensearch_client(running.opensearch_url)
        sources = [SAMPLES / "phototest.tif", SAMPLES / "eurotext.tif"]
        bodies = [path.read_bytes() for path in sources]
        # Nine in ten are the small phototest page, one in ten eurotext: real pages of two layouts.
        uploads = [(f"{BOOK}/{n:04d}.tif", bodies[1 if n % 10 == 9 else 0]) for n in range(PAGES)]

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda item: s3.put_object(Bucket=running.pages_bucket, Key=item[0], Body=item[1]), uploads))
        uploaded = time.monotonic() - started
        json_count = pages = 0
        progress, moved = (0, 0), time.monotonic()
        while time.monotonic() - started < DEADLINE_S and time.monotonic() - moved < STALLED_S:
            json_count = _count_json(s3, running.results_bucket)
            pages = _count_pages(os_client, running.opensearch_index)
            if json_count >= PAGES and pages >= PAGES:
                break
            if (json_count, pages) != progress:
                progress, moved = (json_count, pages), time.monotonic()
            time.sleep(1)
        elapsed = time.monotonic() - started

        failures = _keys(s3, running.results_bucket, "failed/")
        assert failures == [], failures[:5]
        assert (json_count, pages) == (PAGES, PAGES)
        assert (
            _count_json(s3, running.results_bucket) == PAGES
            and _count_pages(os_client, running.opensearch_index) == PAGES
        )
        hits = search(os_client, running.opensearch_index, '"lazy fox"', book=BOOK, limit=100)
        assert hits.total >= PAGES * 9 // 10 and len({p.page for p in hits.pages}) > 1
        for queue in (running.ocr_queue, running.index_queue):
            assert _queue_depth(sqs, f"{queue}-dlq") == 0, "a message went to the dead-letter queue"
    finally:
        stack.down()

    result = {
        "pages": PAGES,
        "upload_s": round(uploaded, 1),
        "elapsed_s": round(elapsed, 1),
        "pages_per_minute": round(PAGES / elapsed * 60, 1),
        "workers": _workers(),
    }
    record_property("load", json.dumps(result))
    print(f"\nload test: {json.dumps(result)}")


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return keys


def _workers() -> int:
    import os

    return int(os.environ.get("PAGESEARCH_WORKERS") or os.cpu_count() or 2)
