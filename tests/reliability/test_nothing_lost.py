"""Nothing lost (#14): versioned buckets, deletes racing with work, stale failure records, pages that never
reached the index, and names that collided. Each test names the item of the issue it proves.

Through the real functions: moto's S3 (versioned where the test says so), the
OpenSearch API server and the real Tesseract. moto emits no ObjectRemoved
events, so those are written here exactly as S3 sends them (with the
``versionId`` of the version removed); the state of the buckets they describe
is moto's own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.chaos import ChaosProxy
from tests.conftest import PAGES_BUCKET, RESULTS_BUCKET, SAMPLES, s3_event, sns_event
from tests.reliability.support import encode, failure_records, invoke_indexer, invoke_ocr, real_page, words

pytestmark = pytest.mark.integration
_sequence = iter(range(1, 10_000))


def event(bucket: str, key: str, name: str = "ObjectCreated:Put", **fields: Any) -> dict[str, Any]:
    """An S3 record with a sequencer larger than every earlier one of this module (S3's grow per key)."""
    number = next(_sequence)
    return s3_event(
        bucket,
        key,
        name=name,
        sequencer=f"0062A1B2C3D4E5{number:04X}",
        event_time=f"2026-11-25T10:{number // 60 % 60:02d}:{number % 60:02d}.000Z",
        **fields,
    )


def upload(s3: Any, key: str, body: bytes) -> dict[str, Any]:
    """Put an image and return the OCR function's SNS event for it, with its version id."""
    put = s3.put_object(Bucket=PAGES_BUCKET, Key=key, Body=body)
    record = event(PAGES_BUCKET, key, etag=put["ETag"].strip('"'), size=len(body))
    if put.get("VersionId"):
        record["s3"]["object"]["versionId"] = put["VersionId"]
    return sns_event(record)


def removal(bucket: str, key: str, version_id: str | None = None, marker: bool = False) -> dict[str, Any]:
    name = "ObjectRemoved:DeleteMarkerCreated" if marker else "ObjectRemoved:Delete"
    record = event(bucket, key, name=name)
    if version_id:
        record["s3"]["object"]["versionId"] = version_id
    return sns_event(record) if bucket == PAGES_BUCKET else {"Records": [record]}


def json_event(s3: Any, key: str) -> dict[str, Any]:
    """The indexer's event for the page JSON as it now stands."""
    head = s3.head_object(Bucket=RESULTS_BUCKET, Key=key)
    return {"Records": [event(RESULTS_BUCKET, key, etag=head["ETag"].strip('"'))]}


def statuses(summary: dict[str, Any]) -> list[str]:
    return [p["status"] for p in summary["pages"]]


def page_json(s3: Any, key: str) -> dict[str, Any] | None:
    try:
        return json.loads(s3.get_object(Bucket=RESULTS_BUCKET, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None


def indexed(settings: Any, book: str, page: str) -> dict[str, Any] | None:
    """The index's page record of the page (None when the page is not in the index)."""
    from lib.index.documents import page_id
    from lib.index.store import get_page_record
    from lib.opensearch import client

    return get_page_record(client(settings.opensearch_url), settings.opensearch_index, page_id(book, page))


def one() -> bytes:
    return encode(real_page(), "PNG", dpi=(200, 200))


def two() -> bytes:
    """Other text (eurotext's German and French lines)."""
    return encode(real_page(SAMPLES / "eurotext.tif").crop((0, 0, 1024, 420)), "PNG", dpi=(300, 300))


@pytest.fixture
def versioned(s3: Any) -> Any:
    for bucket in (PAGES_BUCKET, RESULTS_BUCKET):
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return s3


def ocr_and_index(s3: Any, key: str, body: bytes) -> dict[str, Any]:
    assert statuses(invoke_ocr(upload(s3, key, body))) == ["ocr"]
    result_key = key.rsplit(".", 1)[0] + ".json"
    assert statuses(invoke_indexer(json_event(s3, result_key))) == ["indexed"]
    return page_json(s3, result_key) or {}


# ------------------------------------------------------------------ 2. versioned buckets


def test_deleting_an_old_version_of_an_image_keeps_the_page(versioned: Any, settings: Any, tesseract: str) -> None:
    s3 = versioned
    first = s3.put_object(Bucket=PAGES_BUCKET, Key="v/0001.png", Body=one())["VersionId"]
    current = ocr_and_index(s3, "v/0001.png", two())
    s3.delete_object(Bucket=PAGES_BUCKET, Key="v/0001.png", VersionId=first)

    summary = invoke_ocr(removal(PAGES_BUCKET, "v/0001.png", version_id=first))
    assert statuses(summary) == ["skipped"] and "noncurrent" in summary["pages"][0]["detail"]
    assert page_json(s3, "v/0001.json") == current, "the live page JSON was deleted"
    assert indexed(settings, "v", "0001") is not None


def test_deleting_an_old_version_of_a_page_json_keeps_the_page_searchable(
    versioned: Any, settings: Any, tesseract: str
) -> None:
    s3 = versioned
    ocr_and_index(s3, "v/0002.png", one())
    ocr_and_index(s3, "v/0002.png", two())
    versions = s3.list_object_versions(Bucket=RESULTS_BUCKET, Prefix="v/0002.json")["Versions"]
    old = next(v["VersionId"] for v in versions if not v["IsLatest"])
    s3.delete_object(Bucket=RESULTS_BUCKET, Key="v/0002.json", VersionId=old)

    summary = invoke_indexer(removal(RESULTS_BUCKET, "v/0002.json", version_id=old))
    assert statuses(summary) == ["skipped"] and "noncurrent" in summary["pages"][0]["detail"]
    record = indexed(settings, "v", "0002")
    assert record is not None, "an old version's delete emptied search"
    assert record["source"]["etag"] == s3.head_object(Bucket=RESULTS_BUCKET, Key="v/0002.json")["ETag"].strip('"')


def test_deleting_the_latest_version_makes_the_older_one_the_page(
    versioned: Any, settings: Any, tesseract: str
) -> None:
    s3 = versioned
    ocr_and_index(s3, "v/0003.png", one())
    latest = s3.put_object(Bucket=PAGES_BUCKET, Key="v/0003.png", Body=two())
    assert statuses(invoke_ocr(upload(s3, "v/0003.png", two()))) == ["ocr"]
    s3.delete_object(Bucket=PAGES_BUCKET, Key="v/0003.png", VersionId=latest["VersionId"])
    newest = s3.list_object_versions(Bucket=PAGES_BUCKET, Prefix="v/0003.png")["Versions"]
    newest_id = next(v["VersionId"] for v in newest if v["IsLatest"])
    s3.delete_object(Bucket=PAGES_BUCKET, Key="v/0003.png", VersionId=newest_id)

    assert statuses(invoke_ocr(removal(PAGES_BUCKET, "v/0003.png", version_id=newest_id))) == ["ocr"]
    document = page_json(s3, "v/0003.json")
    assert document is not None and "quick brown dog" in document["text"], "the page is the version now current"
    assert statuses(invoke_indexer(json_event(s3, "v/0003.json"))) == ["indexed"]


def test_a_delete_marker_removes_the_page_and_its_index_entry(versioned: Any, settings: Any, tesseract: str) -> None:
    s3 = versioned
    ocr_and_index(s3, "v/0004.png", one())
    s3.delete_object(Bucket=PAGES_BUCKET, Key="v/0004.png")  # a delete marker: no version is current

    assert statuses(invoke_ocr(removal(PAGES_BUCKET, "v/0004.png", marker=True))) == ["deleted"]
    assert page_json(s3, "v/0004.json") is None
    assert statuses(invoke_indexer(removal(RESULTS_BUCKET, "v/0004.json", marker=True))) == ["deleted"]
    assert indexed(settings, "v", "0004") is None


# ------------------------------------------------------------------ 4. deletes racing with work


def test_an_image_deleted_while_its_ocr_runs_leaves_no_page(
    s3: Any, settings: Any, tesseract: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The removal runs to its end during the OCR (it finds no page JSON yet); then the OCR writes one."""
    import lib.ocr.flow as flow

    real = flow.ocr_page

    def deleted_meanwhile(*args: Any, **kwargs: Any) -> Any:
        done = real(*args, **kwargs)
        s3.delete_object(Bucket=PAGES_BUCKET, Key="race/0001.png")
        assert statuses(invoke_ocr(removal(PAGES_BUCKET, "race/0001.png"))) == ["skipped"]
        return done

    monkeypatch.setattr(flow, "ocr_page", deleted_meanwhile)
    summary = invoke_ocr(upload(s3, "race/0001.png", one()))
    assert statuses(summary) == ["skipped"] and "deleted while it was OCR'd" in summary["pages"][0]["detail"]
    assert page_json(s3, "race/0001.json") is None, "the deleted image's page lives on"


def test_a_page_json_deleted_while_its_bulk_runs_leaves_no_page(
    s3: Any, settings: Any, tesseract: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lib.index.flow as flow

    assert statuses(invoke_ocr(upload(s3, "race/0002.png", one()))) == ["ocr"]
    real = flow.run_bulk
    calls = []

    def deleted_meanwhile(client: Any, alias: str, actions: list[dict[str, Any]]) -> int:
        calls.append(len(actions))
        if len(calls) == 1:  # the page's bulk is in flight: the JSON is deleted, its removal runs to its end
            s3.delete_object(Bucket=RESULTS_BUCKET, Key="race/0002.json")
            assert statuses(invoke_indexer(removal(RESULTS_BUCKET, "race/0002.json"))) == ["skipped"]
        return real(client, alias, actions)

    monkeypatch.setattr(flow, "run_bulk", deleted_meanwhile)
    summary = invoke_indexer(json_event(s3, "race/0002.json"))
    assert statuses(summary) == ["skipped"] and "deleted while it was indexed" in summary["pages"][0]["detail"]
    assert indexed(settings, "race", "0002") is None
    from lib.opensearch import client

    body = {"query": {"term": {"book": "race"}}}
    hits = client(settings.opensearch_url).search(index=settings.opensearch_index, body=body)["hits"]["hits"]
    assert hits == [], "lines with no page JSON behind them"


# ------------------------------------------------------------------ 6. stale failure records


def test_good_bad_good_again_clears_the_failure_record(s3: Any, settings: Any, tesseract: str) -> None:
    ocr_and_index(s3, "stale/0001.png", one())
    assert statuses(invoke_ocr(upload(s3, "stale/0001.png", b"not an image at all"))) == ["failed"]
    assert [r["source"]["key"] for r in failure_records(s3)] == ["stale/0001.png"]

    summary = invoke_ocr(upload(s3, "stale/0001.png", one()))  # the same good bytes as the page JSON holds
    assert statuses(summary) == ["skipped"]
    assert failure_records(s3) == [], "the bad upload's record outlived the good bytes"


def test_ingest_progress_ignores_a_failure_record_of_an_earlier_upload(s3: Any, settings: Any, tesseract: str) -> None:
    from lib.opensearch import client
    from lib.progress import PageState, page_state

    assert statuses(invoke_ocr(upload(s3, "stale/0002.png", b"broken"))) == ["failed"]
    fixed = upload(s3, "stale/0002.png", one())
    etag = json.loads(fixed["Records"][0]["Sns"]["Message"])["Records"][0]["s3"]["object"]["eTag"]
    os_client = client(settings.opensearch_url)
    # Before the fixed upload is processed: the old record is not this upload's outcome.
    assert page_state(RESULTS_BUCKET, os_client, settings.opensearch_index, "stale/0002.png", etag) is None
    assert statuses(invoke_ocr(fixed)) == ["ocr"]
    assert statuses(invoke_indexer(json_event(s3, "stale/0002.json"))) == ["indexed"]
    state = page_state(RESULTS_BUCKET, os_client, settings.opensearch_index, "stale/0002.png", etag)
    assert state == PageState.INDEXED


# ------------------------------------------------------------------ 1. a page that never reached the index


@pytest.fixture
def opensearch_down(settings: Any, opensearch_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ChaosProxy]:
    """OPENSEARCH_URL through a proxy answering 503 to everything until ``clear()``."""
    proxy = ChaosProxy(opensearch_url).start()
    monkeypatch.setenv("OPENSEARCH_URL", proxy.url)
    monkeypatch.setenv("OPENSEARCH_TIMEOUT", "2")
    proxy.add(status=503, times=10**6)
    yield proxy
    proxy.stop()


def test_uploading_the_same_bytes_again_after_an_outage_makes_the_page_searchable(
    s3: Any, settings: Any, tesseract: str, opensearch_down: ChaosProxy
) -> None:
    from lib.outcome import RetryableFailure

    assert statuses(invoke_ocr(upload(s3, "outage/0001.png", one()))) == ["ocr"]
    with pytest.raises(RetryableFailure):
        invoke_indexer(json_event(s3, "outage/0001.json"))  # ... and its retries: the event ends in the DLQ
    opensearch_down.clear()
    assert indexed(settings, "outage", "0001") is None

    etag_before = s3.head_object(Bucket=RESULTS_BUCKET, Key="outage/0001.json")["ETag"]
    summary = invoke_ocr(upload(s3, "outage/0001.png", one()))  # the user uploads the same scan again
    assert statuses(summary) == ["skipped"] and "announced to the indexer again" in summary["pages"][0]["detail"]
    assert s3.head_object(Bucket=RESULTS_BUCKET, Key="outage/0001.json")["ETag"] == etag_before, "no second OCR"
    # S3 announced the page JSON again (a copy onto itself): the indexer gets that event.
    assert statuses(invoke_indexer(json_event(s3, "outage/0001.json"))) == ["indexed"]
    assert indexed(settings, "outage", "0001") is not None
    # Once indexed, the same announcement changes nothing.
    assert statuses(invoke_indexer(json_event(s3, "outage/0001.json"))) == ["skipped"]


# ------------------------------------------------------------------ 8. names that collided


def test_keys_that_differ_only_by_a_nul_are_two_pages(s3: Any, settings: Any, tesseract: str) -> None:
    from lib.index.documents import page_id

    assert page_id("nul\x00a", "1") != page_id("nul", "a\x001")
    assert page_id("book", "0001") == "dd1bc63be1dd80602a3b2e85", "names without NUL keep their ids"
    for key in ("nul\x00a/1.png", "nul/a\x001.png"):
        ocr_and_index(s3, key, one())
    assert indexed(settings, "nul\x00a", "1")["book"] == "nul\x00a"
    assert indexed(settings, "nul", "a\x001")["book"] == "nul"
    assert {"quick", "brown"} <= set(words(page_json(s3, "nul/a\x001.json") or {}))
