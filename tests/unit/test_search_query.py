"""The search syntax and the query it builds: user text only inside match clauses."""

from __future__ import annotations

import json

import pytest

from lib.search.query import MAX_LIMIT, build_query, format_hit
from lib.search.syntax import QueryError, parse_query


def test_words_phrases_and_exclusions() -> None:
    parsed = parse_query('call "me ishmael" -whale -"white whale" years')
    assert parsed.words == ["call", "years"]
    assert parsed.phrases == ["me ishmael"]
    assert parsed.excluded == ["whale", "white whale"]


def test_unbalanced_quote_runs_to_the_end() -> None:
    assert parse_query('"some years ago').phrases == ["some years ago"]


@pytest.mark.parametrize("text", ["", "   ", '""', "-", "+-&|!(){}[]^~*?:\\/"])
def test_nothing_to_search_for(text: str) -> None:
    with pytest.raises(QueryError):
        parse_query(text)


def test_operators_are_literal_text_never_query_syntax() -> None:
    query = build_query(parse_query('title:(a OR b) AND c* "x~2 y^3" \\ {script}'), book=None, limit=10)
    body = json.dumps(query)
    for forbidden in ("query_string", "simple_query_string", "script_score", '"script"'):
        assert forbidden not in body


def test_book_filter_and_caps() -> None:
    query = build_query(parse_query("whale"), book="moby-dick", limit=10_000, offset=10**9)
    assert {"term": {"book": "moby-dick"}} in query["query"]["bool"]["filter"]
    assert query["size"] == MAX_LIMIT and query["from"] + query["size"] <= 10_000


def test_a_hit_matched_only_on_the_next_line_is_left_to_that_line() -> None:
    hit = {
        "_source": {
            "book": "b",
            "page": "1",
            "line": 1,
            "text": "first line",
            "bbox": [0, 0, 10, 10],
            "words": [{"text": "first", "bbox": [0, 0, 4, 10]}, {"text": "line", "bbox": [5, 0, 10, 10]}],
            "next": {"text": "second", "bbox": [0, 20, 10, 30], "words": [{"text": "second", "bbox": [0, 20, 10, 30]}]},
        },
        "matched_queries": ["pair"],
        "highlight": {"text_pair": ["first line <em>second</em>"]},
    }
    assert format_hit(hit, parse_query("second")) is None
    hit["highlight"] = {"text_pair": ["first <em>line</em> <em>second</em>"]}
    formatted = format_hit(hit, parse_query('"line second"'))
    assert formatted is not None
    assert [w["text"] for w in formatted["words"]] == ["line", "second"]
    assert formatted["bbox"] == [0, 0, 10, 30]


def test_a_term_without_a_letter_or_digit_changes_nothing() -> None:
    """#14, 13: `lazy fox _` found nothing while `lazy fox` found 35 pages."""
    assert parse_query("lazy fox _") == parse_query("lazy fox")
    assert parse_query('lazy "_ —" fox -_') == parse_query("lazy fox")
    assert parse_query("snake_case") == parse_query("snake_case")  # a word that holds letters stays
