"""What the indexer and search tests share: page JSONs of real pages, put where the indexer reads them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pagesearch import lambda_local
from tests.conftest import RESULTS_BUCKET, SAMPLES, ocr_page_json, s3_event


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    return lambda_local.invoke("indexer", event, stage="test")


def put_page(
    s3: Any,
    document: dict[str, Any],
    *,
    sequencer: str = "0062A1B2C3D4E5F601",
    event_time: str = "2026-11-25T09:00:00.000Z",
) -> dict[str, Any]:
    """Write BOOK/PAGE.json as the OCR function would; returns the event S3 emits for it."""
    key = f"{document['book']}/{document['page']}.json"
    response = s3.put_object(
        Bucket=RESULTS_BUCKET, Key=key, Body=json.dumps(document).encode(), ContentType="application/json"
    )
    record = s3_event(RESULTS_BUCKET, key, etag=response["ETag"].strip('"'), sequencer=sequencer, event_time=event_time)
    return {"Records": [record]}


def index(s3: Any, document: dict[str, Any], **kwargs: Any) -> None:
    [outcome] = invoke(put_page(s3, document, **kwargs))["pages"]
    assert outcome["status"] == "indexed", outcome


def search(settings: Any, query: str, **kwargs: Any) -> Any:
    from lib.opensearch import client
    from lib.search.query import search as run

    return run(client(settings.opensearch_url), settings.opensearch_index, query, **kwargs)


def stored(settings: Any, book: str, page: str) -> dict[str, Any] | None:
    """The page's document in the index, as stored."""
    from opensearchpy.exceptions import NotFoundError

    from lib.index.documents import page_id
    from lib.opensearch import client

    try:
        return client(settings.opensearch_url).get(index=settings.opensearch_index, id=page_id(book, page))["_source"]
    except NotFoundError:
        return None


@pytest.fixture
def library(s3: Any, settings: Any, page_json_cache: dict[str, Any], tesseract: str) -> dict[str, dict[str, Any]]:
    """Three real pages in two books, indexed through the handler."""
    pages = {
        "photo": ocr_page_json(page_json_cache, SAMPLES / "phototest.tif", book="tests", page="0001"),
        "euro": ocr_page_json(page_json_cache, SAMPLES / "eurotext.tif", book="tests", page="0002"),
        "moat": ocr_page_json(page_json_cache, SAMPLES / "d015.tiff", book="child-of-the-moat", page="0015"),
    }
    for document in pages.values():
        index(s3, document)
    return pages


def synthetic_page(book: str, page: str, paragraphs: list[list[str]]) -> dict[str, Any]:
    """A valid page JSON whose paragraphs hold these lines (words split on spaces, ``_`` for a space inside one)."""
    from lib.page_json import build_page_json

    blocks, top = [], 10
    paras = []
    for lines in paragraphs:
        line_docs = []
        for text in lines:
            words, left = [], 10
            for token in text.split():
                word = token.replace("_", " ")
                width = 12 * len(word)
                words.append({"text": word, "bbox": [left, top, left + width, top + 20], "conf": 95.0})
                left += width + 10
            line_docs.append(
                {
                    "bbox": [10, top, left - 10, top + 20],
                    "text": " ".join(w["text"] for w in words),
                    "conf": 95.0,
                    "words": words,
                }
            )
            top += 30
        paras.append(
            {
                "bbox": [10, line_docs[0]["bbox"][1], max(ln["bbox"][2] for ln in line_docs), top - 10],
                "lines": line_docs,
            }
        )
        top += 20
    blocks.append({"bbox": [10, 10, max(p["bbox"][2] for p in paras), top], "paragraphs": paras})
    return build_page_json(
        book=book,
        page=page,
        page_number=int(page) if page.isdigit() else None,
        source={"bucket": "test-pages", "key": f"{book}/{page}.png"},
        image={
            **{"width": 2000, "height": top + 10, "dpi": 300, "dpi_from_file": True, "format": "PNG", "frames": 1},
            **{"rotation": 0, "deskew": 0.0, "scale": 1.0},
        },
        ocr={"engine": "tesseract 5.3.0 (synthetic test page)", "lang": "eng", "psm": 3, "duration_ms": 0, "passes": 1},
        blocks=blocks,
    )
