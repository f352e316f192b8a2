"""IIIF Content Search 1.0 answers (pure): an ``sc:AnnotationList`` of hits, and a ``search:TermList``.

1.0 is what Mirador 4 and the Universal Viewer speak. Every matched word is
one ``oa:Annotation`` in ``resources`` (its text as ``cnt:ContentAsText``,
``on`` its canvas fragment); every hit is a ``search:Hit`` in ``hits`` listing
the ids of its words' annotations (a phrase lists several: section 3.4.4),
with ``match``, ``before`` and ``after`` for the snippet. Every id a hit lists
is the ``@id`` of a resource of the same answer: Mirador breaks otherwise.
Paging is in ``within`` (an ``sc:Layer``) and ``next``/``prev``/``startIndex``,
from lib.search.paging; ``startIndex`` and ``total`` count hits, as 1.0 does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lib.search.autocomplete import Term
from lib.search.hits import PageHits
from lib.search.identifiers import WORD, Identifiers
from lib.search.paging import Window

SEARCH_CONTEXT = "http://iiif.io/api/search/1/context.json"
CONTEXT = ["http://iiif.io/api/presentation/2/context.json", SEARCH_CONTEXT]
# The words are the page's transcription: painting annotations, as 1.0's own OCR examples have them.
MOTIVATIONS = frozenset({"painting", "sc:painting"})


def annotation_list(pages: list[PageHits], window: Window, ids: Identifiers, *, ignored: list[str]) -> dict[str, Any]:
    """One page of a search's answer: every matched word of ``pages`` and every hit over them."""
    resources: list[dict[str, Any]] = []
    hits: list[dict[str, Any]] = []
    for page in pages:
        page_ids = ids.page(page.book, page.page)
        for hit in page.hits:
            word_ids = []
            hit_id = page_ids.annotation(WORD, hit.start, hit.end)
            for number, word in enumerate(hit.words):
                word_id = f"{hit_id}-{number}"
                word_ids.append(word_id)
                resources.append(
                    {
                        "@id": word_id,
                        "@type": "oa:Annotation",
                        "motivation": "sc:painting",
                        "resource": {"@type": "cnt:ContentAsText", "chars": word.text},
                        "on": page_ids.target(word.bbox),
                    }
                )
            hits.append(
                {
                    "@type": "search:Hit",
                    "annotations": word_ids,
                    "match": hit.match,
                    "before": hit.before,
                    "after": hit.after,
                }
            )
    answer: dict[str, Any] = {
        "@context": CONTEXT,
        "@id": window.page,
        "@type": "sc:AnnotationList",
        "within": {
            "@type": "sc:Layer",
            "total": window.total,
            "first": window.first,
            "last": window.last,
            "ignored": ignored,
            "pagesearch:matchedPages": window.matched,
            "pagesearch:totalExact": window.exact,
        },
    }
    if window.next:
        answer["next"] = window.next
    if window.prev:
        answer["prev"] = window.prev
    if window.start_index is not None:
        answer["startIndex"] = window.start_index
    answer["resources"] = resources
    answer["hits"] = hits
    return answer


def term_list(terms: list[Term], url: str, *, search_url: Callable[[str], str], ignored: list[str]) -> dict[str, Any]:
    """The completions of a prefix, each with the search that finds it and its count."""
    return {
        "@context": SEARCH_CONTEXT,
        "@id": url,
        "@type": "search:TermList",
        "ignored": ignored,
        "terms": [{"match": term.value, "url": search_url(term.query), "count": term.count} for term in terms],
    }
