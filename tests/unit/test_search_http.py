"""The search API's pure parts: cursors and totals, ids, completions from marks, the event adapter, validation."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from handlers.search import request_of
from lib.search import paging
from lib.search.api import PAGE_ROUTE_KEYS, ROUTE_KEYS, Request, respond, route_of
from lib.search.autocomplete import Term, terms_from
from lib.search.hits import hit_count, page_hits
from lib.search.identifiers import Identifiers, xywh
from lib.search.syntax import parse_query
from pagesearch.lambda_local import http_event
from tests.unit.test_hits import E, S, page

# ---------------------------------------------------------------- counting and paging


@pytest.mark.parametrize(
    ("text", "words", "highlighted", "query"),
    [
        ("the lazy\nfox ran and the fox", ["the", "lazy", "fox", "ran", "and", "the", "fox"],
         f"the {S}lazy{E}\n{S}fox{E} ran and the {S}fox{E}", '"lazy fox"'),
        ("lazy fox and a fox", ["lazy", "fox", "and", "a", "fox"],
         f"{S}lazy{E} {S}fox{E} and a {S}fox{E}", 'fox "lazy fox"'),
        ("quick is here and dog", ["quick", "is", "here", "and", "dog"], f"quick{E} is here and {S}dog", "quick dog"),
        ("Brown-dog café", ["Brown-dog", "café"], f"Brown-{S}dog{E} café", "dog"),
    ],
)  # fmt: skip
def test_hit_count_from_the_text_alone_equals_the_hits_found_with_the_words(
    text: str, words: list[str], highlighted: str, query: str
) -> None:
    parsed = parse_query(query)
    assert hit_count(highlighted, parsed) == len(page_hits(page(text, words), highlighted, parsed, 1.0).hits) > 0


def test_hit_count_agrees_with_page_hits_on_random_pages_and_marks() -> None:
    import random
    import re

    rng = random.Random(12)
    vocabulary = ["lazy", "fox", "Fox.", "brown-dog", "the", "a", "café", "(whale)", "whale,", "1899", "Brown-Dog"]
    queries = [parse_query(q) for q in ('"lazy fox"', "fox", '"the whale" "a fox"', 'dog "lazy fox"', '"brown dog"')]
    for _ in range(400):
        pieces = []
        for _ in range(rng.randint(1, 30)):
            pieces += [rng.choice(vocabulary), rng.choice([" ", " ", " ", "\n", "\n\n"])]
        text = "".join(pieces).rstrip()
        spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
        marks, index = [], 0
        while index < len(spans):
            if rng.random() < 0.4:
                length = rng.choice([1, 1, 1, 2, 3])
                start, end = spans[index][0], spans[min(index + length, len(spans)) - 1][1]
                if length == 1 and "-" in text[start:end] and rng.random() < 0.5:
                    start = text.index("-", start) + 1  # a mark inside a word, as the analyzer splits it
                marks.append((start, end))
                index += length
            index += 1
        highlighted, at = [], 0
        for start, end in marks:
            highlighted += [text[at:start], S, text[start:end], E]
            at = end
        highlighted = "".join([*highlighted, text[at:]])
        words = [text[a:b] for a, b in spans]
        for parsed in queries:
            assert hit_count(highlighted, parsed) == len(page_hits(page(text, words), highlighted, parsed, 1.0).hits), (
                highlighted,
                parsed,
            )


def test_counts_of_responses_and_the_lower_bound_past_the_cap() -> None:
    counts = paging.counts_from(matched=23, first_hits=12, later=[1] * 13, per_page=10)
    assert counts.ends == [12, 22, 25] and counts.total == 25 and counts.exact
    assert [paging.start_index(counts, o, 10) for o in (0, 10, 20)] == [0, 12, 22]
    assert paging.to_count(100, 10, 20) == 10 and paging.to_count(15, 10, 20) == 5 and paging.to_count(9, 10, 20) == 0
    capped = paging.counts_from(matched=100, first_hits=12, later=[2] * 10, per_page=10)
    assert capped.ends == [12, 32] and capped.total == 32 + 80 and not capped.exact
    assert paging.start_index(capped, 20, 10) == 32, "the first uncounted response starts where the counted end"
    assert paging.start_index(capped, 30, 10) is None and paging.start_index(capped, 30, 10, carried=70) == 70


def test_a_cursor_round_trips_and_its_window_links_neighbours() -> None:
    counts = paging.counts_from(matched=23, first_hits=12, later=[1] * 13, per_page=10)
    window = paging.window(counts, 10, None, 10, per_page=10, key="k1", link=lambda c: f"u?cursor={c}" if c else "u")
    assert window.start_index == 12 and window.total == 25 and window.collection == "u"
    decoded = {
        name: paging.decode(getattr(window, name).split("=", 1)[1], "k1", 10, 500)
        for name in ("first", "prev", "next", "last")
    }
    assert [decoded[n].offset for n in ("first", "prev", "next", "last")] == [0, 0, 20, 20]
    assert all(c.counts == counts for c in decoded.values())
    assert len(window.page) < 200, "a cursor stays short"


@pytest.mark.parametrize(
    "text",
    ["", "A" * 3000, "!!!", "W10", "e30", base64.urlsafe_b64encode(b'{"v":1}').decode()],
)
def test_a_cursor_that_is_not_ours_is_refused(text: str) -> None:
    with pytest.raises(paging.CursorError):
        paging.decode(text, "k1", 10, 500)


def test_a_cursor_of_another_key_or_past_the_end_is_refused() -> None:
    counts = paging.counts_from(matched=23, first_hits=12, later=[1] * 13, per_page=10)
    good = paging.encode("k1", paging.Cursor(20, counts))
    assert paging.decode(good, "k1", 10, 500).offset == 20
    with pytest.raises(paging.CursorError, match="another search"):
        paging.decode(good, "k2", 10, 500)
    with pytest.raises(paging.CursorError, match="outside"):
        paging.decode(paging.encode("k1", paging.Cursor(30, counts)), "k1", 10, 500)
    forged = json.loads(base64.urlsafe_b64decode(good + "=="))
    forged["n"] = "23"
    with pytest.raises(paging.CursorError):
        paging.decode(base64.urlsafe_b64encode(json.dumps(forged).encode()).decode(), "k1", 10, 500)


# ---------------------------------------------------------------- ids and completions


def test_ids_encode_book_and_page_as_one_segment_each() -> None:
    ids = Identifiers("https://x.example/prod")
    assert ids.canvas("shelf/Viewer Book", "p 1") == "https://x.example/prod/iiif/shelf%2FViewer%20Book/canvas/p%201"
    assert ids.manifest("Viewer Book") == "https://x.example/prod/iiif/Viewer%20Book/manifest"
    assert xywh([10, 20, 110, 45]) == "xywh=10,20,100,25"
    assert (
        ids.url("/search", [("q", '"a b"'), ("book", "x&y")])
        == "https://x.example/prod/search?q=%22a%20b%22&book=x%26y"
    )


def test_completions_are_the_marked_words_counted() -> None:
    pages = [f"The {S}bird{E} sat on a {S}birch{E}. {S}Birds{E}, {S}bird{E}", f"a {S}bird{E} {S}birds{E}"]
    assert terms_from(pages, 1) == [Term("bird", 3), Term("birds", 2), Term("birch", 1)]
    assert terms_from(pages, 1, min_count=2, limit=1) == [Term("bird", 3)]
    phrase = [f"the {S}green{E} {S}bird{E} and the {S}green birds{E}"]
    assert terms_from(phrase, 2) == [Term("green bird", 1), Term("green birds", 1)]
    assert Term("green bird", 1).query == '"green bird"' and Term("bird", 1).query == "bird"


# ---------------------------------------------------------------- the event adapter and validation


def test_the_event_becomes_a_request_without_its_stage() -> None:
    event = http_event("/iiif/Viewer Book/search/1", {"q": "a b"}, domain="abc.execute-api.eu-west-1.amazonaws.com",
                       scheme="https", stage="prod")  # fmt: skip
    assert event["rawPath"] == "/prod/iiif/Viewer%20Book/search/1" and event["rawQueryString"] == "q=a%20b"
    assert event["routeKey"] == "GET /iiif/{book}/search/1" and event["pathParameters"] == {"book": "Viewer Book"}
    request = request_of(event)
    assert request.path == "/iiif/Viewer%20Book/search/1" and request.query == "q=a%20b"
    assert request.base_url == "https://abc.execute-api.eu-west-1.amazonaws.com/prod"
    assert request_of(event, "https://cdn.example").base_url == "https://cdn.example"
    assert request_of(http_event("/search")).base_url == "http://127.0.0.1:8080"


def test_routes_are_the_ones_serverless_yml_declares() -> None:
    import yaml

    from tests.conftest import ROOT

    events = yaml.safe_load((ROOT / "serverless.yml").read_text())["functions"]["search"]["events"]
    declared = {f"{e['httpApi']['method']} {e['httpApi']['path']}": e["httpApi"] for e in events}
    assert list(declared) == [*ROUTE_KEYS, *PAGE_ROUTE_KEYS]
    # The data routes sit behind the configured authorizer; the web pages, which hold no data, never do.
    assert all(declared[key].get("authorizer") for key in ROUTE_KEYS)
    assert not any(declared[key].get("authorizer") for key in PAGE_ROUTE_KEYS)
    for key in ROUTE_KEYS:
        path = key.split(" ", 1)[1].replace("{book}", "b")
        assert http_event(path)["routeKey"] == key
        assert route_of(path).book == (None if path in ("/search", "/books", "/autocomplete") else "b")


class NoOpenSearch:
    def search(self, **kwargs: Any) -> Any:
        raise AssertionError("junk must be refused before any request")


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/search", ""),
        ("/search", "q="),
        ("/search", "q=%00"),
        ("/search", "q=%E2%80"),
        ("/search", "q=" + "x" * 1001),
        ("/search", "q=fox&book=%1F"),
        ("/search", "q=fox&cursor=zz"),
        ("/iiif/%ZZ%FF/search/2", "q=fox"),
        ("/iiif/a/autocomplete/1", "q=fo&min=-1"),
        ("/search", "&".join(f"p{n}=1" for n in range(60))),
    ],
)
def test_junk_never_reaches_opensearch(path: str, query: str) -> None:
    answer = respond(Request("GET", path, query, "http://x"), NoOpenSearch(), "pages")
    assert answer.status == 400 and answer.headers["Access-Control-Allow-Origin"] == "*", answer.body


def test_snippet_whitespace_is_folded_as_the_regex_did() -> None:
    import random
    import re

    from lib.search.hits import _one_line

    rng = random.Random(7)
    alphabet = ["a", "b", " ", "  ", "\n", "\t", "\u00a0", "\u2003", "\x1c", "é", "."]
    for _ in range(3000):
        piece = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert _one_line(piece) == re.sub(r"\s+", " ", piece), repr(piece)
