"""A book's pages as the index holds them: for its manifest, and for where each page's image is.

Reads only the fields a canvas needs (never a page's text or words), in page
order: numeric pages by ``page_number``, then the others by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opensearchpy.exceptions import NotFoundError

from lib.index.documents import page_id
from lib.search.manifest import MIME

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


@dataclass(frozen=True)
class ImageLocation:
    """Where a page's image is: the browser image in the results bucket, or the original upload."""

    bucket: str
    key: str
    content_type: str


def image_location(
    client: Any, alias: str, book: str, page: str, *, pages_bucket: str, results_bucket: str
) -> ImageLocation | None:
    """The image to show for one page, or None when the page is not indexed.

    A search by id, not a GET: the search function may only search its alias.
    """
    body = {"size": 1, "query": {"ids": {"values": [page_id(book, page)]}}, "_source": ["image", "source.image_key"]}
    try:
        hits = client.search(index=alias, body=body)["hits"]["hits"]
    except NotFoundError:
        return None
    if not hits:
        return None
    source = hits[0]["_source"]
    display = (source.get("image") or {}).get("display")
    if display:
        return ImageLocation(results_bucket, display["key"], MIME[display["format"]])
    key = (source.get("source") or {}).get("image_key")
    if not key:
        return None
    return ImageLocation(pages_bucket, key, MIME.get((source.get("image") or {}).get("format") or "", "image/jpeg"))
