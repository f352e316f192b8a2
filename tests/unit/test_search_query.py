"""The search syntax and the query it builds: user text only inside match clauses."""

from __future__ import annotations

import json

import pytest

from lib.search.query import MAX_LIMIT, build_query
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


def test_words_under_eight_letters_and_numbers_are_matched_exactly_only() -> None:
    query = json.dumps(build_query(parse_query("fox 1898 whales harpooneer"), book=None, limit=10))
    # Only `harpooneer` (eight letters or more) may match with an edit, in the printed and the joined text:
    # in the query and in the highlight query.
    assert query.count('"fuzziness"') == 4


def test_near_words_rank_first_through_proximity_clauses_that_match_nothing_alone() -> None:
    bool_query = build_query(parse_query("whale boat"), book=None, limit=10)["query"]["bool"]
    assert len(bool_query["must"]) == 2 and all("match_phrase" in c for c in bool_query["should"])
    assert "minimum_should_match" not in bool_query, "the proximity clauses only rank"


def test_a_term_without_a_letter_or_digit_changes_nothing() -> None:
    """#14, 13: `lazy fox _` found nothing while `lazy fox` found 35 pages."""
    assert parse_query("lazy fox _") == parse_query("lazy fox")
    assert parse_query('lazy "_ —" fox -_') == parse_query("lazy fox")
    assert parse_query("snake_case") == parse_query("snake_case")  # a word that holds letters stays
