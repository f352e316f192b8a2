"""Whole books, the parts without AWS: key rules, split queue messages, and PDFium's page decisions on real PDFs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from lib.events import BadMessage, ObjectEvent
from lib.jobs import SplitJob, parse_split_event
from lib.keys import InvalidKey, book_of_file, book_page, split_status_key
from lib.split import pdf
from pagesearch.lambda_local import s3_record, sqs_event
from tests import books


def test_book_names_page_numbers_and_status_keys() -> None:
    assert book_of_file("moby-dick.pdf") == "moby-dick"
    assert book_of_file("moby-dick/scan 1.PDF") == "moby-dick"
    assert book_of_file("shelf/moby-dick/x.tif") == "shelf/moby-dick"
    for bad in (".pdf", "failed/x.pdf", "failed.pdf"):
        with pytest.raises(InvalidKey):
            book_of_file(bad)
    assert [book_page("b", n).page for n in (1, 42, 9999, 10000)] == ["0001", "0042", "9999", "10000"]
    assert book_page("b", 42).page_number == 42
    status = split_status_key("moby-dick/scan.pdf", "moby-dick")
    assert status == "moby-dick/_split/scan.pdf.status" and not status.endswith(".json")


def test_split_queue_messages_parse_whatever_sent_them() -> None:
    record = s3_record("pages", "b/book.pdf", etag="abc", size=3)
    job = SplitJob(ObjectEvent("pages", "b/book.pdf", "ObjectCreated:Put", "2026-01-01T00:00:00.000Z"), 41, 2)
    event = {
        "Records": [
            *sqs_event(json.dumps({"Records": [record]}))["Records"],  # S3's own notification
            *sqs_event(job.body())["Records"],  # a continuation (or a TIFF handed over)
            *sqs_event("{not json")["Records"],
            *sqs_event(json.dumps({"split": {"key": "x"}}))["Records"],
        ]
    }
    parsed = parse_split_event(event)
    assert isinstance(parsed[0], SplitJob) and (parsed[0].key, parsed[0].start) == ("b/book.pdf", 1)
    assert parsed[1] == job
    assert isinstance(parsed[2], BadMessage) and isinstance(parsed[3], BadMessage)
    # A plain S3 event (sls invoke local with an S3 record) is a job too; S3's test event is nothing.
    assert [j.key for j in parse_split_event({"Records": [record]})] == ["b/book.pdf"]
    assert parse_split_event({"Event": "s3:TestEvent"}) == []


def _pages(data: bytes, tmp_path: Path) -> list[pdf.ImagePage | pdf.TextPage]:
    path = tmp_path / "book.pdf"
    path.write_bytes(data)
    with pdf.open_pdf(path) as document:
        return [pdf.split_page(document, n, dpi=300, max_pixels=120_000_000) for n in range(1, len(document) + 1)]


def test_a_scan_with_only_a_stamp_of_text_is_ocrd_not_taken_as_text(tmp_path: Path) -> None:
    """A "Digitised by" line over a scan is not the page's text: the page is rendered (the stamp is visible)."""
    scan = pdfium.PdfDocument(books.scans_pdf([books.PAGES[1]]))
    stamp = pdfium.PdfDocument(books.text_pdf([["Digitised by the library"]]))
    page = scan[0]
    stamped = stamp.page_as_xobject(0, scan)
    page.insert_obj(stamped.as_pageobject())
    page.gen_content()
    out = io.BytesIO()
    scan.save(out)
    [made] = _pages(out.getvalue(), tmp_path)
    assert isinstance(made, pdf.ImagePage) and made.how == "rendered"


def test_blank_pages_are_empty_text_pages_and_an_unreadable_layer_is_no_text(tmp_path: Path) -> None:
    document = pdfium.PdfDocument.new()
    document.new_page(612, 792)
    out = io.BytesIO()
    document.save(out)
    [blank] = _pages(out.getvalue(), tmp_path)
    assert isinstance(blank, pdf.TextPage) and blank.blocks == [] and (blank.width, blank.height) == (2550, 3300)
    # A font without a Unicode map: its characters are control codes, no text; drawn, so rendered for OCR.
    [garbled] = _pages(books.unmapped_text_pdf(), tmp_path)
    assert isinstance(garbled, pdf.ImagePage) and garbled.how == "rendered"
