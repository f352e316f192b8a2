"""Duplicates and order: at-least-once, reordered delivery leaves the state of one delivery of the newest version.

Through both functions: the OCR handler gets the events moto's S3 emitted for
the pages bucket (through SNS), the indexer the events it emitted for what the
OCR function wrote. The state compared is everything in the results bucket
(keys, bytes, ETags, metadata) and every index document of the page (ids and
sources, fetched by a search filtered on book and page).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import PAGES_BUCKET, RESULTS_BUCKET, SAMPLES
from tests.reliability.conftest import Notifications
from tests.reliability.support import encode, invoke_indexer, invoke_ocr, real_page, words

pytestmark = pytest.mark.integration
FLAVOURS = ["aws", "moto"]  # with S3's sequencers / moto's events without them (order by event time)


def version_one() -> bytes:
    return encode(real_page(), "PNG", dpi=(200, 200))


def version_two() -> bytes:
    """A re-scan with different text and fewer lines: the index must shrink to it."""
    return encode(real_page(SAMPLES / "eurotext.tif").crop((0, 0, 1024, 420)), "PNG", dpi=(300, 300))


def s3_state(s3: Any) -> dict[str, Any]:
    """Everything in the results bucket: key -> (ETag, metadata, bytes)."""
    state = {}
    for item in s3.list_objects_v2(Bucket=RESULTS_BUCKET).get("Contents", []):
        obj = s3.get_object(Bucket=RESULTS_BUCKET, Key=item["Key"])
        state[item["Key"]] = (obj["ETag"], obj.get("Metadata", {}), obj["Body"].read())
    return state


def index_state(settings: Any, book: str, page: str) -> list[tuple[str, str]]:
    """(id, source) of every document of the page. ``indexed_at`` is when it was last written (see below)."""
    from lib.opensearch import client

    body = {"size": 10_000, "query": {"bool": {"filter": [{"term": {"book": book}}, {"term": {"page": page}}]}}}
    hits = client(settings.opensearch_url).search(index=settings.opensearch_index, body=body)["hits"]["hits"]
    return sorted(
        (h["_id"], json.dumps({k: v for k, v in h["_source"].items() if k != "indexed_at"}, sort_keys=True))
        for h in hits
    )


def deliver_ocr(events: list[dict[str, Any]], times: int = 1) -> list[str]:
    statuses = []
    for _ in range(times):
        for event in events:
            statuses += [p["status"] for p in invoke_ocr(event)["pages"]]
    return statuses


def deliver_index(events: list[dict[str, Any]], times: int = 1) -> list[str]:
    statuses = []
    for _ in range(times):
        for event in events:
            statuses += [p["status"] for p in invoke_indexer(event)["pages"]]
    return statuses


def assert_page_is(s3: Any, settings: Any, key: str, expected_words: set[str], docs: list[tuple[str, str]]) -> None:
    """The page JSON, the index and each other agree: one document of this version, nothing of another."""
    document = json.loads(s3.get_object(Bucket=RESULTS_BUCKET, Key=key)["Body"].read())
    assert expected_words <= set(words(document))
    [(_, source)] = docs
    page_doc = json.loads(source)
    assert page_doc["stats"]["lines"] == document["stats"]["lines"] and page_doc["text"] == document["text"]
    assert page_doc["source"]["etag"] == s3.head_object(Bucket=RESULTS_BUCKET, Key=key)["ETag"].strip('"')
    assert page_doc["source"]["image_key"] == document["source"]["key"]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_same_event_three_times_is_one_delivery(
    flavour: str, s3: Any, settings: Any, tesseract: str, notifications: Callable[[str], Notifications]
) -> None:
    emitted = notifications(flavour)
    s3.put_object(Bucket=PAGES_BUCKET, Key="dup/0001.png", Body=version_one())
    [upload] = emitted.ocr_events()

    assert deliver_ocr([upload]) == ["ocr"]
    [written] = emitted.index_events()
    assert deliver_index([written]) == ["indexed"]
    once_s3, once_index = s3_state(s3), index_state(settings, "dup", "0001")
    assert_page_is(s3, settings, "dup/0001.json", {"quick", "brown", "dog"}, once_index)

    # Two more deliveries of each event, as SNS and S3 may do.
    assert deliver_ocr([upload], times=2) == ["skipped", "skipped"]
    assert emitted.index_events() == [], "a duplicate made the OCR function write again"
    # The index's page record holds this version: nothing is written again (#14: the index decides).
    assert deliver_index([written], times=2) == ["skipped", "skipped"]

    assert s3_state(s3) == once_s3
    assert index_state(settings, "dup", "0001") == once_index


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize(
    ("old_key", "new_key"),
    [("order/0001.png", "order/0001.png"), ("order/0001.jpg", "order/0001.png")],
    ids=["same-key", "rescan-other-suffix"],
)
def test_two_versions_newest_first_is_one_delivery_of_the_newest(
    flavour: str,
    old_key: str,
    new_key: str,
    s3: Any,
    settings: Any,
    tesseract: str,
    notifications: Callable[[str], Notifications],
) -> None:
    """Both uploads happen, then their events arrive newest first, each twice."""
    emitted = notifications(flavour)
    old_bytes = encode(real_page(mode="RGB"), "JPEG", quality=92) if old_key.endswith(".jpg") else version_one()
    s3.put_object(Bucket=PAGES_BUCKET, Key=old_key, Body=old_bytes)
    time.sleep(0.005)  # distinct millisecond event times for moto's events, which have no sequencer
    s3.put_object(Bucket=PAGES_BUCKET, Key=new_key, Body=version_two())
    older, newer = emitted.ocr_events()

    assert deliver_ocr([newer]) == ["ocr"]
    written = emitted.index_events()
    assert deliver_index(written) == ["indexed"]
    newest_s3, newest_index = s3_state(s3), index_state(settings, "order", "0001")
    assert_page_is(s3, settings, "order/0001.json", {"renard", "brun", "Fuchs"}, newest_index)

    assert deliver_ocr([older, newer]) == ["skipped", "skipped"]
    assert emitted.index_events() == []
    assert deliver_index(written) == ["skipped"]  # the index holds this version already

    assert s3_state(s3) == newest_s3
    assert index_state(settings, "order", "0001") == newest_index
    document = json.loads(newest_s3["order/0001.json"][2])
    assert document["source"]["key"] == new_key and "Fuchs" in document["text"]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_two_page_json_versions_newest_first_reach_the_index_as_the_newest(
    flavour: str, s3: Any, settings: Any, tesseract: str, notifications: Callable[[str], Notifications]
) -> None:
    """Both page JSONs were written in order; the indexer gets their events newest first (and the older twice)."""
    emitted = notifications(flavour)
    s3.put_object(Bucket=PAGES_BUCKET, Key="late/0001.png", Body=version_one())
    assert deliver_ocr(emitted.ocr_events()) == ["ocr"]
    time.sleep(0.005)
    s3.put_object(Bucket=PAGES_BUCKET, Key="late/0001.png", Body=version_two())
    assert deliver_ocr(emitted.ocr_events()) == ["ocr"]
    first, second = emitted.index_events()

    assert deliver_index([second]) == ["indexed"]
    newest_s3, newest_index = s3_state(s3), index_state(settings, "late", "0001")
    assert_page_is(s3, settings, "late/0001.json", {"renard", "brun", "Fuchs"}, newest_index)
    assert deliver_index([first, first]) == ["skipped", "skipped"]
    assert s3_state(s3) == newest_s3
    assert index_state(settings, "late", "0001") == newest_index
