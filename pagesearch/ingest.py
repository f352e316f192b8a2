"""``pagesearch ingest``: check every file, upload them, then wait until each is searchable or failed.

Every argument is checked before anything is uploaded (a missing file, a
suffix the pipeline does not take, a book name that cannot hold pages): one
bad argument, and nothing is uploaded. Progress goes to standard error.

A book file (a PDF, a multi-page TIFF) is split into pages by the splitter:
it must be the only file of its ``--book``, and the wait follows its split's
progress record, then each of its pages, so the bar counts the book's pages.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lib import storage
from lib.index.store import make_searchable
from lib.keys import InvalidKey, book_of_file, is_book_key, is_tiff_key, page_ref_from_key
from lib.languages import LANG_METADATA, InvalidLanguage, ocr_languages
from lib.ocr.images import is_multipage_tiff
from lib.opensearch import client as opensearch_client
from lib.progress import PageState, page_state, split_page_state, split_progress


class IngestError(ValueError):
    """The arguments cannot be ingested as they are: every problem, one per line."""


@dataclass
class Ingest:
    book: str
    uploads: dict[str, Path]  # key -> file
    etags: dict[str, str] = field(default_factory=dict)
    # Every page followed (an uploaded page's key; a book file's pages as KEY#page=0001) and where it ended.
    states: dict[str, PageState] = field(default_factory=dict)
    # Book files: key -> the pages its split has announced so far (KEY#page=... -> progress entry), or None.
    books: dict[str, dict[str, dict[str, Any]] | None] = field(default_factory=dict)
    book_failures: dict[str, str] = field(default_factory=dict)  # book file -> why it could not be split
    lang: str | None = None  # the OCR language every upload names (x-amz-meta-ocr-lang), else the book's

    def followed(self) -> set[str]:
        """The pages waited for: single pages, and the pages of every book file known so far."""
        singles = {key for key in self.etags if key not in self.books}
        return singles | {name for pages in self.books.values() if pages for name in pages}


def plan(files: list[str], book: str, lang: str | None = None) -> Ingest:
    """The keys the files will be uploaded under; IngestError naming every argument that cannot be."""
    problems: list[str] = []
    if lang is not None:
        try:
            lang = ocr_languages(lang, "--lang")
        except InvalidLanguage as exc:
            problems.append(str(exc))
    uploads: dict[str, Path] = {}
    books: set[str] = set()
    if not book.strip():
        raise IngestError("--book is empty: pages are stored as BOOK/FILENAME")
    for name in files:
        path = Path(name)
        key = f"{book}/{path.name}"
        if not path.is_file():
            problems.append(f"{name}: no such file")
            continue
        try:
            if is_book_file(path):
                book_of_file(key)
                books.add(key)
            else:
                page_ref_from_key(key)
        except InvalidKey as exc:
            problems.append(f"{name}: {exc}")
            continue
        if key in uploads:
            problems.append(f"{name}: the same page as {uploads[key]} ({key})")
            continue
        uploads[key] = path
    if books and len(uploads) > 1:
        # A book file's pages are BOOK/0001...: any other file of the book would be one of them, or beside them.
        problems.append(f"{', '.join(sorted(books))}: a book file (PDF, multi-page TIFF) must be alone in its --book")
    if problems:
        raise IngestError("nothing was uploaded:\n" + "\n".join(f"  {p}" for p in problems))
    if not uploads:
        raise IngestError("no files given")
    return Ingest(book=book, uploads=uploads, books=dict.fromkeys(books), lang=lang)


def is_book_file(path: Path) -> bool:
    """A PDF, or a TIFF of more than one frame (read from its first two directories)."""
    if is_book_key(path.name):
        return True
    if not is_tiff_key(path.name):
        return False
    with path.open("rb") as file:
        return is_multipage_tiff(file.read())


def upload(job: Ingest, pages_bucket: str, *, quiet: bool) -> None:
    from tqdm import tqdm

    metadata = {LANG_METADATA: job.lang} if job.lang else None
    for key, path in tqdm(job.uploads.items(), desc="upload", unit="page", file=sys.stderr, disable=quiet):
        with path.open("rb") as body:
            job.etags[key] = storage.put_file(pages_bucket, key, body, metadata=metadata)


def wait(job: Ingest, config: dict[str, str], *, timeout: float, quiet: bool) -> None:
    """Poll each page until it is indexed or failed, or ``timeout`` seconds passed; then make it searchable.

    A book file's pages are followed once its split's progress record names them; the bar's total grows
    as they are announced.
    """
    from tqdm import tqdm

    client = opensearch_client(config["OPENSEARCH_URL"])
    results = config["RESULTS_BUCKET"]
    deadline = time.monotonic() + timeout
    with tqdm(total=len(job.followed()), desc="ocr+index", unit="page", file=sys.stderr, disable=quiet) as bar:
        while not _finished(job) and time.monotonic() < deadline:
            for key in [k for k in job.books if k not in job.book_failures]:
                _follow_book(job, key, results)
            bar.total = max(len(job.followed()), 1 if job.books else 0)
            for name in sorted(job.followed() - set(job.states)):
                state = _state(job, name, results, client, config["OPENSEARCH_INDEX"])
                if state:
                    job.states[name] = state
                    bar.update(1)
            bar.refresh()
            if not _finished(job):
                time.sleep(0.25)
    if PageState.INDEXED in job.states.values():
        # Indexed pages become searchable at the next refresh: do it now, so the
        # searches that follow an ingest see every page it reported.
        make_searchable(client, config["OPENSEARCH_INDEX"])


def _follow_book(job: Ingest, key: str, results_bucket: str) -> None:
    """Learn the pages of a book file from its split's progress record."""
    record = split_progress(results_bucket, key, job.etags[key])
    if record is None:
        return
    if record["state"] == "failed":
        job.book_failures[key] = record.get("reason") or "the file could not be split"
        return
    job.books[key] = {f"{key}#page={entry['page']}": entry for entry in record["pages"].values()}
    if record["state"] != "done":
        job.books[key][f"{key}#split"] = {}  # the split goes on: not finished until its record says done


def _state(job: Ingest, name: str, results_bucket: str, client: Any, alias: str) -> PageState | None:
    for pages in job.books.values():
        if pages and name in pages:
            return split_page_state(results_bucket, client, alias, pages[name]) if pages[name] else None
    return page_state(results_bucket, client, alias, name, job.etags[name])


def _finished(job: Ingest) -> bool:
    books_known = all(pages is not None or key in job.book_failures for key, pages in job.books.items())
    return books_known and not (job.followed() - set(job.states))


def summary(job: Ingest, started: float, waited: bool) -> dict[str, Any]:
    result: dict[str, Any] = {"book": job.book, "uploaded": len(job.etags)}
    if job.books:
        result["pages"] = len([n for n in job.followed() if not n.endswith("#split")])
    if waited:
        pending = (job.followed() - set(job.states)) | {k for k, p in job.books.items() if p is None}
        result.update(
            indexed=sum(s == PageState.INDEXED for s in job.states.values()),
            failed=sorted({k for k, s in job.states.items() if s == PageState.FAILED} | set(job.book_failures)),
            pending=sorted(pending - set(job.book_failures)),
        )
    result["seconds"] = round(time.monotonic() - started, 2)
    return result
