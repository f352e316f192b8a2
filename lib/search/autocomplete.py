"""Autocomplete, in one OpenSearch request: the terms of a book that begin with what was typed, with counts.

What was typed is one string (IIIF: "green bir" completes to "green bird",
not to "green" and "bird"): a ``match_phrase_prefix`` query on ``text``,
analysed as every search is (case and accents folded), whose last word is the
prefix, finds the pages, and the highlighter marks the words that matched in
each page's text; those are collected, lower-cased and counted.

The cost is one request reading the highlighted text of at most ``PAGES``
pages (about 3 kB a book page), so it stays flat however large the book; a
term's count is its occurrences on those pages: exact when fewer pages
match, else a count over the most relevant ``PAGES``. The last word expands to
at most ``MAX_EXPANSIONS`` index terms (OpenSearch's ``max_expansions``), so a
prefix of one or two letters may not list every term that has it. Terms come
most frequent first, then alphabetically. User text reaches OpenSearch only
as the text of the ``match_phrase_prefix`` clause, the book only as a
``term`` filter.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from opensearchpy.exceptions import NotFoundError

from lib.index.documents import MARK_END, MARK_START
from lib.search.hits import marked_spans
from lib.search.syntax import MAX_TERMS, QueryError

PAGES = 100
MAX_EXPANSIONS = 50
LIMIT = 20
_HAS_TEXT = re.compile(r"[^\W_]")


@dataclass(frozen=True)
class Term:
    value: str
    count: int

    @property
    def query(self) -> str:
        """What to search for to find it: the word, or the words as a phrase."""
        return f'"{self.value}"' if " " in self.value else self.value


def prefix_words(text: str) -> list[str]:
    """The words of what was typed; QueryError when there is nothing to complete."""
    words = text.split()
    if not any(_HAS_TEXT.search(word) for word in words):
        raise QueryError("nothing to complete: type the first letters of a word")
    if len(words) > MAX_TERMS:
        raise QueryError(f"too many words: at most {MAX_TERMS}")
    return words


def build_body(words: list[str], book: str | None, pages: int = PAGES) -> dict[str, Any]:
    prefix = {"match_phrase_prefix": {"text": {"query": " ".join(words), "max_expansions": MAX_EXPANSIONS}}}
    return {
        "size": pages,
        "_source": False,
        "track_total_hits": False,
        "query": {"bool": {"must": [prefix], "filter": [{"term": {"book": book}}] if book else []}},
        "highlight": {
            "pre_tags": [MARK_START],
            "post_tags": [MARK_END],
            "fields": {"text": {"number_of_fragments": 0}},
        },
    }


def _runs(highlighted: str) -> tuple[str, list[list[tuple[int, int]]]]:
    """A page's text and its marked spans, grouped into runs with no unmarked word between them."""
    text, spans = marked_spans(highlighted)
    runs: list[list[tuple[int, int]]] = []
    for start, end in spans:
        if runs and not _HAS_TEXT.search(text[runs[-1][-1][1] : start]):
            runs[-1].append((start, end))
        else:
            runs.append([(start, end)])
    return text, runs


def terms_from(highlights: list[str], words: int, *, min_count: int = 1, limit: int = LIMIT) -> list[Term]:
    """The terms marked in each page's text, counted, most frequent first.

    For one typed word every marked word is a term (a highlighter may mark
    neighbours, or a phrase, as one span: split it); for several, a run of
    marks is one term, the phrase as it stands in the text.
    """
    counts: Counter[str] = Counter()
    for highlighted in highlights:
        text, runs = _runs(highlighted)
        for run in runs:
            if words == 1:
                pieces = [word for start, end in run for word in text[start:end].split()]
            else:
                pieces = [" ".join(text[run[0][0] : run[-1][1]].split())]
            counts.update(piece.lower() for piece in pieces)
    ranked = sorted((item for item in counts.items() if item[1] >= min_count), key=lambda item: (-item[1], item[0]))
    return [Term(value, count) for value, count in ranked[:limit]]


def complete(
    client: Any,
    index: str,
    text: str,
    *,
    book: str | None,
    min_count: int = 1,
    limit: int = LIMIT,
    pages: int = PAGES,
) -> list[Term]:
    """The completions of ``text`` in ``book`` (the library when None); QueryError when there is nothing to complete."""
    words = prefix_words(text)
    try:
        response = client.search(index=index, body=build_body(words, book, pages))
    except NotFoundError:
        return []
    highlights = [(raw.get("highlight", {}).get("text") or [""])[0] for raw in response["hits"]["hits"]]
    typed = sum(1 for word in words if _HAS_TEXT.search(word))
    return terms_from(highlights, typed, min_count=min_count, limit=limit)
