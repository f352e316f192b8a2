"""Whole books through the real functions: splitter, OCR and indexer against moto's S3/SQS/SNS and osmem.

The wiring is serverless.yml's, in-process: moto's S3 really notifies (pages
bucket: images to the topic and the OCR queue, ``.pdf`` to the split queue;
results bucket: page JSON to the indexer's queue), and ``Pipeline.run``
drains the queues into the handlers, as the local stack's dispatcher does,
until nothing moves. Real pypdfium2, real Tesseract, nothing of what is
tested is mocked. Books are made from the sample pages (tests/books.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests import books
from tests.conftest import PAGES_BUCKET, RESULTS_BUCKET, ROOT, words_of
from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration
SCHEMA = json.loads((ROOT / "schema" / "page.schema.json").read_text())
MOBY = [
    "Call me Ishmael. Some years ago, never mind how long precisely, having little",
    "or no money in my purse, and nothing particular to interest me on shore,",
    "I thought I would sail about a little and see the watery part of the world.",
]


def _search(settings: Any, query: str, book: str) -> list[str]:
    from lib.opensearch import client
    from lib.search.query import search

    result = search(client(settings.opensearch_url), settings.opensearch_index, query, book=book)
    return sorted(hit["page"] for hit in result.as_dict()["hits"])


def test_a_pdf_of_scans_becomes_pages_each_extracted_as_it_is_ocrd_and_searchable(
    pipeline: Pipeline, settings: Any
) -> None:
    import jsonschema

    jpeg = books.jpeg_of(books.PAGES[1])
    data = books.merged(books.scans_pdf([books.PAGES[0]]), books.jpeg_pdf([jpeg]))
    etag = pipeline.upload("scans/book.pdf", data)
    outcomes = pipeline.run()
    assert [o["status"] for o in outcomes if o["function"] == "splitter"] == ["split"]
    # Page 1 is a CCITT scan (its own pixels as PNG), page 2 a JPEG (its very bytes).
    assert pipeline.keys(PAGES_BUCKET, "scans/") == {"scans/book.pdf", "scans/0001.png", "scans/0002.jpg"}
    assert pipeline.s3.get_object(Bucket=PAGES_BUCKET, Key="scans/0002.jpg")["Body"].read() == jpeg
    assert pipeline.page_jsons("scans") == {"0001", "0002"}
    for number, page in enumerate(("0001", "0002"), start=1):
        document = pipeline.page("scans", page)
        jsonschema.validate(document, SCHEMA)
        assert (document["book"], document["page"], document["page_number"]) == ("scans", page, number)
        assert document["source"]["split_from"] == {"key": "scans/book.pdf", "etag": etag, "page": number}
        assert document["ocr"]["engine"].startswith("tesseract")
    assert "quick brown dog" in pipeline.page("scans", "0001")["text"]
    status = pipeline.status("scans/book.pdf", "scans")
    assert (status["state"], status["pages_total"], status["pages_done"], status["pages_failed"]) == ("done", 2, 2, 0)
    assert [p["how"] for p in status["pages"].values()] == ["extracted", "extracted"]
    assert _search(settings, '"quick brown dog"', "scans") == ["0001"]


def test_text_layers_are_indexed_without_ocr_and_a_mixed_book_keeps_page_order(
    pipeline: Pipeline, settings: Any, tmp_path: Path
) -> None:
    import jsonschema

    searchable = books.tesseract_pdf(books.PAGES[0], tmp_path)  # a scan OCR'd elsewhere: invisible text
    data = books.merged(books.text_pdf([MOBY]), books.scans_pdf([books.PAGES[1]]), searchable)
    pipeline.upload("mixed.pdf", data)  # BOOK.pdf at the top: the book is its name
    outcomes = pipeline.run()
    ocr_runs = [o for o in outcomes if o["function"] == "ocr" and o["status"] == "ocr"]
    assert [o["page"] for o in ocr_runs] == ["0002"]  # only the page without text was OCR'd
    assert pipeline.keys(PAGES_BUCKET) == {"mixed.pdf", "mixed/0002.png"}
    born, scanned = pipeline.page("mixed", "0001"), pipeline.page("mixed", "0003")
    for document in (born, scanned):
        jsonschema.validate(document, SCHEMA)
        assert document["ocr"]["engine"] == "pdf-text" and document["source"]["key"] == "mixed.pdf"
        assert document["image"]["display"]["format"] == "JPEG"
        assert set(document["outputs"]) == {"alto", "hocr"}
        for key in (document["image"]["display"]["key"], *document["outputs"].values()):
            assert pipeline.s3.head_object(Bucket=RESULTS_BUCKET, Key=key)
    assert born["text"].splitlines() == MOBY  # exact: the document's own text
    first = born["blocks"][0]["paragraphs"][0]["lines"][0]["words"][0]
    # "Call" at x = 72 pt, baseline 720 pt on a Letter page (792 pt), 12 pt Helvetica (caps about 9 pt high):
    # at 300 dpi 300 px from the left, its top (729 pt) 262 px from the top, its baseline 300 px.
    assert first["text"] == "Call" and abs(first["bbox"][0] - 300) <= 3
    assert abs(first["bbox"][1] - 262) <= 4 and abs(first["bbox"][3] - 300) <= 4
    assert (born["image"]["width"], born["image"]["height"]) == (2550, 3300)
    assert "lazy fox" in scanned["text"]
    assert _search(settings, "ishmael", "mixed") == ["0001"]
    assert _search(settings, '"lazy fox"', "mixed") == ["0003"]


def test_a_multipage_tiff_is_handed_over_by_the_ocr_function_and_split(pipeline: Pipeline, settings: Any) -> None:
    pipeline.upload("tiffs/scan.tif", books.multipage_tiff())
    outcomes = pipeline.run()
    handed = [o for o in outcomes if o["function"] == "ocr" and o["key"] == "tiffs/scan.tif"]
    assert handed[0]["detail"] == "a multi-page TIFF is a book: handed to the splitter"
    assert pipeline.page_jsons("tiffs") == {"0001", "0002", "0003"}
    assert "quick brown dog" in pipeline.page("tiffs", "0001")["text"]
    assert _search(settings, "moat", "tiffs") == ["0003"]
    # Deleting the TIFF removes its pages, their outputs and their index entries.
    pipeline.s3.delete_object(Bucket=PAGES_BUCKET, Key="tiffs/scan.tif")
    pipeline.run()
    assert pipeline.keys(PAGES_BUCKET, "tiffs/") == set()
    assert pipeline.keys(RESULTS_BUCKET, "tiffs/") == set()
    assert _search(settings, "moat", "tiffs") == []


def test_same_file_again_changes_nothing_a_new_version_replaces_pages_and_deletion_removes_all(
    pipeline: Pipeline, settings: Any
) -> None:
    three = books.merged(books.text_pdf([MOBY]), books.scans_pdf([books.PAGES[0]]), books.text_pdf([["whaling"]]))
    pipeline.upload("v/book.pdf", three)
    pipeline.run()
    before = {k: pipeline.s3.head_object(Bucket=RESULTS_BUCKET, Key=k)["ETag"] for k in pipeline.keys(RESULTS_BUCKET)}
    pipeline.upload("v/book.pdf", three)  # the same bytes again
    again = pipeline.run()
    assert {o["function"] for o in again} == {"splitter"} and again[0]["status"] == "skipped"
    after = {k: pipeline.s3.head_object(Bucket=RESULTS_BUCKET, Key=k)["ETag"] for k in pipeline.keys(RESULTS_BUCKET)}
    assert after == before
    # A new version: page 1 is now a scan, page 2 text, and there is no page 3.
    two = books.merged(books.scans_pdf([books.PAGES[1]]), books.text_pdf([["the white whale"]]))
    pipeline.upload("v/book.pdf", two)
    pipeline.run()
    assert pipeline.keys(PAGES_BUCKET, "v/") == {"v/book.pdf", "v/0001.png"}
    assert pipeline.page_jsons("v") == {"0001", "0002"}
    assert pipeline.page("v", "0002")["text"] == "the white whale"
    assert "ishmael" not in words_of(pipeline.page("v", "0001")["text"])
    assert _search(settings, "whaling", "v") == [] and _search(settings, "ishmael", "v") == []
    assert _search(settings, "whale", "v") == ["0002"]
    pipeline.s3.delete_object(Bucket=PAGES_BUCKET, Key="v/book.pdf")
    pipeline.run()
    assert pipeline.keys(PAGES_BUCKET, "v/") == set() and pipeline.keys(RESULTS_BUCKET, "v/") == set()
    assert _search(settings, "whale", "v") == []


def test_a_long_split_continues_in_further_invocations(
    pipeline: Pipeline, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPLIT_CHUNK_PAGES", "2")
    pages = [[f"page {n} of the long book", f"word{n}"] for n in range(1, 6)]
    pipeline.upload("long/book.pdf", books.text_pdf(pages))
    outcomes = [o for o in pipeline.run() if o["function"] == "splitter"]
    assert [o["detail"].split(";")[0] for o in outcomes] == [
        "pages 1-2 of 5",
        "pages 3-4 of 5",
        "5 pages: 0 images for OCR, 5 text pages, 0 failed",
    ]
    status = pipeline.status("long/book.pdf", "long")
    assert (status["state"], status["chunks"], status["pages_done"]) == ("done", 3, 5)
    assert pipeline.page_jsons("long") == {f"{n:04d}" for n in range(1, 6)}
    assert _search(settings, "word5", "long") == ["0005"]


BAD_FILES = {
    "encrypted": (books.encrypted_pdf, "encrypted with a password"),
    "zero-pages": (books.zero_page_pdf, "the PDF has no pages"),
    "truncated": (lambda: books.scans_pdf()[: len(books.scans_pdf()) // 2], "corrupt or truncated PDF"),
    "not-a-pdf": (lambda: b"%PDF-1.7\nthis is not a PDF at all", "corrupt or truncated PDF"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_file_ends_in_a_failure_record_saying_what_is_wrong(pipeline: Pipeline, case: str) -> None:
    make, reason = BAD_FILES[case]
    pipeline.upload(f"bad/{case}.pdf", make())
    outcomes = pipeline.run()
    assert [(o["function"], o["status"]) for o in outcomes] == [("splitter", "failed")]
    [record] = pipeline.failures()
    assert reason in record["reason"] and record["source"]["key"] == f"bad/{case}.pdf" and record["stage"] == "split"
    assert pipeline.status(f"bad/{case}.pdf", "bad")["state"] == "failed"


def test_one_bad_page_fails_alone_and_the_others_arrive(pipeline: Pipeline, settings: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("MAX_BOOK_PAGES", "10")
    data = books.merged(books.text_pdf([["before the bomb"]]), books.bomb_pdf(), books.text_pdf([["after the bomb"]]))
    pipeline.upload("bomb/book.pdf", data)
    pipeline.run()
    assert pipeline.page_jsons("bomb") == {"0001", "0003"}
    [record] = pipeline.failures()
    assert (record["book"], record["page"], record["source"]["key"]) == ("bomb", "0002", "bomb/book.pdf")
    assert "200000x200000 pixels, over the limit" in record["reason"]
    assert pipeline.status("bomb/book.pdf", "bomb")["pages_failed"] == 1
    # Too many pages for the limit: the whole file is refused, saying which setting.
    monkeypatch.setenv("MAX_BOOK_PAGES", "2")
    pipeline.upload("bomb/other.pdf", data)
    pipeline.run()
    assert any("over the limit of 2 (MAX_BOOK_PAGES)" in r["reason"] for r in pipeline.failures())


def test_a_tiff_with_a_broken_frame_keeps_the_frames_before_it(pipeline: Pipeline) -> None:
    data = books.multipage_tiff()
    # Cut inside the last frame: its directory or strips are gone, the first two frames are whole.
    pipeline.upload("broken/scan.tif", data[: len(data) - 2000])
    pipeline.run()
    [record] = pipeline.failures()
    assert record["page"] == "0003" and "frame 3" in record["reason"]
    assert pipeline.page_jsons("broken") == {"0001", "0002"}
