"""``pagesearch export`` against moto's S3, of pages the real OCR function wrote: every format, and its refusals."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from pagesearch import cli, lambda_local
from tests.conftest import PAGES_BUCKET, RESULTS_BUCKET, SAMPLES, s3_event, sns_event
from tests.standards import (
    assert_pdf_text_matches,
    assert_valid_alto,
    assert_valid_hocr,
    normalised,
    pdf_pages_text,
)

pytestmark = pytest.mark.integration
# Uploaded out of order, with a page that has no number: the export puts 2 before 10, and "cover" last.
PAGES = {"10": "eurotext.tif", "2": "phototest.tif", "cover": "d015.tiff"}
ORDER = ["2", "10", "cover"]


@pytest.fixture
def book(s3: Any, tesseract: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, Any]]:
    """A book of three real pages OCR'd with every output, plus a book inside it that must not be exported."""
    monkeypatch.setenv("OUTPUTS", "alto,hocr,pdf")
    records = []
    for page, image in [*PAGES.items(), ("1", "phototest.tif")]:
        key = f"moby/{page}.tif" if page != "1" else "moby/appendix/1.tif"
        data = (SAMPLES / image).read_bytes()
        etag = s3.put_object(Bucket=PAGES_BUCKET, Key=key, Body=data)["ETag"].strip('"')
        records.append(s3_event(PAGES_BUCKET, key, etag=etag, size=len(data)))
    summary = lambda_local.invoke("ocr", sns_event(*records), stage="test")
    assert [p["status"] for p in summary["pages"]] == ["ocr"] * 4
    monkeypatch.setattr("pagesearch.config.load", lambda: {"RESULTS_BUCKET": RESULTS_BUCKET})
    return {
        page: json.loads(s3.get_object(Bucket=RESULTS_BUCKET, Key=f"moby/{page}.json")["Body"].read()) for page in PAGES
    }


def export(tmp_path: Path, fmt: str, *extra: str, book: str = "moby") -> tuple[int, Path]:
    out = tmp_path / f"out.{fmt}"
    return cli.main(["export", book, "--format", fmt, "-o", str(out), "--quiet", *extra]), out


def test_text_in_page_order(book: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    code, out = export(tmp_path, "txt")
    assert code == 0
    pages = out.read_text().split("\f")
    assert [p.strip("\n") for p in pages] == [book[page]["text"] for page in ORDER]


@pytest.mark.parametrize("fmt", ["alto", "hocr"])
def test_a_zip_of_the_pages_files(book: dict[str, dict[str, Any]], tmp_path: Path, fmt: str) -> None:
    code, out = export(tmp_path, fmt)
    assert code == 0
    suffix = {"alto": ".alto.xml", "hocr": ".hocr"}[fmt]
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == [f"{page}{suffix}" for page in ORDER]
        for page in ORDER:
            check = assert_valid_alto if fmt == "alto" else assert_valid_hocr
            check(archive.read(f"{page}{suffix}"), book[page])


def test_one_searchable_pdf_of_the_whole_book(book: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    import pypdfium2 as pdfium

    code, out = export(tmp_path, "pdf")
    assert code == 0
    texts = pdf_pages_text(out.read_bytes())
    assert len(texts) == len(ORDER)
    for text, page in zip(texts, ORDER, strict=True):
        assert_pdf_text_matches(text, book[page])
    # Each page keeps its image: the page has the image's shape, and its size is the image's at the file's
    # resolution when the file states one (else at the resolution Tesseract estimated from the text).
    pdf = pdfium.PdfDocument(out)
    for n, page in enumerate(ORDER):
        image = book[page]["image"]
        width, height = pdf[n].get_size()
        assert abs(width / height - image["width"] / image["height"]) < 0.01
        if image["dpi_from_file"]:
            points = 72 / image["dpi"]
            assert abs(width - image["width"] * points) < 1 and abs(height - image["height"] * points) < 1
    pdf.close()


def test_a_format_not_written_is_refused_naming_the_setting(
    s3: Any, tesseract: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OUTPUTS", "alto,hocr")
    data = (SAMPLES / "phototest.tif").read_bytes()
    etag = s3.put_object(Bucket=PAGES_BUCKET, Key="plain/0001.tif", Body=data)["ETag"].strip('"')
    lambda_local.invoke("ocr", sns_event(s3_event(PAGES_BUCKET, "plain/0001.tif", etag=etag)), stage="test")
    monkeypatch.setattr("pagesearch.config.load", lambda: {"RESULTS_BUCKET": RESULTS_BUCKET})
    capsys.readouterr()
    code, out = export(tmp_path, "pdf", book="plain")
    error = capsys.readouterr().err
    assert code == 2 and not out.exists() and list(tmp_path.iterdir()) == []
    assert "1 of 1 page(s) have no pdf file (0001)" in error and "OUTPUTS" in error and "ocrOutputs" in error
    assert export(tmp_path, "alto", book="plain")[0] == 0


def test_an_unknown_book_is_refused(s3: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Any) -> None:
    monkeypatch.setattr("pagesearch.config.load", lambda: {"RESULTS_BUCKET": RESULTS_BUCKET})
    code, out = export(tmp_path, "txt", book="no-such-book")
    assert code == 2 and not out.exists() and "no pages of book 'no-such-book'" in capsys.readouterr().err


def test_standard_output_and_the_json_summary(
    book: dict[str, dict[str, Any]], tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert cli.main(["export", "moby", "--format", "txt", "-o", "-", "--quiet"]) == 0
    captured = capsysbinary.readouterr()
    assert normalised(captured.out.decode()) == normalised(" ".join(book[p]["text"] for p in ORDER))
    out = tmp_path / "book.pdf"
    assert cli.main(["export", "moby", "--format", "pdf", "-o", str(out), "--json", "--quiet"]) == 0
    summary = json.loads(capsysbinary.readouterr().out)
    assert summary == {"book": "moby", "format": "pdf", "pages": 3, "file": str(out), "bytes": out.stat().st_size}
    assert len(pdf_pages_text(io.BytesIO(out.read_bytes()).getvalue())) == 3
