"""IIIF Content Search 2.0 answers (pure): an AnnotationPage of hits, and a TermPage of completions.

Each hit is one ``highlighting`` annotation in ``items`` whose ``target`` is
the canvas fragment of each of its words (a phrase over several words or lines
is one annotation with an array of targets, as section 4.3.4 lays out), with
the matched text as its ``TextualBody``. Its snippet is a ``contextualizing``
annotation in ``annotations`` (section 4.3.1): a ``TextQuoteSelector`` with
``prefix``/``exact``/``suffix`` on the hit annotation (``source`` is its id).
Searches across books name each canvas's manifest in the target's ``partOf``
(section 4.2.3), since a client cannot know it otherwise. Paging (``partOf``,
``next``, ``prev``, ``startIndex``) comes from lib.search.paging; the two
``pagesearch:`` properties of the collection are ours: the pages matched, and
whether ``total`` is exact or a lower bound.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lib.search.autocomplete import Term
from lib.search.hits import Hit, PageHits
from lib.search.identifiers import CONTEXT, HIT, Identifiers, PageIds
from lib.search.paging import Window

SEARCH_CONTEXT = "http://iiif.io/api/search/2/context.json"
# The motivation of our annotations (the `motivation` parameter matches these).
MOTIVATIONS = frozenset({"highlighting"})


def _page_ref(url: str) -> dict[str, str]:
    return {"id": url, "type": "AnnotationPage"}


def _targets(hit: Hit, page_ids: PageIds, manifest: dict[str, Any] | None) -> Any:
    """The hit's words as canvas fragments: one string, or an array; objects naming the manifest across books."""
    targets: list[Any] = [page_ids.target(word.bbox) for word in hit.words]
    if manifest is not None:
        targets = [{"id": target, "type": "Canvas", "partOf": manifest} for target in targets]
    return targets[0] if len(targets) == 1 else targets


def _selector(hit: Hit) -> dict[str, str]:
    selector = {"type": "TextQuoteSelector", "exact": hit.match}
    if hit.before:
        selector["prefix"] = hit.before
    if hit.after:
        selector["suffix"] = hit.after
    return selector


def annotation_page(
    pages: list[PageHits], window: Window, ids: Identifiers, *, ignored: list[str], manifests: bool = False
) -> dict[str, Any]:
    """One page of a search's answer: every hit of ``pages``, and its place in the whole result."""
    items: list[dict[str, Any]] = []
    snippets: list[dict[str, Any]] = []
    for page in pages:
        page_ids = ids.page(page.book, page.page)
        manifest = {"id": page_ids.manifest, "type": "Manifest", "label": {"none": [page.book]}} if manifests else None
        for hit in page.hits:
            item_id = page_ids.annotation(HIT, hit.start, hit.end)
            items.append(
                {
                    "id": item_id,
                    "type": "Annotation",
                    "motivation": "highlighting",
                    "body": {"type": "TextualBody", "value": hit.match, "format": "text/plain"},
                    "target": _targets(hit, page_ids, manifest),
                }
            )
            snippets.append(
                {
                    "id": page_ids.annotation(CONTEXT, hit.start, hit.end),
                    "type": "Annotation",
                    "motivation": "contextualizing",
                    "target": {"type": "SpecificResource", "source": item_id, "selector": [_selector(hit)]},
                }
            )
    answer: dict[str, Any] = {
        "@context": SEARCH_CONTEXT,
        "id": window.page,
        "type": "AnnotationPage",
        "partOf": {
            "id": window.collection,
            "type": "AnnotationCollection",
            "total": window.total,
            "first": _page_ref(window.first),
            "last": _page_ref(window.last),
            "pagesearch:matchedPages": window.matched,
            "pagesearch:totalExact": window.exact,
        },
    }
    if window.next:
        answer["next"] = _page_ref(window.next)
    if window.prev:
        answer["prev"] = _page_ref(window.prev)
    if window.start_index is not None:
        answer["startIndex"] = window.start_index
    if ignored:
        answer["ignored"] = ignored
    answer["items"] = items
    if snippets:
        answer["annotations"] = [{"type": "AnnotationPage", "items": snippets}]
    return answer


def term_page(terms: list[Term], url: str, *, search_url: Callable[[str], str], ignored: list[str]) -> dict[str, Any]:
    """The completions of a prefix; a term of several words links the phrase search it stands for."""
    items: list[dict[str, Any]] = []
    for term in terms:
        item: dict[str, Any] = {"value": term.value, "total": term.count}
        if " " in term.value:
            # Its words as q would be searched one by one, anywhere on a page: give the phrase search.
            item["service"] = [{"id": search_url(term.query), "type": "SearchService2"}]
        items.append(item)
    answer: dict[str, Any] = {"@context": SEARCH_CONTEXT, "id": url, "type": "TermPage"}
    if ignored:
        answer["ignored"] = ignored
    answer["items"] = items
    return answer
