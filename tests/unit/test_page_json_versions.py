"""The indexer reads page JSON of both versions: 1 (before image.rotation/deskew/scale) and 2."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from lib.index.documents import page_document
from lib.page_json import READABLE_VERSIONS, SCHEMA_VERSION, PageInvalid, load_page_json
from lib.versions import SourceVersion

V1: dict[str, Any] = {
    "schema_version": 1,
    "book": "gazette",
    "page": "0001",
    "page_number": 1,
    "source": {"bucket": "pages", "key": "gazette/0001.tif", "etag": "abc"},
    "image": {"width": 1000, "height": 1400, "dpi": 300, "dpi_from_file": True, "format": "TIFF", "frames": 1},
    "ocr": {"engine": "tesseract 5.3.0", "lang": "eng", "psm": 3, "duration_ms": 1200},
    "stats": {"blocks": 1, "lines": 1, "words": 2},
    "text": "Hello world",
    "blocks": [
        {
            "bbox": [10, 10, 200, 40],
            "paragraphs": [
                {
                    "bbox": [10, 10, 200, 40],
                    "lines": [
                        {
                            "bbox": [10, 10, 200, 40],
                            "text": "Hello world",
                            "conf": 95.0,
                            "words": [
                                {"text": "Hello", "bbox": [10, 10, 90, 40], "conf": 96.0},
                                {"text": "world", "bbox": [110, 10, 200, 40], "conf": 94.0},
                            ],
                        }
                    ],
                }
            ],
        }
    ],
}


def _v2() -> dict[str, Any]:
    document = copy.deepcopy(V1)
    document["schema_version"] = 2
    document["image"].update(rotation=180, deskew=-2.25, scale=0.5)
    document["ocr"]["passes"] = 2
    return document


def test_the_writer_writes_the_newest_version_and_the_reader_reads_both() -> None:
    assert SCHEMA_VERSION == 2 and READABLE_VERSIONS == (1, 2)


@pytest.mark.parametrize("document", [V1, _v2()], ids=["v1", "v2"])
def test_both_versions_validate_and_become_the_same_index_document(document: dict[str, Any]) -> None:
    loaded = load_page_json(json.dumps(document).encode())
    version = SourceVersion.of("gazette/0001.tif", "2024-01-01T00:00:00.000Z", "0A", "abc")
    body = page_document(loaded, version, "2024-01-01T00:00:01Z").body
    reference = page_document(load_page_json(json.dumps(V1).encode()), version, "2024-01-01T00:00:01Z").body
    assert body == reference  # boxes are in the page's own pixels in both: nothing to convert


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d["image"].pop("rotation"), "image"),
        (lambda d: d["image"].update(rotation=45), "rotation"),
        (lambda d: d["image"].update(scale=0), "scale"),
        (lambda d: d["ocr"].pop("passes"), "ocr"),
        (lambda d: d.update(schema_version=3), "schema_version"),
    ],
)
def test_a_version_2_page_must_say_what_was_applied(change: Any, where: str) -> None:
    document = _v2()
    change(document)
    with pytest.raises(PageInvalid, match=where):
        load_page_json(json.dumps(document).encode())
