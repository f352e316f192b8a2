"""Search, the read side of the index: a parsed query becomes one OpenSearch request over page documents.

A page matches when every word occurs anywhere on it (exactly, or with the
OCR-sized errors of ``FUZZINESS``) and every quoted phrase occurs in its
reading-order text, across line, paragraph and column breaks; an excluded
word or phrase excludes the page. Pages where the words stand close together
rank first (phrase clauses with growing slop: about a line, a few lines, a
paragraph), exact words above fuzzy ones. The one request also asks for the
page text highlighted by the exact, fuzzy and phrase clauses alone, from which
``lib.search.hits`` makes every hit with its words' boxes. User input only
ever reaches OpenSearch as the text of ``match``/``match_phrase`` clauses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opensearchpy.exceptions import NotFoundError

from lib.index.analysis import LANGUAGE_FIELDS
from lib.index.compounds import PARTS
from lib.index.documents import JOINED, MARK_END, MARK_START
from lib.search.hits import MARKED_FIELDS, PageHits, hit_count, hit_text, page_hits
from lib.search.syntax import ParsedQuery, parse_query

MAX_LIMIT = 100
# OpenSearch's default index.max_result_window: pages past it are out of reach of from/size.
MAX_OFFSET = 10_000
# Edits a word may differ by and still match: none up to 7 letters (``fox`` must not find ``for``, ``action``
# not ``actions``), one up to 10, two beyond; the first letter must match. The one setting measured against
# the shared pages' ground truth that keeps precision at 0.95 or more with recall above exact matching's
# (docs/search-index.md, "Search quality and fuzziness"); AUTO:5,8 returned one wrong page in six.
FUZZINESS = "AUTO:8,11"
PREFIX_LENGTH = 1
# (slop, boost) of the proximity clauses: within about a line, a few lines, a paragraph.
PROXIMITY = ((3, 4.0), (12, 2.0), (40, 1.0))
EXACT_BOOST = 3.0
# A word found by its page language's stem (lib.index.analysis): above a fuzzy match, below the word as typed.
STEMMED_BOOST = 1.5


@dataclass
class SearchResult:
    """The pages that matched (``total`` of them) and the slice of them asked for, each with its hits."""

    query: str
    total: int
    offset: int
    pages: list[PageHits] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """What `pagesearch search --json` prints: ``total`` pages matched, ``hits`` the pages of this slice."""
        return {
            "query": self.query,
            "total": self.total,
            "offset": self.offset,
            "hits": [p.as_dict() for p in self.pages],
        }


def _either(clause: str, options: dict[str, Any], *, languages: bool = True) -> dict[str, Any]:
    """The clause on the printed text, on the joined text of words broken at line ends (lib.index.documents),
    and, unless a fuzzy clause (the language analyzers' stems are not OCR errors), on every language field."""
    fields = ["text"]
    if "query" in options and _may_join(options["query"]):
        fields.append(JOINED)
    if languages:
        fields += LANGUAGE_FIELDS
    if len(fields) == 1:
        return {clause: {"text": options}}
    # A stemmed match ranks below the words as typed: the exact clause's boost is on the printed text only.
    stemmed = {k: v for k, v in options.items() if k != "boost"} | {"boost": STEMMED_BOOST}
    should = [{clause: {f: stemmed if f in LANGUAGE_FIELDS else options}} for f in fields]
    return {"bool": {"should": should, "minimum_should_match": 1}}


def _may_join(text: str) -> bool:
    # A joined word is two parts of at least a letter each: a one-letter query cannot need it.
    return any(len(token) > 1 for token in text.split())


def _word(word: str, fuzziness: str | None) -> dict[str, Any]:
    exact = _either("match", {"query": word, "operator": "and", "boost": EXACT_BOOST})
    if not fuzziness or any(c.isdigit() for c in word) or len(word) < _fuzzy_from(fuzziness):
        # Too short for an edit, or a number (1899 must not find 1898): exact only, and a leaner query.
        return exact
    fuzzy = _either(
        "match",
        {"query": word, "operator": "and", "fuzziness": fuzziness, "prefix_length": PREFIX_LENGTH},
        languages=False,
    )
    return {"bool": {"should": [exact, fuzzy], "minimum_should_match": 1}}


def _fuzzy_from(fuzziness: str) -> int:
    """The shortest word ``AUTO:low,high`` lets differ by an edit (plain ``AUTO`` is 3..5)."""
    low = fuzziness.partition(":")[2].split(",")[0] if fuzziness.startswith("AUTO") else ""
    return int(low) if low.isdigit() else 3 if fuzziness.startswith("AUTO") else 1


def _phrase(phrase: str, slop: int = 0, boost: float = 1.0) -> dict[str, Any]:
    clause: dict[str, Any] = {"query": phrase}
    if slop:
        # Ranking only: the printed text is near enough.
        clause.update(slop=slop, boost=boost)
        return {"match_phrase": {"text": clause}}
    return _either("match_phrase", clause)


def build_query(
    parsed: ParsedQuery,
    *,
    book: str | None,
    limit: int,
    offset: int = 0,
    in_page_order: bool = False,
    fuzziness: str | None = FUZZINESS,
    highlight: bool = True,
) -> dict[str, Any]:
    """The OpenSearch request body for one page of results (sizes capped, input only as clause text)."""
    matched = [_word(w, fuzziness) for w in parsed.words] + [_phrase(p) for p in parsed.phrases]
    near = [_phrase(" ".join(parsed.words), slop, boost) for slop, boost in PROXIMITY] if len(parsed.words) > 1 else []
    body: dict[str, Any] = {
        "size": max(1, min(limit, MAX_LIMIT)),
        "from": max(0, min(offset, MAX_OFFSET - MAX_LIMIT)),
        "track_total_hits": True,
        "query": {
            "bool": {
                "must": matched,
                "should": near,
                "must_not": [_phrase(e) for e in parsed.excluded],
                "filter": [{"term": {"book": book}}] if book else [],
            }
        },
        "_source": {"excludes": ["text", JOINED, *LANGUAGE_FIELDS]},
        "sort": _order(in_page_order),
    }
    if highlight:
        body["highlight"] = {
            "pre_tags": [MARK_START],
            "post_tags": [MARK_END],
            # The words and phrases alone mark what matched (the proximity clauses would add nothing).
            "highlight_query": {"bool": {"should": matched}},
            "fields": {f: {"number_of_fragments": 0} for f in ("text", *MARKED_FIELDS)},
        }
    return body


def _order(in_page_order: bool) -> list[Any]:
    pages = [{"page_number": {"order": "asc", "missing": "_last"}}, {"page": "asc"}]
    return [{"book": "asc"}, *pages] if in_page_order else ["_score", {"book": "asc"}, *pages]


def search(
    client: Any,
    index: str,
    query: str | ParsedQuery,
    *,
    book: str | None = None,
    limit: int = 10,
    offset: int = 0,
    in_page_order: bool = False,
) -> SearchResult:
    """Run a user query: the matching pages from ``offset`` on (capped), each with its hits.

    QueryError (lib.search.syntax) when the query has nothing to search for.
    """
    parsed = parse_query(query) if isinstance(query, str) else query
    text = query if isinstance(query, str) else ""
    body = build_query(parsed, book=book, limit=limit, offset=offset, in_page_order=in_page_order)
    try:
        response = client.search(index=index, body=body)
    except NotFoundError:
        return SearchResult(text, 0, offset)  # nothing indexed yet: one request, not an exists() first
    total = response["hits"]["total"]
    result = SearchResult(text, total["value"] if isinstance(total, dict) else int(total), offset)
    for raw in response["hits"]["hits"]:
        result.pages.append(page_hits(raw["_source"], hit_text(raw), parsed, raw.get("_score")))
    return result


def count_hits(
    client: Any,
    index: str,
    parsed: ParsedQuery,
    *,
    book: str | None,
    offset: int,
    pages: int,
    in_page_order: bool = False,
) -> list[int]:
    """The number of hits on each of ``pages`` matched pages from ``offset`` on, in the order ``search`` returns.

    The same query, sort and highlight as ``search``, so page N here is page N
    there; only the highlighted text comes back (no stored words), and ``size``
    may pass ``MAX_LIMIT``: this is one request for a whole result set, made
    once per search (lib.search.paging carries the counts in the cursor).
    """
    if pages <= 0:
        return []
    body = build_query(parsed, book=book, limit=1, offset=offset, in_page_order=in_page_order)
    # Only where words were joined and compounds split, to move marks: never the words and their boxes.
    body.update(size=min(pages, MAX_OFFSET - body["from"]), _source=["joins", PARTS], track_total_hits=False)
    try:
        response = client.search(index=index, body=body)
    except NotFoundError:
        return []
    return [hit_count(hit_text(raw) or "", parsed) for raw in response["hits"]["hits"]]


def book_exists(client: Any, index: str, book: str) -> bool:
    """Whether any page of ``book`` is indexed: a search (the only request the search role may make)."""
    body = {"size": 0, "query": {"term": {"book": book}}, "terminate_after": 1, "track_total_hits": True}
    try:
        total = client.search(index=index, body=body)["hits"]["total"]
    except NotFoundError:
        return False
    return (total["value"] if isinstance(total, dict) else int(total)) > 0
