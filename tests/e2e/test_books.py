"""A whole book end to end through the local stack: `pagesearch ingest book.pdf`, its pages searchable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import books
from tests.e2e.conftest import BIN, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_ingest_of_a_pdf_waits_for_every_page_and_says_which_failed(cli_env: dict[str, str], tmp_path: Path) -> None:
    run(str(BIN / "pagesearch"), "up", env=cli_env)
    pdf = tmp_path / "voyage.pdf"
    # A scan to OCR, a born-digital page, a page that is a decompression bomb, a scan OCR'd elsewhere.
    pdf.write_bytes(
        books.merged(
            books.scans_pdf([books.PAGES[1]]),
            books.text_pdf([["Call me Ishmael, said the born-digital page."]]),
            books.bomb_pdf(),
            books.tesseract_pdf(books.PAGES[0], tmp_path),
        )
    )
    ingest = run(str(BIN / "pagesearch"), "ingest", str(pdf), "--book", "voyage", "--json", env=cli_env, check=False)
    summary = json.loads(ingest.stdout)
    assert ingest.returncode == 1, ingest.stderr[-2000:]  # a page failed, and ingest says so
    assert (summary["uploaded"], summary["pages"], summary["indexed"]) == (1, 4, 3), summary
    assert summary["failed"] == ["voyage/voyage.pdf#page=0003"] and summary["pending"] == []
    assert "ocr+index" in ingest.stderr  # the progress bar, on standard error
    for query, page in (('"lazy fox"', "0004"), ("ishmael", "0002"), ("quick", "0004")):
        found = run(str(BIN / "pagesearch"), "search", query, "--book", "voyage", "--json", env=cli_env)
        found = json.loads(found.stdout)
        assert page in [hit["page"] for hit in found["hits"]], (query, found)
    records = json.loads(run(str(BIN / "pagesearch"), "failures", "--json", env=cli_env).stdout)
    assert [(r["source"]["key"], r["page"], r["stage"]) for r in records] == [("voyage/voyage.pdf", "0003", "split")]
