"""IIIF identifiers of books, pages and hits (pure): the URIs every response shape names things by.

A book is a manifest, a page its canvas: ``{base}/iiif/{book}/manifest`` and
``{base}/iiif/{book}/canvas/{page}``, book and page percent-encoded as one
path segment each (``Viewer Book`` is ``Viewer%20Book``, ``a/b`` is ``a%2Fb``),
so the manifests to come can use the same ids. An annotation is named by the
character span it covers in the page text, which does not depend on the
query: the same word or phrase has the same id in every answer. A box
``[left, top, right, bottom]`` in page-image pixels is the canvas fragment
``#xywh=left,top,width,height`` (canvases take the image's size).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

# Kinds of annotation, one letter in the id: a word (Search 1.0 resources), a
# hit (2.0 items), the snippet of a hit (2.0 contextualizing annotations).
WORD, HIT, CONTEXT = "w", "h", "c"


def segment(name: str) -> str:
    """A book or page name as one path segment."""
    return quote(name, safe="")


def xywh(box: list[int]) -> str:
    left, top, right, bottom = box
    return f"xywh={left},{top},{right - left},{bottom - top}"


@dataclass(frozen=True)
class PageIds:
    """The ids of one page, made once per page of an answer (quoting is most of an id's cost)."""

    manifest: str
    canvas: str
    annotations: str  # what the page's annotation ids start with

    def target(self, box: list[int]) -> str:
        return f"{self.canvas}#{xywh(box)}"

    def annotation(self, kind: str, start: int, end: int) -> str:
        return f"{self.annotations}/{kind}{start}-{end}"


@dataclass(frozen=True)
class Identifiers:
    """The URIs of one deployment, under ``base`` (scheme, host and any stage path, no trailing slash)."""

    base: str

    def manifest(self, book: str) -> str:
        return f"{self.base}/iiif/{segment(book)}/manifest"

    def canvas(self, book: str, page: str) -> str:
        return f"{self.base}/iiif/{segment(book)}/canvas/{segment(page)}"

    def page(self, book: str, page: str) -> PageIds:
        at = f"{self.base}/iiif/{segment(book)}"
        name = segment(page)
        return PageIds(manifest=f"{at}/manifest", canvas=f"{at}/canvas/{name}", annotations=f"{at}/annotation/{name}")

    def url(self, path: str, params: list[tuple[str, str]]) -> str:
        """``path`` (already encoded) under the base, with ``params`` as its query string."""
        query = urlencode(params, quote_via=quote)
        return f"{self.base}{path}?{query}" if query else f"{self.base}{path}"

    def search_path(self, book: str | None, version: int) -> str:
        return f"/iiif/{segment(book)}/search/{version}" if book is not None else "/search"

    def autocomplete_path(self, book: str, version: int) -> str:
        return f"/iiif/{segment(book)}/autocomplete/{version}"
