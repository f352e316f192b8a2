"""The indexer and search against a real OpenSearch API server, with real OCR output of real pages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from pagesearch import lambda_local
from tests.chaos import ChaosProxy
from tests.conftest import RESULTS_BUCKET, SAMPLES, ocr_page_json, s3_event, words_of

pytestmark = pytest.mark.integration


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    return lambda_local.invoke("indexer", event, stage="test")


def put_page(
    s3: Any,
    document: dict[str, Any],
    *,
    sequencer: str = "0062A1B2C3D4E5F601",
    event_time: str = "2026-11-25T09:00:00.000Z",
) -> dict[str, Any]:
    key = f"{document['book']}/{document['page']}.json"
    response = s3.put_object(
        Bucket=RESULTS_BUCKET, Key=key, Body=json.dumps(document).encode(), ContentType="application/json"
    )
    record = s3_event(RESULTS_BUCKET, key, etag=response["ETag"].strip('"'), sequencer=sequencer, event_time=event_time)
    return {"Records": [record]}


def search(settings: Any, query: str, **kwargs: Any) -> dict[str, Any]:
    from lib.opensearch import client
    from lib.search.query import search as run

    return run(client(settings.opensearch_url), settings.opensearch_index, query, **kwargs)


def page_docs(settings: Any, book: str, page: str) -> list[dict[str, Any]]:
    from lib.opensearch import client

    body = {"size": 1000, "query": {"bool": {"filter": [{"term": {"book": book}}, {"term": {"page": page}}]}}}
    hits = client(settings.opensearch_url).search(index=settings.opensearch_index, body=body)["hits"]["hits"]
    return sorted((h["_id"], h["_source"].get("text"), h["_source"].get("kind")) for h in hits)


@pytest.fixture
def library(s3: Any, settings: Any, page_json_cache: dict[str, Any], tesseract: str) -> dict[str, dict[str, Any]]:
    """Three real pages in two books, indexed through the handler."""
    pages = {
        "photo": ocr_page_json(page_json_cache, SAMPLES / "phototest.tif", book="tests", page="0001"),
        "euro": ocr_page_json(page_json_cache, SAMPLES / "eurotext.tif", book="tests", page="0002"),
        "moat": ocr_page_json(page_json_cache, SAMPLES / "d015.tiff", book="child-of-the-moat", page="0015"),
    }
    for document in pages.values():
        assert invoke(put_page(s3, document))["pages"][0]["status"] == "indexed"
    return pages


def first_line_with(document: dict[str, Any], word: str) -> dict[str, Any]:
    from lib.page_json import iter_lines

    return next(line for _, _, line in iter_lines(document["blocks"]) if word in line["text"].split())


def test_a_word_finds_its_lines_with_the_words_box(library: dict[str, Any], settings: Any) -> None:
    result = search(settings, "Fuchs")
    assert result["total"] >= 1
    hit = result["hits"][0]
    assert (hit["book"], hit["page"]) == ("tests", "0002")
    line = first_line_with(library["euro"], next(w for w in hit["text"].split() if "Fuchs" in w))
    word = next(w for w in line["words"] if "Fuchs" in w["text"])
    assert {"text": word["text"], "bbox": word["bbox"]} in hit["words"]
    assert hit["bbox"] == line["bbox"]
    assert set(hit) >= {"book", "page", "line", "text", "snippet", "bbox", "words", "score"}


def test_a_quoted_phrase_is_found_within_a_line(library: dict[str, Any], settings: Any) -> None:
    result = search(settings, '"lazy fox"')
    assert result["total"] >= 3
    for hit in result["hits"]:
        assert "<em>lazy</em> <em>fox" in hit["snippet"]
        assert [w["text"].strip(".,") for w in hit["words"]] == ["lazy", "fox"]
    assert search(settings, '"fox lazy"')["total"] == 0


def test_a_phrase_broken_across_two_lines_still_finds_the_page(library: dict[str, Any], settings: Any) -> None:
    document = library["moat"]
    first, second, phrase = _phrase_across_a_line_break(document)
    result = search(settings, f'"{phrase}"')
    assert result["total"] >= 1
    hit = next(h for h in result["hits"] if (h["book"], h["page"]) == ("child-of-the-moat", "0015"))
    assert [w["bbox"] for w in hit["words"]] == [first["words"][-1]["bbox"], second["words"][0]["bbox"]]
    assert hit["bbox"][1] <= first["bbox"][1] and hit["bbox"][3] >= second["bbox"][3]
    assert "<em>" in hit["snippet"]


def _phrase_across_a_line_break(document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Last word of a line + first word of the next line of its paragraph, found on no single line."""
    texts = [
        " ".join(words_of(line["text"])) for b in document["blocks"] for p in b["paragraphs"] for line in p["lines"]
    ]
    for block in document["blocks"]:
        for paragraph in block["paragraphs"]:
            for first, second in zip(paragraph["lines"], paragraph["lines"][1:], strict=False):
                tail, head = words_of(first["words"][-1]["text"]), words_of(second["words"][0]["text"])
                if len(tail) == 1 and len(head) == 1 and len(tail[0]) > 2 and len(head[0]) > 2:
                    phrase = f"{tail[0]} {head[0]}"
                    if not any(phrase in text for text in texts):
                        return first, second, phrase
    raise AssertionError("no line break to test on this page")


def test_one_wrong_letter_still_finds_the_line(library: dict[str, Any], settings: Any) -> None:
    result = search(settings, "qiuck")  # transposition: OCR and typing errors alike
    assert result["total"] >= 1 and all("quick" in h["text"] for h in result["hits"])
    assert search(settings, "brpwn")["total"] >= 1


def test_search_restricted_to_a_book(library: dict[str, Any], settings: Any) -> None:
    everywhere = search(settings, "the", limit=100)
    assert {h["book"] for h in everywhere["hits"]} == {"tests", "child-of-the-moat"}
    only = search(settings, "the", book="child-of-the-moat", limit=100)
    assert only["hits"] and {h["book"] for h in only["hits"]} == {"child-of-the-moat"}
    assert search(settings, "the", book="no-such-book")["total"] == 0


def test_snippet_highlights_exactly_the_matched_words(library: dict[str, Any], settings: Any) -> None:
    hit = search(settings, "moat")["hits"][0]
    marked = [t for t in hit["snippet"].split() if "<em>" in t]
    assert marked and all("moat" in t.lower() for t in marked)
    assert all(w["text"].lower().strip(".,") in ("moat", "moat;") for w in hit["words"])


def test_reindex_with_fewer_lines_removes_the_rest(library: dict[str, Any], s3: Any, settings: Any) -> None:
    document = json.loads(json.dumps(library["photo"]))
    before = page_docs(settings, "tests", "0001")
    paragraph = document["blocks"][0]["paragraphs"][-1]
    paragraph["lines"] = paragraph["lines"][:1]
    kept = sum(len(p["lines"]) for b in document["blocks"] for p in b["paragraphs"])
    invoke(put_page(s3, document, sequencer="0062A1B2C3D4E5F602", event_time="2026-11-25T09:01:00.000Z"))
    after = page_docs(settings, "tests", "0001")
    assert len([d for d in after if d[2] == "line"]) == kept < len([d for d in before if d[2] == "line"])
    assert search(settings, '"lazy fox"', book="tests")["total"] < 3


def test_replacing_writes_new_lines_before_removing_old_ones() -> None:
    from lib.index.documents import index_documents as build
    from lib.index.documents import replace_actions
    from lib.versions import SourceVersion
    from tests.conftest import ocr_page_json as _unused  # noqa: F401 - keeps imports uniform

    document = {
        "book": "b",
        "page": "1",
        "page_number": 1,
        "image": {"width": 10, "height": 10},
        "source": {"key": "b/1.png"},
        "blocks": [
            {
                "bbox": [0, 0, 9, 9],
                "paragraphs": [
                    {
                        "bbox": [0, 0, 9, 9],
                        "lines": [
                            {
                                "text": "one",
                                "bbox": [0, 0, 9, 4],
                                "conf": 90,
                                "words": [{"text": "one", "bbox": [0, 0, 9, 4], "conf": 90}],
                            }
                        ],
                    }
                ],
            }
        ],
    }
    docs = build(document, SourceVersion("b/1.json", "t"), "2026-11-25T00:00:00Z")
    actions = list(replace_actions(docs, {"high_water": 5, "lines": 5}))
    ops = [a["_op_type"] for a in actions]
    assert ops == ["index", "delete", "delete", "delete", "delete", "index"]
    assert actions[-1]["_source"]["high_water"] == 5


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
    assert page_docs(settings, "tests", "0002") == []
    assert search(settings, "Fuchs")["total"] == 0
    assert search(settings, "quick")["total"] >= 1


def test_an_older_json_never_overwrites_a_newer_one(library: dict[str, Any], s3: Any, settings: Any) -> None:
    newer = json.loads(json.dumps(library["moat"]))
    newer["blocks"] = newer["blocks"][:1]
    newer_event = put_page(s3, newer, sequencer="0062A1B2C3D4E5F6A0", event_time="2026-11-25T09:05:00.000Z")
    invoke(newer_event)
    expected = page_docs(settings, "child-of-the-moat", "0015")
    older_event = put_page(s3, library["moat"], sequencer="0062A1B2C3D4E5F690", event_time="2026-11-25T09:04:00.000Z")
    assert invoke(older_event)["pages"][0]["status"] == "skipped"
    assert page_docs(settings, "child-of-the-moat", "0015") == expected


def test_page_json_that_fails_the_schema_gets_a_failure_record(s3: Any, settings: Any) -> None:
    s3.put_object(Bucket=RESULTS_BUCKET, Key="bad/0001.json", Body=b'{"book": "bad", "page": "0001"}')
    s3.put_object(Bucket=RESULTS_BUCKET, Key="bad/0002.json", Body=b"{not json")
    events = {"Records": [s3_event(RESULTS_BUCKET, "bad/0001.json"), s3_event(RESULTS_BUCKET, "bad/0002.json")]}
    summary = invoke(events)
    assert [p["status"] for p in summary["pages"]] == ["failed", "failed"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=RESULTS_BUCKET, Prefix="failed/")["Contents"]]
    assert sorted(keys) == ["failed/bad/0001.json.failure", "failed/bad/0002.json.failure"]


@pytest.fixture
def proxied(settings: Any, monkeypatch: pytest.MonkeyPatch, opensearch_url: str) -> Iterator[ChaosProxy]:
    proxy = ChaosProxy(opensearch_url).start()
    monkeypatch.setenv("OPENSEARCH_URL", proxy.url)
    yield proxy
    proxy.stop()


def test_refresh_is_asked_for_where_it_is_needed_and_nowhere_else(
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
    # The lines, then the page record alone: a record holding a version means all its lines are in.
    assert len(bulks) == 2, "one page is its lines' bulk, then its page record's"
    assert bulks[1].body.count(b'"_op_type"') == 0 and bulks[1].body.count(b"\n") == 2
    for bulk in bulks:
        assert bulk.path == f"/{settings.opensearch_index}/_bulk", "the index is in the path, where IAM can scope it"
        assert "refresh" not in bulk.query
    assert not [r for r in proxied.requests() if "_search" in r.path], "the indexer never depends on a search"
    assert [r.method for r in proxied.requests() if "/_doc/" in r.path] == ["GET"], "the page document, read real-time"
    make_searchable(client(proxied.url), settings.opensearch_index)
    assert [r for r in proxied.requests() if r.path == f"/{settings.opensearch_index}/_refresh" and r.method == "POST"]
