"""Words broken at line ends (#10): the rule that joins them, and marks in the joined text moved onto the
printed words (pure: lib.index.documents, lib.search.hits)."""

from __future__ import annotations

from lib.index.documents import MARK_END as E
from lib.index.documents import MARK_START as S
from lib.index.documents import joined_text
from lib.search.hits import highlighted_text


def test_a_lower_case_continuation_in_the_same_paragraph_is_joined() -> None:
    assert joined_text("a remark-\nable man") == ("a remarkable man", [[8, "-\n"]])
    assert joined_text("Queens-\ntown, explo-\nsion") == ("Queenstown, explosion", [[6, "-\n"], [17, "-\n"]])
    assert joined_text("Fraktur\u00ac\nschrift")[0] == "Frakturschrift"
    assert joined_text("soft\u00ad\nhyphen")[0] == "softhyphen"


def test_what_is_not_a_broken_word_stays_as_printed() -> None:
    for text in ("well-\nKnown", "end-\n\nof a paragraph", "1914-\n15", "a -\nb", "dash\u2014\nthen", "line-end"):
        assert joined_text(text) == (text, []), text


def test_marks_in_the_joined_text_land_on_both_parts() -> None:
    _, joins = joined_text("a remark-\nable man")
    highlight = {"text_joined": [f"a {S}remarkable{E} man"]}
    assert highlighted_text(highlight, joins) == f"a {S}remark-\nable{E} man", "text rebuilt from the joined text"
    both = {"text": [f"{S}a{E} remark-\nable man"], "text_joined": [f"{S}a{E} {S}remarkable{E} man"]}
    assert highlighted_text(both, joins) == f"{S}a{E} {S}remark-\nable{E} man", "marks of both fields, once each"
    assert highlighted_text({"text": [f"{S}a{E} b"]}, None) == f"{S}a{E} b"
    assert highlighted_text({}, joins) is None
