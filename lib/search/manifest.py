"""IIIF Presentation 3 manifests of books (pure): one canvas per indexed page, in page order, with its image.

Built by hand from the index's page documents rather than with iiif-prezi3:
importing that library takes about 400 ms (pydantic builds its models), eight
times the search function's whole cold-start budget, for a document of a few
fixed shapes; the tests validate what is built here with iiif-prezi3 itself.

Every canvas is the page's own size in pixels, the size every box of the page
JSON and every search hit is given in; its painting annotation's image may be
smaller (the browser image of a large TIFF, lib.ocr.display) and viewers scale
it to the canvas. The manifest lists the book's search services: Content
Search 1.0 (what Mirador 4 and the Universal Viewer speak: found by its exact
``profile``) and 2.0.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

PRESENTATION_CONTEXT = "http://iiif.io/api/presentation/3/context.json"
SEARCH1_CONTEXT = "http://iiif.io/api/search/1/context.json"
MIME = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}


def book_url(base: str, book: str) -> str:
    return f"{base}/iiif/{quote(book, safe='')}"


def canvas_id(base: str, book: str, page: str) -> str:
    return f"{book_url(base, book)}/canvas/{quote(page, safe='')}"


def manifest_id(base: str, book: str) -> str:
    return f"{book_url(base, book)}/manifest"


def image_url(base: str, book: str, page: str) -> str:
    """The route that redirects to a short-lived URL of the page's image (never a public bucket)."""
    return f"{book_url(base, book)}/image/{quote(page, safe='')}"


def search_services(base: str, book: str) -> list[dict[str, Any]]:
    """The book's Content Search services, 1.0 (with the profile Mirador looks for) and 2.0."""
    root = book_url(base, book)
    return [
        {
            "@context": SEARCH1_CONTEXT,
            "@id": f"{root}/search/1",
            "@type": "SearchService1",
            "profile": "http://iiif.io/api/search/1/search",
            "service": {
                "@id": f"{root}/autocomplete/1",
                "@type": "AutoCompleteService1",
                "profile": "http://iiif.io/api/search/1/autocomplete",
            },
        },
        {
            "id": f"{root}/search/2",
            "type": "SearchService2",
            "service": [{"id": f"{root}/autocomplete/2", "type": "AutoCompleteService2"}],
        },
    ]


def _label(text: str) -> dict[str, list[str]]:
    return {"none": [text]}


def _body(base: str, book: str, page: dict[str, Any]) -> dict[str, Any]:
    image = page.get("image") or {}
    display = image.get("display")
    if display:
        mime, width, height = MIME[display["format"]], display["width"], display["height"]
    else:
        mime, width, height = MIME.get(image.get("format") or "", "image/jpeg"), image["width"], image["height"]
    url = image_url(base, book, page["page"])
    return {"id": url, "type": "Image", "format": mime, "width": width, "height": height}


def canvas(base: str, book: str, page: dict[str, Any]) -> dict[str, Any]:
    """The canvas of one page document (``page``, ``page_number``, ``image`` as lib.index.documents stores them)."""
    cid = canvas_id(base, book, page["page"])
    number = page.get("page_number")
    return {
        "id": cid,
        "type": "Canvas",
        "label": _label(f"p. {number}" if number is not None else page["page"]),
        "width": page["image"]["width"],
        "height": page["image"]["height"],
        "items": [
            {
                "id": f"{cid}/page",
                "type": "AnnotationPage",
                "items": [
                    {
                        "id": f"{cid}/page/image",
                        "type": "Annotation",
                        "motivation": "painting",
                        "body": _body(base, book, page),
                        "target": cid,
                    }
                ],
            }
        ],
    }


def manifest(base: str, book: str, pages: list[dict[str, Any]]) -> dict[str, Any]:
    """The book's manifest: ``pages`` in the order given (page order: numbers first, then names)."""
    return {
        "@context": PRESENTATION_CONTEXT,
        "id": manifest_id(base, book),
        "type": "Manifest",
        "label": _label(book),
        "behavior": ["paged"],
        "items": [canvas(base, book, page) for page in pages],
        "service": search_services(base, book),
    }
