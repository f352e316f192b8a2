"""The search HTTP API (#12) through its Lambda handler, against the OpenSearch API server with real OCR output.

Every answer is checked against the structure its IIIF Content Search version
requires (types, required properties, ids that resolve inside the answer,
boxes that are the words' boxes), paging is walked to the end and back, and
what a user can send wrong is a 400, an unknown book a 404, a failing
OpenSearch a 503: never a 500.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from pagesearch.lambda_local import http_event, invoke
from tests.chaos import ChaosProxy
from tests.conftest import words_of
from tests.integration.conftest import index, search, synthetic_page

pytestmark = pytest.mark.integration

BASE = "http://127.0.0.1:8080"
V1_CONTEXT = ["http://iiif.io/api/presentation/2/context.json", "http://iiif.io/api/search/1/context.json"]
V2_CONTEXT = "http://iiif.io/api/search/2/context.json"
FRAGMENT = re.compile(r"^(?P<canvas>.+/iiif/[^/]+/canvas/[^/#]+)#xywh=(\d+),(\d+),(\d+),(\d+)$")


def call(path: str, query: Any = None, **kwargs: Any) -> tuple[int, dict[str, str], dict[str, Any]]:
    answer = invoke("search", http_event(path, query, **kwargs))
    assert set(answer) == {"statusCode", "headers", "body", "isBase64Encoded"} and not answer["isBase64Encoded"]
    return answer["statusCode"], answer["headers"], json.loads(answer["body"])


def get(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == BASE, url
    status, headers, body = call(parts.path, parts.query)
    assert status == 200, body
    assert headers["Access-Control-Allow-Origin"] == "*"
    return body


def xywh(box: list[int]) -> str:
    left, top, right, bottom = box
    return f"xywh={left},{top},{right - left},{bottom - top}"


def expected_targets(settings: Any, q: str, book: str | None, *, in_page_order: bool) -> list[list[str]]:
    """Each hit's word boxes as canvas fragments, from lib.search.query (the same search, read directly)."""
    result = search(settings, q, book=book, limit=100, in_page_order=in_page_order)
    return [
        [f"{BASE}/iiif/{p.book}/canvas/{p.page}#{xywh(w.bbox)}" for w in hit.words]
        for p in result.pages
        for hit in p.hits
    ]


# ---------------------------------------------------------------- shapes


def _page_ref(value: Any) -> str:
    assert isinstance(value, dict) and value["type"] == "AnnotationPage" and set(value) == {"id", "type"}, value
    assert value["id"].startswith(BASE)
    return value["id"]


def targets_of(item: dict[str, Any]) -> list[str]:
    """An item's canvas fragments (plain strings, or objects naming their manifest in partOf)."""
    raw = item["target"] if isinstance(item["target"], list) else [item["target"]]
    found = []
    for target in raw:
        if isinstance(target, dict):
            assert target["type"] == "Canvas" and target["partOf"]["type"] == "Manifest", target
            book = FRAGMENT.match(target["id"])["canvas"].split("/iiif/")[1].split("/")[0]
            assert target["partOf"]["id"] == f"{BASE}/iiif/{book}/manifest"
            target = target["id"]
        assert isinstance(target, str) and FRAGMENT.match(target), target
        found.append(target)
    return found


def check_v2(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A Content Search 2.0 AnnotationPage with its snippets; returns its items."""
    assert body["@context"] == V2_CONTEXT and body["type"] == "AnnotationPage" and body["id"].startswith(BASE)
    collection = body["partOf"]
    assert collection["type"] == "AnnotationCollection" and collection["id"].startswith(BASE)
    assert isinstance(collection["total"], int) and collection["total"] >= 0
    assert isinstance(collection["pagesearch:matchedPages"], int)
    assert isinstance(collection["pagesearch:totalExact"], bool)
    _page_ref(collection["first"]), _page_ref(collection["last"])
    for link in ("next", "prev"):
        if link in body:
            _page_ref(body[link])
    assert isinstance(body.get("startIndex", 0), int)
    assert all(isinstance(name, str) for name in body.get("ignored", []))
    items = body["items"]
    ids = [item["id"] for item in items]
    assert len(set(ids)) == len(ids)
    for item in items:
        assert item["type"] == "Annotation" and item["motivation"] == "highlighting" and item["id"].startswith(BASE)
        assert item["body"]["type"] == "TextualBody" and item["body"]["format"] == "text/plain"
        assert item["body"]["value"].strip()
        assert targets_of(item)
        if isinstance(item["target"], list):
            assert len(item["target"]) > 1, "one target is a string, several an array"
    if not items:
        assert "annotations" not in body
        return items
    [snippets] = body["annotations"]
    assert snippets["type"] == "AnnotationPage"
    values = {item["id"]: item["body"]["value"] for item in items}
    sources = []
    for note in snippets["items"]:
        assert note["type"] == "Annotation" and note["motivation"] == "contextualizing" and note["id"] not in values
        target = note["target"]
        assert target["type"] == "SpecificResource" and target["source"] in values
        [selector] = target["selector"]
        assert selector["type"] == "TextQuoteSelector" and selector["exact"] == values[target["source"]]
        assert all(isinstance(selector.get(k, ""), str) for k in ("prefix", "suffix"))
        sources.append(target["source"])
    assert sorted(sources) == sorted(ids), "one snippet per hit, each on an item of this page"
    return items


def check_v1(body: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A Content Search 1.0 AnnotationList with hits; returns (resources, hits)."""
    assert body["@context"] == V1_CONTEXT and body["@type"] == "sc:AnnotationList" and body["@id"].startswith(BASE)
    layer = body["within"]
    assert layer["@type"] == "sc:Layer" and isinstance(layer["total"], int) and layer["total"] >= 0
    assert layer["first"].startswith(BASE) and layer["last"].startswith(BASE)
    assert isinstance(layer["ignored"], list)
    for link in ("next", "prev"):
        assert isinstance(body.get(link, ""), str)
    assert isinstance(body.get("startIndex", 0), int)
    resources, hits = body["resources"], body["hits"]
    ids = [r["@id"] for r in resources]
    assert len(set(ids)) == len(ids)
    for resource in resources:
        assert resource["@type"] == "oa:Annotation" and resource["motivation"] == "sc:painting"
        assert resource["resource"]["@type"] == "cnt:ContentAsText" and resource["resource"]["chars"].strip()
        assert FRAGMENT.match(resource["on"]), resource["on"]
    referenced = []
    for hit in hits:
        assert hit["@type"] == "search:Hit" and hit["annotations"]
        assert all(isinstance(hit[k], str) for k in ("match", "before", "after")) and hit["match"]
        # Mirador finds a hit's highlights by these ids: each must be a resource of this very answer.
        assert set(hit["annotations"]) <= set(ids), hit
        referenced += hit["annotations"]
    assert sorted(referenced) == sorted(ids), "every resource belongs to exactly one hit"
    return resources, hits


def v1_targets(resources: list[dict[str, Any]], hits: list[dict[str, Any]]) -> list[list[str]]:
    on = {r["@id"]: r["on"] for r in resources}
    return [[on[i] for i in hit["annotations"]] for hit in hits]


# ---------------------------------------------------------------- the three searches


def test_book_search_2_0_has_one_annotation_per_hit_targeting_its_words(library: Any, settings: Any) -> None:
    status, headers, body = call("/iiif/tests/search/2", {"q": '"lazy fox"'})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Content-Type"] == "application/json"
    items = check_v2(body)
    assert [targets_of(i) for i in items] == expected_targets(settings, '"lazy fox"', "tests", in_page_order=True)
    assert items and all(len(targets_of(i)) == 2 for i in items), "a two-word phrase: two targets, one annotation"
    assert body["partOf"]["total"] == len(items) and body["startIndex"] == 0
    assert body["partOf"]["pagesearch:totalExact"] is True and "next" not in body and "prev" not in body
    assert body["partOf"]["first"]["id"] == body["partOf"]["last"]["id"] == body["id"]
    # The words' boxes in the page JSON itself, converted: the first hit's words.
    words = [w for b in library["photo"]["blocks"] for p in b["paragraphs"] for ln in p["lines"] for w in ln["words"]]
    first = targets_of(items[0])
    boxes = [xywh(w["bbox"]) for w in words]
    assert all(t.split("#")[1] in boxes for t in first)
    assert all(i["body"]["value"].lower().startswith("lazy fox") for i in items)


def test_book_search_1_0_lists_every_word_and_hits_that_resolve(library: Any, settings: Any) -> None:
    status, headers, body = call("/iiif/tests/search/1", {"q": '"lazy fox"'})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    resources, hits = check_v1(body)
    assert v1_targets(resources, hits) == expected_targets(settings, '"lazy fox"', "tests", in_page_order=True)
    assert all(len(h["annotations"]) == 2 for h in hits) and body["within"]["total"] == len(hits)
    assert body["within"]["ignored"] == [] and body["startIndex"] == 0


def test_library_search_names_each_canvas_manifest(library: Any, settings: Any) -> None:
    status, _, body = call("/search", {"q": "quick"})
    assert status == 200
    items = check_v2(body)
    assert [targets_of(i) for i in items] == expected_targets(settings, "quick", None, in_page_order=False)
    assert all(isinstance(i["target"], dict) for i in items), "across books a target names its manifest"
    books = {t.split("/iiif/")[1].split("/")[0] for i in items for t in targets_of(i)}
    assert books == {"tests"}
    # One book of the library, through the book parameter.
    _, _, only = call("/search", {"q": "the", "book": "child-of-the-moat"})
    assert {t.split("/iiif/")[1].split("/")[0] for i in check_v2(only) for t in targets_of(i)} == {"child-of-the-moat"}


def test_a_book_name_is_one_encoded_path_segment(s3: Any, settings: Any) -> None:
    for book in ("Viewer Book", "shelf/Viewer Book"):
        index(s3, synthetic_page(book, "0001", [["a whale in view"]]))
    status, _, body = call("/iiif/Viewer%20Book/search/2", {"q": "whale"})
    assert status == 200
    [item] = check_v2(body)
    assert targets_of(item)[0].startswith(f"{BASE}/iiif/Viewer%20Book/canvas/0001#xywh=")
    assert body["id"].startswith(f"{BASE}/iiif/Viewer%20Book/search/2?q=whale")
    status, _, body = call("/iiif/shelf%2FViewer%20Book/search/1", {"q": "whale"})
    assert status == 200 and check_v1(body)[0][0]["on"].startswith(f"{BASE}/iiif/shelf%2FViewer%20Book/canvas/0001#")
    # An unencoded space reaches the same book (http_event encodes it as a client would).
    assert call("/iiif/Viewer Book/search/2", {"q": "whale"})[0] == 200


def test_base_url_from_the_setting_or_the_request_and_its_stage(library: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, staged = call(
        "/iiif/tests/search/2",
        {"q": "fox"},
        domain="abc123.execute-api.us-east-1.amazonaws.com",
        scheme="https",
        stage="prod",
    )
    assert staged["id"].startswith("https://abc123.execute-api.us-east-1.amazonaws.com/prod/iiif/tests/search/2?")
    assert targets_of(staged["items"][0])[0].startswith("https://abc123.execute-api.us-east-1.amazonaws.com/prod/iiif/")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://iiif.example.org/library/")
    _, _, public = call("/iiif/tests/search/1", {"q": "fox"})
    assert public["@id"].startswith("https://iiif.example.org/library/iiif/tests/search/1?q=fox")
    assert public["resources"][0]["on"].startswith("https://iiif.example.org/library/iiif/tests/canvas/")


# ---------------------------------------------------------------- paging


@pytest.fixture
def whales(s3: Any, settings: Any) -> dict[str, int]:
    """A book of 60 pages holding "whale" 1, 2 or 3 times each (120 hits), in page order."""
    hits = {}
    for number in range(1, 61):
        times = number % 3 + 1
        lines = [f"line {k} of page {number} a whale swims" for k in range(times)] + ["and nothing else here"]
        index(s3, synthetic_page("whales", f"{number:04d}", [lines]))
        hits[f"{number:04d}"] = times
    return hits


def walk(first: dict[str, Any], version: int) -> list[dict[str, Any]]:
    pages, body = [first], first
    while (link := body.get("next")) is not None:
        body = get(link["id"] if version == 2 else link)
        pages.append(body)
        assert len(pages) < 100
    return pages


def annotations_of(body: dict[str, Any], version: int) -> list[str]:
    if version == 2:
        return [i["id"] for i in check_v2(body)]
    return [f"{h['annotations']}" for h in check_v1(body)[1]]


def total_of(body: dict[str, Any], version: int) -> int:
    return body["partOf"]["total"] if version == 2 else body["within"]["total"]


def last_of(body: dict[str, Any], version: int) -> str:
    return body["partOf"]["last"]["id"] if version == 2 else body["within"]["last"]


def page_id(body: dict[str, Any], version: int) -> str:
    return body["id"] if version == 2 else body["@id"]


@pytest.mark.parametrize(
    ("path", "version", "per_page"),
    [("/iiif/whales/search/2", 2, 25), ("/iiif/whales/search/1", 1, 25), ("/search", 2, 10)],
)
def test_paging_to_the_end_and_back(whales: dict[str, int], path: str, version: int, per_page: int) -> None:
    status, _, first = call(path, {"q": "whale", **({"book": "whales"} if path == "/search" else {})})
    assert status == 200
    pages = walk(first, version)
    assert len(pages) == -(-60 // per_page)
    seen, position = [], 0
    for body in pages:
        assert body["startIndex"] == position, "startIndex is the number of hits before this page"
        found = annotations_of(body, version)
        seen += found
        position += len(found)
        assert total_of(body, version) == 120 and last_of(body, version) == last_of(first, version)
    assert len(seen) == len(set(seen)) == 120 == sum(whales.values())
    assert page_id(pages[-1], version) == last_of(first, version), "following next ends at last"
    if path != "/search":
        # In page order: the pages come in book order, each with all of its hits.
        order = [re.search(r"/canvas/(\d+)#", t)[1] for body in pages for t in _all_targets(body, version)]
        assert order == sorted(order) and len(set(order)) == 60
    # Back through prev from the last page: the same pages, the same start indexes.
    body, back = pages[-1], [pages[-1]]
    while (link := body.get("prev")) is not None:
        body = get(link["id"] if version == 2 else link)
        back.append(body)
    assert [b["startIndex"] for b in reversed(back)] == [b["startIndex"] for b in pages]
    assert [annotations_of(b, version) for b in reversed(back)] == [annotations_of(b, version) for b in pages]
    # The first and last links are cheap: their cursors carry the counts (no recount: see the next test).
    assert get(last_of(first, version))["startIndex"] == pages[-1]["startIndex"]


def _all_targets(body: dict[str, Any], version: int) -> list[str]:
    if version == 2:
        return [t for i in body["items"] for t in targets_of(i)]
    return [r["on"] for r in body["resources"]]


def test_counting_happens_once_and_later_pages_are_one_request(
    whales: dict[str, int], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = ChaosProxy(settings.opensearch_url).start()
    try:
        monkeypatch.setenv("OPENSEARCH_URL", proxy.url)
        _, _, first = call("/iiif/whales/search/2", {"q": "whale"})
        assert len(proxy.requests(path="/_search")) == 2, "the page, and the count of the other pages' hits"
        count = json.loads(proxy.requests(path="/_search")[1].body)
        # Only where words were joined are read back, never the words and their boxes.
        assert count["_source"] == ["joins", "parts"] and count["from"] == 25 and count["size"] == 35
        get(first["next"]["id"])
        assert len(proxy.requests(path="/_search")) == 3, "a later page: one request"
        assert all(r.path.endswith(f"/{settings.opensearch_index}/_search") for r in proxy.requests())
    finally:
        proxy.stop()


def test_past_the_counted_pages_total_is_a_lower_bound(whales: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    from lib.search import paging

    monkeypatch.setattr(paging, "LIBRARY_COUNT_PAGES", 20)
    _, _, first = call("/search", {"q": "whale", "book": "whales"})
    collection = first["partOf"]
    assert collection["pagesearch:totalExact"] is False and collection["pagesearch:matchedPages"] == 60
    pages = walk(first, 2)
    seen = [i["id"] for body in pages for i in check_v2(body)]
    # 20 pages counted (20 to 60 hits), each of the other 40 at least one.
    assert len(seen) == len(set(seen)) == 120 >= collection["total"] >= 60, "a lower bound"
    position = 0
    for body in pages:
        assert body["startIndex"] == position, "reached through next, the start index is carried along"
        position += len(body["items"])
    last = get(collection["last"]["id"])
    assert "startIndex" not in last and last["items"], "reached through last, past the counted pages: not known"


# ---------------------------------------------------------------- autocomplete


def test_autocomplete_both_versions_count_the_terms(library: Any) -> None:
    texts = [library["photo"]["text"], library["euro"]["text"]]
    occurrences = sum(words_of(text).count("quick") for text in texts)
    status, headers, v1 = call("/iiif/tests/autocomplete/1", {"q": "qui"})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    assert v1["@context"] == "http://iiif.io/api/search/1/context.json" and v1["@type"] == "search:TermList"
    assert v1["@id"] == f"{BASE}/iiif/tests/autocomplete/1?q=qui" and v1["ignored"] == []
    terms = {t["match"]: t for t in v1["terms"]}
    assert terms["quick"]["count"] == occurrences > 0
    assert terms["quick"]["url"] == f"{BASE}/iiif/tests/search/1?q=quick"
    searched = get(terms["quick"]["url"])
    assert searched["within"]["total"] == occurrences, "the count is what the search finds"
    status, _, v2 = call("/iiif/tests/autocomplete/2", {"q": "QUI"})
    assert status == 200 and v2["@context"] == V2_CONTEXT and v2["type"] == "TermPage"
    assert {"value": "quick", "total": occurrences} in v2["items"] and "ignored" not in v2
    counts = [t["total"] for t in v2["items"]]
    assert counts == sorted(counts, reverse=True), "most frequent first"


def test_autocomplete_of_several_words_is_a_phrase(library: Any) -> None:
    _, _, v2 = call("/iiif/tests/autocomplete/2", {"q": "lazy f"})
    [term] = [t for t in v2["items"] if t["value"] == "lazy fox"]
    assert term["service"] == [{"id": f"{BASE}/iiif/tests/search/2?q=%22lazy%20fox%22", "type": "SearchService2"}]
    _, _, v1 = call("/iiif/tests/autocomplete/1", {"q": "lazy f"})
    [match] = [t for t in v1["terms"] if t["match"] == "lazy fox"]
    assert match["count"] == term["total"] == get(match["url"])["within"]["total"]


def test_autocomplete_min_and_nothing_found(library: Any) -> None:
    _, _, few = call("/iiif/tests/autocomplete/2", {"q": "qui", "min": "1000"})
    assert few["items"] == []
    _, _, none = call("/iiif/tests/autocomplete/1", {"q": "zzzzq"})
    assert none["terms"] == []


# ---------------------------------------------------------------- parameters


def test_unsupported_parameters_are_listed_as_ignored(library: Any) -> None:
    query = [("q", "fox"), ("user", "https://example.org/u/1"), ("date", "2020-01-01T00:00:00Z/2021-01-01T00:00:00Z")]
    query.append(("page", "2"))
    _, _, v2 = call("/iiif/tests/search/2", query)
    assert v2["ignored"] == ["user", "date", "page"] and check_v2(v2)
    assert "user=" not in v2["id"] and "user=" not in v2["partOf"]["first"]["id"], "links leave ignored ones out"
    _, _, v1 = call("/iiif/tests/search/1", query)
    assert v1["within"]["ignored"] == ["user", "date", "page"]
    _, _, terms = call("/iiif/tests/autocomplete/1", [("q", "fo"), ("user", "x")])
    assert terms["ignored"] == ["user"]
    _, _, library_wide = call("/search", [("q", "fox"), ("book", "tests"), ("date", "x")])
    assert library_wide["ignored"] == ["date"]


def test_motivation_filters_by_our_annotations_motivation(library: Any) -> None:
    def total(path: str, motivation: str) -> int:
        status, _, body = call(path, {"q": "fox", "motivation": motivation})
        assert status == 200, body
        return total_of(body, 2 if path.endswith("/2") else 1)

    assert total("/iiif/tests/search/2", "highlighting") > 0
    assert total("/iiif/tests/search/2", "painting commenting") == 0
    assert total("/iiif/tests/search/1", "painting") > 0
    assert total("/iiif/tests/search/1", "commenting") == 0
    _, _, body = call("/iiif/tests/search/2", {"q": "fox", "motivation": "painting"})
    assert "motivation=painting" in body["id"], "an implemented parameter stays in the links"


def test_ld_json_when_asked_for(library: Any) -> None:
    _, headers, _ = call("/iiif/tests/search/1", {"q": "fox"}, headers={"Accept": "application/ld+json"})
    assert headers["Content-Type"] == 'application/ld+json;profile="http://iiif.io/api/search/1/context.json"'


# ---------------------------------------------------------------- errors


def _other_cursor() -> str:
    _, _, body = call("/iiif/tests/search/2", {"q": "quick"})
    return re.search(r"cursor=([^&]+)", body["id"])[1]


JUNK: list[tuple[str, Any]] = [
    ("/iiif/tests/search/2", {}),
    ("/iiif/tests/search/2", {"q": ""}),
    ("/iiif/tests/search/2", {"q": "   "}),
    ("/iiif/tests/search/2", {"q": "x" * 1001}),
    ("/iiif/tests/search/2", {"q": "fox\x00"}),
    ("/iiif/tests/search/1", {"q": "a\x07b"}),
    ("/iiif/tests/search/1", {"q": "---"}),
    ("/iiif/tests/search/2", "q=%FF%FE"),
    ("/search", {"q": "fox", "book": "a\x01b"}),
    ("/search", {"q": "fox", "book": "b" * 1025}),
    ("/iiif/tests%00/search/2", {"q": "fox"}),
    ("/iiif/%FF/search/1", {"q": "fox"}),
    ("/iiif/tests/search/2", {"q": "fox", "cursor": "!!!not-base64!!!"}),
    ("/iiif/tests/search/2", {"q": "fox", "cursor": "W10"}),  # base64 of []
    ("/iiif/tests/search/2", {"q": "fox", "cursor": "e30"}),  # base64 of {}
    ("/iiif/tests/search/2", {"q": "fox", "cursor": "A" * 3000}),
    ("/iiif/tests/autocomplete/1", {}),
    ("/iiif/tests/autocomplete/2", {"q": "fo", "min": "0"}),
    ("/iiif/tests/autocomplete/2", {"q": "fo", "min": "many"}),
    ("/iiif/tests/autocomplete/2", {"q": "?!"}),
]


@pytest.mark.parametrize(("path", "query"), JUNK, ids=[f"{p} {q!r}"[:60] for p, q in JUNK])
def test_junk_is_a_400_with_a_json_error(library: Any, path: str, query: Any) -> None:
    status, headers, body = call(path, query)
    assert status == 400 and set(body) == {"error"} and body["error"], body
    assert headers["Access-Control-Allow-Origin"] == "*" and headers["Content-Type"] == "application/json"


def test_a_cursor_of_another_search_or_tampered_is_a_400(library: Any) -> None:
    import base64

    cursor = _other_cursor()
    status, _, body = call("/iiif/tests/search/2", {"q": "fox", "cursor": cursor})
    assert status == 400 and "another search" in body["error"]
    assert call("/iiif/tests/search/1", {"q": "quick", "cursor": cursor})[0] == 400, "nor of another version"
    data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    for change in ({"o": 7}, {"o": 10_000}, {"o": -25}, {"o": True}, {"e": []}, {"e": [5, 2]}, {"x": 1}, {"z": 1}):
        forged = base64.urlsafe_b64encode(json.dumps({**data, **change}).encode()).decode().rstrip("=")
        assert call("/iiif/tests/search/2", {"q": "quick", "cursor": forged})[0] == 400, change


@pytest.mark.parametrize(
    "path",
    ["/iiif/nobody/search/1", "/iiif/nobody/search/2", "/iiif/nobody/autocomplete/1", "/iiif/nobody/autocomplete/2"],
)
def test_an_unknown_book_is_a_404(library: Any, path: str) -> None:
    status, headers, body = call(path, {"q": "fox"})
    assert status == 404 and "nobody" in body["error"] and headers["Access-Control-Allow-Origin"] == "*"


def test_a_known_book_without_a_match_is_an_empty_answer(library: Any) -> None:
    status, _, body = call("/iiif/tests/search/2", {"q": "zebra"})
    assert status == 200 and body["items"] == [] and body["partOf"]["total"] == 0
    status, _, body = call("/search", {"q": "fox", "book": "nobody"})
    assert status == 200 and body["items"] == [], "the library search filters; only /iiif/{book} routes 404"


def test_other_routes_and_methods(library: Any) -> None:
    assert call("/iiif/tests/search/3", {"q": "fox"})[0] == 404
    assert call("/nothing", {"q": "fox"})[0] == 404
    status, headers, _ = call("/search", {"q": "fox"}, method="POST")
    assert status == 405 and headers["Allow"] == "GET"


@pytest.fixture
def opensearch_down(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[ChaosProxy]:
    proxy = ChaosProxy(settings.opensearch_url).start()
    proxy.add(status=503, times=1000)
    monkeypatch.setenv("OPENSEARCH_URL", proxy.url)
    yield proxy
    proxy.stop()


@pytest.mark.parametrize(
    "path", ["/search", "/iiif/tests/search/1", "/iiif/tests/search/2", "/iiif/tests/autocomplete/2"]
)
def test_opensearch_answering_503_is_a_503(library: Any, opensearch_down: ChaosProxy, path: str) -> None:
    status, headers, body = call(path, {"q": "fox"})
    assert status == 503 and set(body) == {"error"} and headers["Retry-After"] == "5"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert len(opensearch_down.requests()) == 2, "one retry, then the answer: a person is waiting"


def test_opensearch_unreachable_is_a_503(library: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        monkeypatch.setenv("OPENSEARCH_URL", f"http://127.0.0.1:{closed.getsockname()[1]}")
        status, _, body = call("/iiif/tests/search/2", {"q": "fox"})
    assert status == 503 and "unavailable" in body["error"]
