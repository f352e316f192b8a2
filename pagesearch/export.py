"""``pagesearch export BOOK --format txt|alto|hocr|pdf``: a book assembled from its pages in the results bucket.

- ``txt``: the pages' text in page order, a form feed between pages (as pdftotext writes them);
- ``alto``, ``hocr``: a zip of the pages' ALTO or hOCR files, named after the pages, in page order;
- ``pdf``: one searchable PDF, the pages' PDFs merged with PDFium (pypdfium2), which keeps each
  page's image and invisible text layer as Tesseract wrote them.

Pages are the page JSONs directly under ``BOOK/``, in page order: numbered
pages (``0042``) by number, then the others by name. Each page's file is the
one its page JSON names (``outputs``); a format some page lacks is refused
before anything is written, naming the setting that writes it. The file is
written next to its destination and renamed into place, so an export that
fails leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from lib import storage
from lib.keys import OUTPUT_SUFFIXES, InvalidKey, PageRef, page_ref_from_result_key

FORMATS = ("txt", "alto", "hocr", "pdf")
SUFFIXES = {"txt": ".txt", "alto": "-alto.zip", "hocr": "-hocr.zip", "pdf": ".pdf"}
# S3 round trips dominate an export: this many pages are fetched at once.
PARALLEL_FETCHES = 8
MAX_PAGE_JSON_BYTES = 64 * 1024 * 1024
MAX_OUTPUT_BYTES = 1024 * 1024 * 1024


class ExportError(ValueError):
    """The export cannot be made as asked (no such book, a format not written): said to the user, exit 2."""


@dataclass(frozen=True)
class Page:
    ref: PageRef
    key: str  # the page JSON's key

    @property
    def order(self) -> tuple[bool, int, str]:
        number = self.ref.page_number
        return (number is None, number or 0, self.ref.page)


def book_pages(bucket: str, book: str) -> list[Page]:
    """The page JSONs directly under ``BOOK/`` (not those of a book inside it), in page order."""
    pages = []
    for key in storage.list_keys(bucket, f"{book}/"):
        try:
            ref = page_ref_from_result_key(key)
        except InvalidKey:
            continue  # a browser image or an output
        if ref.book == book:
            pages.append(Page(ref, key))
    return sorted(pages, key=lambda p: p.order)


def _fetched(items: list[Any], fetch: Callable[[Any], Any], bar: Any) -> Iterator[Any]:
    """``fetch`` of each item, in order, several at once; the bar counts them."""
    with ThreadPoolExecutor(max_workers=PARALLEL_FETCHES, thread_name_prefix="export") as pool:
        for result in pool.map(fetch, items):
            bar.update(1)
            yield result


def _page_documents(bucket: str, pages: list[Page], bar: Any) -> list[dict[str, Any]]:
    def read(page: Page) -> dict[str, Any]:
        return json.loads(storage.get(bucket, page.key, max_bytes=MAX_PAGE_JSON_BYTES).body)

    return list(_fetched(pages, read, bar))


def _check_written(documents: list[dict[str, Any]], pages: list[Page], fmt: str) -> list[str]:
    """The key of each page's ``fmt`` file; ExportError naming the pages without one and the setting."""
    missing = [p.ref.page for p, d in zip(pages, documents, strict=True) if fmt not in d.get("outputs", {})]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise ExportError(
            f"{len(missing)} of {len(pages)} page(s) have no {fmt} file ({shown}): the OCR function writes "
            f"it when OUTPUTS (stage parameter ocrOutputs) includes {fmt}, for pages OCR'd from then on; "
            "upload those pages again under a new key, or delete and re-upload them, to make it"
        )
    return [d["outputs"][fmt] for d in documents]


def _write_text(documents: list[dict[str, Any]], out: BinaryIO) -> None:
    for n, document in enumerate(documents):
        if n:
            out.write(b"\f")
        out.write(document["text"].encode() + b"\n")


def _write_zip(bucket: str, pages: list[Page], keys: list[str], fmt: str, out: BinaryIO, bar: Any) -> None:
    def read(key: str) -> bytes:
        return storage.get(bucket, key, max_bytes=MAX_OUTPUT_BYTES).body

    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for page, data in zip(pages, _fetched(keys, read, bar), strict=True):
            archive.writestr(f"{page.ref.page}{OUTPUT_SUFFIXES[fmt]}", data)


def _write_pdf(bucket: str, keys: list[str], out: BinaryIO, bar: Any) -> None:
    import pypdfium2 as pdfium

    def read(key: str) -> bytes:
        return storage.get(bucket, key, max_bytes=MAX_OUTPUT_BYTES).body

    book = pdfium.PdfDocument.new()
    try:
        for data in _fetched(keys, read, bar):
            page = pdfium.PdfDocument(data)
            try:
                book.import_pages(page)
            finally:
                page.close()
        book.save(out)
    finally:
        book.close()


def default_path(book: str, fmt: str) -> Path:
    """``BOOK.txt``, ``BOOK-alto.zip``, ``BOOK-hocr.zip`` or ``BOOK.pdf`` here (a ``/`` in the book becomes ``_``)."""
    return Path(book.replace("/", "_") + SUFFIXES[fmt])


def export(bucket: str, book: str, fmt: str, out: BinaryIO, *, quiet: bool = False) -> dict[str, Any]:
    """Assemble ``book`` as ``fmt`` into ``out``; returns what was written (pages, bytes)."""
    from tqdm import tqdm

    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    pages = book_pages(bucket, book)
    if not pages:
        raise ExportError(f"no pages of book {book!r} in s3://{bucket}/ (is the book name right?)")
    steps = 1 if fmt == "txt" else 2
    with tqdm(total=len(pages) * steps, desc=f"export {fmt}", unit="page", file=sys.stderr, disable=quiet) as bar:
        documents = _page_documents(bucket, pages, bar)
        if fmt == "txt":
            _write_text(documents, out)
        else:
            keys = _check_written(documents, pages, fmt)
            if fmt == "pdf":
                _write_pdf(bucket, keys, out, bar)
            else:
                _write_zip(bucket, pages, keys, fmt, out, bar)
    return {"book": book, "format": fmt, "pages": len(pages)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("book", help="the book, as given to ingest --book")
    parser.add_argument("--format", choices=FORMATS, required=True)
    parser.add_argument("-o", "--output", help="file to write (default: BOOK.txt, BOOK-alto.zip, ...; - for stdout)")
    parser.add_argument("--json", action="store_true", help="print what was written as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _atomically(path: Path, write: Callable[[BinaryIO], dict[str, Any]]) -> dict[str, Any]:
    """``write`` into a temporary file beside ``path``, renamed onto it only when it succeeded."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            summary = write(out)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return summary


def run(args: argparse.Namespace, config: dict[str, str]) -> int:
    """The command: exit 0, or 2 with one line on standard error for what cannot be exported."""
    bucket = config["RESULTS_BUCKET"]
    to_stdout = args.output == "-"
    if to_stdout and args.json:
        print("pagesearch export: --json and -o - both want standard output", file=sys.stderr)
        return 2
    path = None if to_stdout else Path(args.output) if args.output else default_path(args.book, args.format)
    try:
        if path is None:
            buffer = io.BytesIO()  # nothing reaches standard output unless the whole export succeeded
            summary = export(bucket, args.book, args.format, buffer, quiet=args.quiet)
            sys.stdout.buffer.write(buffer.getvalue())
            sys.stdout.buffer.flush()
            summary["bytes"] = len(buffer.getvalue())
        else:
            summary = _atomically(path, lambda out: export(bucket, args.book, args.format, out, quiet=args.quiet))
            summary.update(file=str(path), bytes=path.stat().st_size)
    except ExportError as exc:
        print(f"pagesearch export: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        where = summary.get("file", "standard output")
        print(f"exported {summary['pages']} page(s) of {args.book} as {args.format} to {where}", file=sys.stderr)
    return 0
