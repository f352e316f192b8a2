"""The routes that show the library rather than search it: its books, a book's manifest, completions anywhere.

Each is one `_search` request on the alias (the search function may do nothing
else), shaped by lib.search.manifest and lib.search.iiif2.
"""

from __future__ import annotations

from typing import Any

from lib.search import iiif2
from lib.search.autocomplete import complete
from lib.search.books import book_pages, image_url, list_books
from lib.search.identifiers import Identifiers
from lib.search.manifest import manifest


class NoSuchBook(LookupError):
    """A book with no indexed page: 404."""


def books(client: Any, index: str) -> dict[str, Any]:
    return {"books": list_books(client, index)}


def book_manifest(
    ids: Identifiers, book: str, client: Any, index: str, pages_bucket: str, results_bucket: str
) -> dict[str, Any]:
    pages = book_pages(client, index, book)
    if not pages:
        raise NoSuchBook(f"no indexed page in book {book!r}")

    def url(page: dict[str, Any]) -> str:
        return image_url(page, pages_bucket=pages_bucket, results_bucket=results_bucket)

    return manifest(ids, book, pages, url)


def autocomplete(q: str, min_count: int, ids: Identifiers, client: Any, index: str) -> dict[str, Any]:
    """Completions across every book, as a Content Search 2.0 TermPage whose terms search the library."""
    terms = complete(client, index, q, book=None, min_count=min_count)
    url = ids.url("/autocomplete", [("q", q)])
    return iiif2.term_page(terms, url, search_url=lambda query: ids.url("/search", [("q", query)]), ignored=[])
