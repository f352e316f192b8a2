"""The indexer against a real OpenSearch API server, with real OCR output of real pages: one document per page."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.chaos import ChaosProxy
from tests.conftest import RESULTS_BUCKET, SAMPLES, ocr_page_json, s3_event
from tests.integration.conftest import index, invoke, put_page, search, stored

pytestmark = pytest.mark.integration


def test_a_page_is_one_document_with_its_words_spans_and_boxes(library: dict[str, Any], settings: Any) -> None:
    from lib.page_json import iter_lines

    document = library["euro"]
    doc = stored(settings, "tests", "0002")
    assert doc is not None and doc["stats"]["words"] == document["stats"]["words"]
    words = [w for _, _, line in iter_lines(document["blocks"]) for w in line["words"]]
    assert [doc["text"][s:e] for s, e, *_ in doc["words"]] == [w["text"] for w in words]
    assert [box for _, _, *box in doc["words"]] == [w["bbox"] for w in words]
    paragraphs = sum(len(b["paragraphs"]) for b in document["blocks"])
    assert doc["text"].count("\n\n") == paragraphs - 1, "a blank line between paragraphs, a newline between lines"
    assert doc["text"].count("\n") == document["stats"]["lines"] - 1 + paragraphs - 1
    image = document["image"]
    expected = {"width": image["width"], "height": image["height"], "format": "TIFF", "display": image["display"]}
    assert doc["image"] == expected


def test_a_page_with_fewer_words_replaces_the_page(library: dict[str, Any], s3: Any, settings: Any) -> None:
    document = json.loads(json.dumps(library["photo"]))
    paragraph = document["blocks"][0]["paragraphs"][-1]
    paragraph["lines"] = paragraph["lines"][:1]
    index(s3, document, sequencer="0062A1B2C3D4E5F602", event_time="2026-11-25T09:01:00.000Z")
    doc = stored(settings, "tests", "0001")
    assert doc is not None and doc["stats"]["lines"] == sum(
        len(p["lines"]) for p in document["blocks"][0]["paragraphs"]
    )
    before = 4  # occurrences of "lazy fox" on the whole phototest page
    expected = len(re.findall(r"lazy\s+fox", doc["text"], flags=re.IGNORECASE))
    found = search(settings, '"lazy fox"', book="tests")
    assert expected < before and sum(len(p.hits) for p in found.pages) == expected


def test_deleting_the_json_removes_the_page(library: dict[str, Any], s3: Any, settings: Any) -> None:
    s3.delete_object(Bucket=RESULTS_BUCKET, Key="tests/0002.json")
    removal = s3_event(
        RESULTS_BUCKET,
        "tests/0002.json",
        name="ObjectRemoved:Delete",
        sequencer="0062A1B2C3D4E5F6FF",
        event_time="2026-11-25T10:00:00.000Z",
    )
    assert invoke({"Records": [removal]})["pages"][0]["status"] == "deleted"
    assert stored(settings, "tests", "0002") is None
    assert search(settings, "Fuchs").total == 0
    assert search(settings, "quick").total >= 1


def test_an_older_json_never_overwrites_a_newer_one(library: dict[str, Any], s3: Any, settings: Any) -> None:
    newer = json.loads(json.dumps(library["moat"]))
    newer["blocks"] = newer["blocks"][:1]
    invoke(put_page(s3, newer, sequencer="0062A1B2C3D4E5F6A0", event_time="2026-11-25T09:05:00.000Z"))
    expected = stored(settings, "child-of-the-moat", "0015")
    older_event = put_page(s3, library["moat"], sequencer="0062A1B2C3D4E5F690", event_time="2026-11-25T09:04:00.000Z")
    assert invoke(older_event)["pages"][0]["status"] == "skipped"
    assert stored(settings, "child-of-the-moat", "0015") == expected


def test_page_json_that_fails_the_schema_gets_a_failure_record(s3: Any, settings: Any) -> None:
    s3.put_object(Bucket=RESULTS_BUCKET, Key="bad/0001.json", Body=b'{"book": "bad", "page": "0001"}')
    s3.put_object(Bucket=RESULTS_BUCKET, Key="bad/0002.json", Body=b"{not json")
    events = {"Records": [s3_event(RESULTS_BUCKET, "bad/0001.json"), s3_event(RESULTS_BUCKET, "bad/0002.json")]}
    summary = invoke(events)
    assert [p["status"] for p in summary["pages"]] == ["failed", "failed"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=RESULTS_BUCKET, Prefix="failed/")["Contents"]]
    assert sorted(keys) == ["failed/bad/0001.json.failure", "failed/bad/0002.json.failure"]


@pytest.mark.parametrize(
    ("page", "number"), [("9780140449136", 9780140449136), ("2147483648", 2147483648), ("0042", 42)]
)
def test_large_page_numbers_and_coordinates_are_indexed(
    s3: Any, settings: Any, page_json_cache: dict[str, Any], tesseract: str, page: str, number: int
) -> None:
    """#14, 3: an ISBN or 2**31 as page name overflowed the `integer` field, retried forever, no record."""
    document = ocr_page_json(page_json_cache, SAMPLES / "phototest.tif", book="numbers", page=page)
    document["blocks"][0]["bbox"][2] = 2**31 - 1  # the largest coordinate the schema allows
    index(s3, document)
    doc = stored(settings, "numbers", page)
    assert doc is not None and doc["page_number"] == number
    assert search(settings, '"lazy fox"', book="numbers").pages[0].page_number == number


def test_a_mapping_rejection_is_a_failure_record_not_an_endless_retry(
    s3: Any, settings: Any, page_json_cache: dict[str, Any], tesseract: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#14, 3: whatever OpenSearch refuses of a page's document ends in a record (the page is one document,
    so nothing of it is half written)."""
    import lib.index.documents as documents

    document = ocr_page_json(page_json_cache, SAMPLES / "phototest.tif", book="rejected", page="0001")
    real = documents.page_document

    def with_a_field_the_strict_mapping_refuses(*args: Any, **kwargs: Any) -> Any:
        doc = real(*args, **kwargs)
        doc.body["not_in_the_mapping"] = 1
        return doc

    monkeypatch.setattr("lib.index.flow.page_document", with_a_field_the_strict_mapping_refuses)
    summary = invoke(put_page(s3, document))
    assert summary["pages"][0]["status"] == "failed" and "refused" in summary["pages"][0]["detail"]
    assert stored(settings, "rejected", "0001") is None
    assert s3.list_objects_v2(Bucket=RESULTS_BUCKET, Prefix="failed/rejected/")["KeyCount"] == 1


@pytest.fixture
def proxied(settings: Any, monkeypatch: pytest.MonkeyPatch, opensearch_url: str) -> Iterator[ChaosProxy]:
    proxy = ChaosProxy(opensearch_url).start()
    monkeypatch.setenv("OPENSEARCH_URL", proxy.url)
    yield proxy
    proxy.stop()


def test_a_page_is_one_request_and_never_waits_for_a_refresh(
    proxied: ChaosProxy, s3: Any, settings: Any, page_json_cache: dict[str, Any], tesseract: str
) -> None:
    """The local server has no refresh lag, so prove from the requests what the code relies on.

    The indexer reads only by real-time GET (no search, so no refresh needed for
    correctness) and its bulk does not wait for a refresh (which would hold and
    bill every invocation up to a second); a caller that waits for pages and
    then searches (pagesearch ingest) refreshes once.
    """
    from lib.index.store import make_searchable
    from lib.opensearch import client

    document = ocr_page_json(page_json_cache, SAMPLES / "phototest.tif", book="refresh", page="0001")
    invoke(put_page(s3, document))
    bulks = [r for r in proxied.requests() if r.path.endswith("/_bulk")]
    assert len(bulks) == 1 and bulks[0].body.count(b"\n") == 2, "one page is one document in one request"
    assert bulks[0].path == f"/{settings.opensearch_index}/_bulk", "the index is in the path, where IAM can scope it"
    assert "refresh" not in bulks[0].query
    assert not [r for r in proxied.requests() if "_search" in r.path], "the indexer never depends on a search"
    reads = [r for r in proxied.requests() if "/_doc/" in r.path]
    assert [r.method for r in reads] == ["GET"] and "_source_includes" in reads[0].query, "its version, read real-time"
    make_searchable(client(proxied.url), settings.opensearch_index)
    assert [r for r in proxied.requests() if r.path == f"/{settings.opensearch_index}/_refresh" and r.method == "POST"]


def test_a_page_of_20000_lines_is_one_bounded_request_and_a_retry_resends_nothing(
    proxied: ChaosProxy, s3: Any, settings: Any
) -> None:
    """#14, 10: a 2.9 MB page JSON of 20,000 lines became one bulk that ran past the client timeout, was sent
    again and again, and grew the local server to 18 GB. Now a page is one document, written once."""
    lines = [
        {
            "bbox": [10, 10 + 12 * n, 70, 20 + 12 * n],
            "text": f"g{n}",
            "conf": 90.0,
            "words": [{"text": f"g{n}", "bbox": [10, 10 + 12 * n, 70, 20 + 12 * n], "conf": 90.0}],
        }
        for n in range(20_000)
    ]
    document = {
        "schema_version": 1, "book": "gazette", "page": "0001", "page_number": 1,
        "source": {"bucket": "test-pages", "key": "gazette/0001.tif"},
        "image": {"width": 500, "height": 240_100, "dpi": 300, "dpi_from_file": True, "format": "TIFF", "frames": 1},
        "ocr": {"engine": "tesseract 5.3.0", "lang": "eng", "psm": 3, "duration_ms": 1},
        "stats": {"blocks": 1, "lines": 20_000, "words": 20_000},
        "text": "\n".join(line["text"] for line in lines),
        "blocks": [{"bbox": [10, 10, 400, 240_020], "paragraphs": [{"bbox": [10, 10, 400, 240_020], "lines": lines}]}],
    }  # fmt: skip
    event = put_page(s3, document)
    assert len(s3.get_object(Bucket=RESULTS_BUCKET, Key="gazette/0001.json")["Body"].read()) < 4 * 1024 * 1024
    assert invoke(event)["pages"][0]["status"] == "indexed"
    [bulk] = [r for r in proxied.requests() if r.path.endswith("/_bulk")]
    assert bulk.body.count(b"\n") == 2 and len(bulk.body) < 10 * 1024 * 1024, "one document under 10 MiB"
    assert search(settings, "g19999", book="gazette").pages[0].hits[0].boxes == [[10, 239998, 70, 240008]]
    assert invoke(event)["pages"][0]["status"] == "skipped", "a redelivery resends nothing"
    assert len([r for r in proxied.requests() if r.path.endswith("/_bulk")]) == 1
