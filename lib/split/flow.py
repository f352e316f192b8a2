"""The splitter's work: a book file (PDF, multi-page TIFF) in the pages bucket -> its pages BOOK/0001, BOOK/0002...

Each page becomes either an image in the pages bucket (``BOOK/0001.jpg`` or
``.png``, with S3 metadata naming the file, its ETag and the page number),
which the OCR function then OCRs like any upload, so Lambda's concurrency
is the fan-out; or, when the page carries real text (lib.split.textlayer), a
page JSON written straight into the results bucket, which the indexer
indexes. A split that runs short of time continues in a further invocation
(a message on the split queue) and records its progress
(lib.split.status). Idempotent: the same bytes again change nothing; a new
version rewrites every page and removes the pages it no longer has; deleting
the file removes every page it made (their page JSONs, outputs and index
entries follow through the existing removal paths). docs/books.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lib import jobs, results, storage
from lib.events import BadMessage, ObjectEvent
from lib.failures import clear_failure, record_bad_message, record_object_failure
from lib.jobs import SplitJob
from lib.keys import (
    FAILURE_PREFIX,
    InvalidKey,
    book_of_file,
    is_book_key,
    is_tiff_key,
    page_failure_name,
    page_ref_from_result_key,
    split_status_key,
)
from lib.languages import InvalidLanguage
from lib.observability import logger
from lib.outcome import Outcome, Status, foreign_bucket
from lib.settings import Settings
from lib.split import pages, pdf, tiff
from lib.split import status as records
from lib.split.status import SplitStatus
from lib.versions import SourceVersion, stored_key

STAGE = "split"
# Pages between two saves of the progress record (each save is one PUT).
SAVE_EVERY = 25
# A page image the splitter may have written: BOOK/0001.png, BOOK/0001.jpg (at least four digits).
_PAGE_IMAGE = re.compile(r"^\d{4,}\.(png|jpg)$")


def process_job(job: SplitJob | BadMessage, settings: Settings, remaining_ms: Callable[[], int]) -> Outcome:
    """One message of the split queue. Raises only for errors a retry may cure (S3, SQS, network)."""
    if isinstance(job, BadMessage):
        return record_bad_message(job, results_bucket=settings.results_bucket, stage=STAGE)
    item = job.event
    if item.bucket != settings.pages_bucket:
        return foreign_bucket(item, settings.pages_bucket)
    if not (is_book_key(item.key) or is_tiff_key(item.key)):
        return Outcome.skipped(item.key, "not a book file (PDF or TIFF)")
    try:
        book = book_of_file(item.key)
    except InvalidKey as exc:
        if item.removed:
            return Outcome.skipped(item.key, str(exc))
        return _fail_file(item, settings, str(exc), None)
    if item.removed:
        return _remove_file(item, book, settings, remaining_ms)
    if item.created:
        return _split(job, book, settings, remaining_ms)
    return Outcome.skipped(item.key, item.event_name)


def _split(job: SplitJob, book: str, settings: Settings, remaining_ms: Callable[[], int]) -> Outcome:
    item = job.event
    current = storage.head(item.bucket, item.key)
    if current is None:
        return Outcome.skipped(item.key, "object no longer exists")
    if item.etag and current.etag != item.etag:
        return Outcome.skipped(item.key, "the file changed since this event: the newer upload's own event splits it")
    item = dataclasses.replace(item, etag=current.etag)
    version = SourceVersion.of(item.key, item.event_time, item.sequencer, current.etag)
    status = records.load(settings.results_bucket, split_status_key(item.key, book))
    if status is not None and status.about(current.etag):
        if job.start > 1 and (status.state != "splitting" or status.next_page > job.start):
            return Outcome.skipped(item.key, "this chunk was already split")
        if status.state == "done" and not any(p["kind"] == "failed" for p in status.pages.values()):
            return Outcome.skipped(item.key, "duplicate delivery: this version is already split")
        status.state = "splitting"  # go on where it stopped (a retried message), or retry the failed pages
    elif job.start > 1:
        return Outcome.skipped(item.key, "superseded: a newer version of the file is being split")
    elif status is not None and version.older_than(_version_of(status)):
        return Outcome.skipped(item.key, "stale event: a newer version of the file was split")
    else:
        source = {"bucket": item.bucket, "key": item.key, "etag": current.etag, "version_id": current.version_id}
        source.update(event_time=item.event_time, sequencer=item.sequencer, size=current.size)
        kind = "pdf" if is_book_key(item.key) else "tiff"
        taken_over = status.etag if status else None  # the older version's record is replaced by this one
        status = SplitStatus(split_status_key(item.key, book), source, book, kind, etag=taken_over)
    with tempfile.TemporaryDirectory(prefix="split-") as tmp:
        path = Path(tmp) / "book"
        try:
            read = storage.download(
                item.bucket, item.key, str(path), max_bytes=settings.max_book_bytes, version_id=current.version_id
            )
        except storage.ObjectMissing:
            return Outcome.skipped(item.key, "object no longer exists")
        except storage.ObjectTooLarge as exc:
            return _fail_file(item, settings, f"{exc} (MAX_BOOK_BYTES)", status)
        if read.etag != current.etag:
            return Outcome.skipped(item.key, "the file changed while it was read: the newer upload splits it")
        try:
            language = pages.Language.of(read.metadata, item.bucket, status.book, settings.ocr_lang)
        except InvalidLanguage as exc:
            return _fail_file(item, settings, str(exc), status)
        try:
            with _opened(path, status.kind, settings) as (count, broken, page_of):
                return _split_pages(item, version, status, count, broken, page_of, settings, remaining_ms, language)
        except pdf.BookRejected as exc:
            return _fail_file(item, settings, str(exc), status)


@contextmanager
def _opened(path: Path, kind: str, settings: Settings) -> Iterator[tuple[int, str | None, Callable[[int], Any]]]:
    """The file's page count, why its pages end early (a broken TIFF chain), and a page maker; BookRejected."""
    if kind == "tiff":
        frames = tiff.count_frames(path, settings.max_book_pages)
        yield frames.count, frames.broken, lambda n: tiff.frame_page(path, n, max_pixels=settings.max_image_pixels)
        return
    with pdf.open_pdf(path) as document:
        count = len(document)
        if count == 0:
            raise pdf.BookRejected("the PDF has no pages")
        if count > settings.max_book_pages:
            limit = settings.max_book_pages
            raise pdf.BookRejected(f"the PDF has {count} pages, over the limit of {limit} (MAX_BOOK_PAGES)")
        yield (
            count,
            None,
            lambda n: pdf.split_page(document, n, dpi=settings.split_dpi, max_pixels=settings.max_image_pixels),
        )


def _split_pages(
    item: ObjectEvent,
    version: SourceVersion,
    status: SplitStatus,
    count: int,
    broken: str | None,
    page_of: Callable[[int], Any],
    settings: Settings,
    remaining_ms: Callable[[], int],
    language: pages.Language,
) -> Outcome:
    status.pages_total = count + (1 if broken else 0)
    status.chunks += 1
    first = status.next_page
    todo = [n for n in range(1, count + 1) if status.pages.get(str(n), {}).get("kind") in (None, "failed")]
    if not _saved(settings, status, item):
        return Outcome.skipped(item.key, "overtaken by another split of this file")
    writer = pages.PageWriter(item, version, status.book, settings, language)
    # Without a queue to continue through (sls invoke local without a stack) the split finishes in this invocation.
    can_continue = bool(settings.split_queue)
    for done, number in enumerate(todo):
        short = done >= settings.split_chunk_pages or remaining_ms() < settings.split_reserve_seconds * 1000
        if done and can_continue and short:
            status.next_page = number
            if not _saved(settings, status, item):
                return Outcome.skipped(item.key, "overtaken by another split of this file")
            jobs.send(settings.split_queue, SplitJob(item, start=number, chunk=status.chunks + 1))
            logger.info("split continues", extra={"key": item.key, "next_page": number, "of": count})
            detail = f"pages {first}-{number - 1} of {count}; continues from page {number} in another invocation"
            return Outcome(item.key, Status.SPLIT, status.book, detail=detail)
        status.pages[str(number)] = writer.write(number, page_of)
        if (done + 1) % SAVE_EVERY == 0:
            status.next_page = number + 1
            if not _saved(settings, status, item):
                return Outcome.skipped(item.key, "overtaken by another split of this file")
    if broken:
        status.pages[str(count + 1)] = writer.failed(count + 1, f"{broken}: the frames after it cannot be reached")
    status.next_page = status.pages_total + 1
    removed = remove_made_pages(item.key, status.book, settings, status)
    status.state = "done"
    if not _saved(settings, status, item):
        return Outcome.skipped(item.key, "overtaken by another split of this file")
    clear_failure(settings.results_bucket, item.key)
    kinds = [p["kind"] for p in status.pages.values()]
    detail = (
        f"{count} pages: {kinds.count('image')} images for OCR, {kinds.count('text')} text pages, "
        f"{kinds.count('failed')} failed; {removed} pages of an older version removed"
    )
    logger.info("book split", extra={"key": item.key, "book": status.book, "detail": detail})
    return Outcome(item.key, Status.SPLIT, status.book, detail=detail)


def _saved(settings: Settings, status: SplitStatus, item: ObjectEvent) -> bool:
    """Save the progress record; False when another split of the file took over, or the file changed or went."""
    current = storage.head(item.bucket, item.key)
    if current is None:
        # Deleted while it was split: its removal may have run before the pages written since. Tidy them.
        remove_made_pages(item.key, status.book, settings, None)
        storage.delete(settings.results_bucket, status.key)
        return False
    if current.etag != status.source["etag"]:
        return False
    try:
        records.save(settings.results_bucket, status)
    except storage.WriteConflict:
        logger.info("split overtaken", extra={"key": item.key})
        return False
    return True


def _version_of(status: SplitStatus) -> SourceVersion:
    source = status.source
    return SourceVersion.of(source["key"], source.get("event_time") or "", source.get("sequencer"), source.get("etag"))


def _fail_file(item: ObjectEvent, settings: Settings, reason: str, status: SplitStatus | None) -> Outcome:
    """The whole file can never be split: its failure record, and its progress record says so too."""
    if status is not None:
        status.state, status.reason = "failed", reason
        with contextlib.suppress(storage.WriteConflict):  # another split of the file took over: its record stands
            records.save(settings.results_bucket, status)
    return record_object_failure(item, results_bucket=settings.results_bucket, stage=STAGE, reason=reason)


def _remove_file(item: ObjectEvent, book: str, settings: Settings, remaining_ms: Callable[[], int]) -> Outcome:
    """The file (or one version of it) was deleted: remove every page it made, unless a version is current."""
    current = storage.head(item.bucket, item.key)
    status_key = split_status_key(item.key, book)
    if current is not None:
        status = records.load(settings.results_bucket, status_key)
        if status is not None and status.about(current.etag):
            return Outcome.skipped(item.key, "a noncurrent version was deleted: the current file is the book")
        restored = dataclasses.replace(item, event_name="ObjectCreated:VersionRestored", etag=current.etag)
        return _split(SplitJob(restored), book, settings, remaining_ms)
    removed = remove_made_pages(item.key, book, settings, None)
    storage.delete(settings.results_bucket, status_key)
    clear_failure(settings.results_bucket, item.key)
    logger.info("book file deleted: its pages removed", extra={"key": item.key, "book": book, "pages": removed})
    return Outcome(item.key, Status.DELETED, book, detail=f"{removed} pages removed")


def remove_made_pages(source_key: str, book: str, settings: Settings, status: SplitStatus | None) -> int:
    """Remove what ``source_key`` made that ``status`` (the version just split; None: nothing) does not hold.

    Only objects that name the file as their source are touched: page images
    by their metadata, text pages by their page JSON's source version. A
    text page of an older version whose page is now an image is left for
    the OCR function to replace, so the page never leaves the index.
    """
    owner = stored_key(source_key)
    entries = list(status.pages.values()) if status else []
    keep = {p.get("key") for p in entries if p["kind"] != "failed"}
    now_images = {p["page"] for p in entries if p["kind"] == "image"}
    removed = 0
    prefix = f"{book}/"
    for obj in storage.list_objects(settings.pages_bucket, prefix):
        name = obj.key[len(prefix) :]
        if obj.key in keep or not _PAGE_IMAGE.match(name):
            continue
        held = storage.head(settings.pages_bucket, obj.key)
        if held is not None and held.metadata.get(jobs.SPLIT_SOURCE_METADATA) == owner:
            storage.delete(settings.pages_bucket, obj.key)  # the OCR function removes its page JSON and outputs
            removed += 1
    for obj in storage.list_objects(settings.results_bucket, prefix):
        try:
            ref = page_ref_from_result_key(obj.key)
        except InvalidKey:
            continue
        if ref.book != book or obj.key in keep or ref.page in now_images:
            continue
        stored = storage.head(settings.results_bucket, obj.key)
        held = results.held(stored)
        if stored is not None and held is not None and held.names(source_key):
            results.remove_page(settings.results_bucket, ref, stored)  # the indexer removes it from the index
            removed += 1
    failed_now = {page_failure_name(source_key, p["page"]) for p in entries if p["kind"] == "failed"}
    for key in storage.list_keys(settings.results_bucket, f"{FAILURE_PREFIX}{source_key}#page="):
        name = key[len(FAILURE_PREFIX) : -len(".failure")]
        if name not in failed_now:
            storage.delete(settings.results_bucket, key)
    return removed
