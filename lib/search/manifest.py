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

from collections.abc import Callable
from typing import Any

from lib.search.identifiers import Identifiers

PRESENTATION_CONTEXT = "http://iiif.io/api/presentation/3/context.json"
SEARCH1_CONTEXT = "http://iiif.io/api/search/1/context.json"
MIME = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
ImageUrl = Callable[[dict[str, Any]], str]  # a page document -> the URL of its image


def search_services(ids: Identifiers, book: str) -> list[dict[str, Any]]:
    """The book's Content Search services, 1.0 (with the profile Mirador looks for) and 2.0."""
    return [
        {
            "@context": SEARCH1_CONTEXT,
            "@id": ids.url(ids.search_path(book, 1), []),
            "@type": "SearchService1",
            "profile": "http://iiif.io/api/search/1/search",
            "service": {
                "@id": ids.url(ids.autocomplete_path(book, 1), []),
                "@type": "AutoCompleteService1",
                "profile": "http://iiif.io/api/search/1/autocomplete",
            },
        },
        {
            "id": ids.url(ids.search_path(book, 2), []),
            "type": "SearchService2",
            "service": [{"id": ids.url(ids.autocomplete_path(book, 2), []), "type": "AutoCompleteService2"}],
        },
    ]


def _label(text: str) -> dict[str, list[str]]:
    return {"none": [text]}


def _body(page: dict[str, Any], image_url: ImageUrl) -> dict[str, Any]:
    image = page.get("image") or {}
    display = image.get("display")
    if display:
        mime, width, height = MIME[display["format"]], display["width"], display["height"]
    else:
        mime, width, height = MIME.get(image.get("format") or "", "image/jpeg"), image["width"], image["height"]
    return {"id": image_url(page), "type": "Image", "format": mime, "width": width, "height": height}


def canvas(ids: Identifiers, book: str, page: dict[str, Any], image_url: ImageUrl) -> dict[str, Any]:
    """The canvas of one page document (``page``, ``page_number``, ``image`` as lib.index.documents stores them)."""
    cid = ids.canvas(book, page["page"])
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
                        "body": _body(page, image_url),
                        "target": cid,
                    }
                ],
            }
        ],
    }


def manifest(ids: Identifiers, book: str, pages: list[dict[str, Any]], image_url: ImageUrl) -> dict[str, Any]:
    """The book's manifest: ``pages`` in the order given (page order: numbers first, then names)."""
    return {
        "@context": PRESENTATION_CONTEXT,
        "id": ids.manifest(book),
        "type": "Manifest",
        "label": _label(book),
        "behavior": ["paged"],
        "items": [canvas(ids, book, page, image_url) for page in pages],
        "service": search_services(ids, book),
    }
