"""The normalisation both sides of an error rate go through (docs/accuracy.md, Rules)."""

from __future__ import annotations

from pagesearch.text_metrics import errors
from pagesearch.text_normalise import normalise


def test_typography_a_reader_does_not_see_is_not_an_error() -> None:
    printed = "\u201cThe \ufb01sh\u201d\u2014it\u2019s\u00a0here\u2026\n\nnext\u00adline"
    typed = '"The fish"--it\'s here...  next line'.replace("next line", "nextline")
    assert normalise(printed) == normalise(typed) == '"The fish"-it\'s here... nextline'
    assert errors(printed, typed, normalise).char_edits == 0


def test_dash_runs_become_one_hyphen_and_whitespace_collapses() -> None:
    assert normalise("  a -- b\t\u2013\u2013 c \u2212 d\n") == "a - b - c - d"


def test_letters_case_and_line_end_hyphens_still_count() -> None:
    assert normalise("Remark- able") != normalise("remarkable")
    assert errors("Remark- able", "remarkable", normalise).char_edits == 3
