"""Books as the index holds them: their list, a book's pages for its manifest, and each page's image.

Reads only the fields a canvas needs (never a page's text or words), in page
order: numeric pages by ``page_number``, then the others by name.
"""

from __future__ import annotations

from typing import Any

from opensearchpy.exceptions import NotFoundError

from lib import storage

CANVAS_FIELDS = ["book", "page", "page_number", "image", "source.image_key"]
_PAGE_ORDER = [{"page_number": {"order": "asc", "missing": "_last"}}, {"page": "asc"}]
_BATCH = 1000


def book_pages(client: Any, alias: str, book: str) -> list[dict[str, Any]]:
    """Every page of ``book`` in page order (an empty list when the book has none, or nothing is indexed)."""
    body: dict[str, Any] = {
        "size": _BATCH,
        "query": {"bool": {"filter": [{"term": {"book": book}}]}},
        "_source": CANVAS_FIELDS,
        "sort": _PAGE_ORDER,
    }
    pages: list[dict[str, Any]] = []
    try:
        while True:
            hits = client.search(index=alias, body=body)["hits"]["hits"]
            pages += [h["_source"] for h in hits]
            if len(hits) < _BATCH:
                return pages
            body["search_after"] = hits[-1]["sort"]
    except NotFoundError:
        return []


def image_url(page: dict[str, Any], *, pages_bucket: str, results_bucket: str, expires: int = 3600) -> str:
    """A short-lived URL of the image to show for a page document: its browser image, else its upload.

    Presigned: the buckets stay private, and the URL works from any page or
    viewer for ``expires`` seconds without signing anything itself.
    """
    display = (page.get("image") or {}).get("display")
    if display:
        return storage.presigned_url(results_bucket, display["key"], expires=expires)
    return storage.presigned_url(pages_bucket, (page.get("source") or {}).get("image_key") or "", expires=expires)


def list_books(client: Any, alias: str, limit: int = 1000) -> list[dict[str, Any]]:
    """The books in the index and their page counts, by name (at most ``limit`` books)."""
    body = {"size": 0, "aggs": {"books": {"terms": {"field": "book", "size": limit, "order": {"_key": "asc"}}}}}
    try:
        buckets = client.search(index=alias, body=body)["aggregations"]["books"]["buckets"]
    except NotFoundError:
        return []
    return [{"book": b["key"], "pages": b["doc_count"]} for b in buckets]
